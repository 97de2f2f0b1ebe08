/// Memory access as instructions make it: segment checks, then the TLB,
/// then (on a miss, a page-crossing access, MMIO or ROM writes) the slow
/// path through the page walker and the physical memory map.
///
/// Host byte order: the TLB loads and stores guest words directly, which
/// is correct on little-endian hosts (x86-64, AArch64) only.
extension CPU {
    static let segES = 0, segCS = 1, segSS = 2, segDS = 3, segFS = 4, segGS = 5

    // MARK: Segment checks

    /// Offset → linear address for a read of `size` bytes.
    @inline(__always) func linearForRead(_ seg: Int, _ off: UInt32, _ size: Int) throws(CPUFault) -> UInt32 {
        let s = segs + seg
        let end = off &+ UInt32(size - 1)
        if off < s.pointee.lowRead || end > s.pointee.highRead || end < off {
            throw segmentLimitFault(seg)
        }
        return s.pointee.base &+ off
    }

    @inline(__always) func linearForWrite(_ seg: Int, _ off: UInt32, _ size: Int) throws(CPUFault) -> UInt32 {
        let s = segs + seg
        let end = off &+ UInt32(size - 1)
        if off < s.pointee.lowWrite || end > s.pointee.highWrite || end < off {
            throw segmentLimitFault(seg)
        }
        return s.pointee.base &+ off
    }

    func segmentLimitFault(_ seg: Int) -> CPUFault {
        seg == CPU.segSS ? .ss(0) : .gp(0)
    }

    // MARK: Linear access, fast path

    @inline(__always) func readLin8(_ lin: UInt32, _ kind: Int) throws(CPUFault) -> UInt8 {
        let i = kind + tlbIndex(lin)
        if tlbTag[i] == lin & 0xFFFF_F000 {
            return tlbHost[i].unsafelyUnwrapped.load(fromByteOffset: Int(lin & 0xFFF), as: UInt8.self)
        }
        return UInt8(truncatingIfNeeded: try readLinSlow(lin, 1, kind))
    }

    @inline(__always) func readLin16(_ lin: UInt32, _ kind: Int) throws(CPUFault) -> UInt16 {
        let i = kind + tlbIndex(lin)
        if tlbTag[i] == lin & 0xFFFF_F000 && lin & 0xFFF <= 0xFFE {
            return tlbHost[i].unsafelyUnwrapped.loadUnaligned(fromByteOffset: Int(lin & 0xFFF), as: UInt16.self)
        }
        return UInt16(truncatingIfNeeded: try readLinSlow(lin, 2, kind))
    }

    @inline(__always) func readLin32(_ lin: UInt32, _ kind: Int) throws(CPUFault) -> UInt32 {
        let i = kind + tlbIndex(lin)
        if tlbTag[i] == lin & 0xFFFF_F000 && lin & 0xFFF <= 0xFFC {
            return tlbHost[i].unsafelyUnwrapped.loadUnaligned(fromByteOffset: Int(lin & 0xFFF), as: UInt32.self)
        }
        return try readLinSlow(lin, 4, kind)
    }

    @inline(__always) func writeLin8(_ lin: UInt32, _ v: UInt8, _ kind: Int) throws(CPUFault) {
        let i = kind + CPU.tlbWrite + tlbIndex(lin)
        if tlbTag[i] == lin & 0xFFFF_F000 {
            tlbHost[i].unsafelyUnwrapped.storeBytes(of: v, toByteOffset: Int(lin & 0xFFF), as: UInt8.self)
            return
        }
        try writeLinSlow(lin, 1, UInt32(v), kind)
    }

    @inline(__always) func writeLin16(_ lin: UInt32, _ v: UInt16, _ kind: Int) throws(CPUFault) {
        let i = kind + CPU.tlbWrite + tlbIndex(lin)
        if tlbTag[i] == lin & 0xFFFF_F000 && lin & 0xFFF <= 0xFFE {
            tlbHost[i].unsafelyUnwrapped.storeBytes(of: v, toByteOffset: Int(lin & 0xFFF), as: UInt16.self)
            return
        }
        try writeLinSlow(lin, 2, UInt32(v), kind)
    }

    @inline(__always) func writeLin32(_ lin: UInt32, _ v: UInt32, _ kind: Int) throws(CPUFault) {
        let i = kind + CPU.tlbWrite + tlbIndex(lin)
        if tlbTag[i] == lin & 0xFFFF_F000 && lin & 0xFFF <= 0xFFC {
            tlbHost[i].unsafelyUnwrapped.storeBytes(of: v, toByteOffset: Int(lin & 0xFFF), as: UInt32.self)
            return
        }
        try writeLinSlow(lin, 4, v, kind)
    }

    @inline(__always) func readLin(_ size: Int, _ lin: UInt32, _ kind: Int) throws(CPUFault) -> UInt32 {
        switch size {
        case 1: return UInt32(try readLin8(lin, kind))
        case 2: return UInt32(try readLin16(lin, kind))
        default: return try readLin32(lin, kind)
        }
    }

    @inline(__always) func writeLin(_ size: Int, _ lin: UInt32, _ v: UInt32, _ kind: Int) throws(CPUFault) {
        switch size {
        case 1: try writeLin8(lin, UInt8(truncatingIfNeeded: v), kind)
        case 2: try writeLin16(lin, UInt16(truncatingIfNeeded: v), kind)
        default: try writeLin32(lin, v, kind)
        }
    }

    // MARK: Linear access, slow path

    func readLinSlow(_ lin: UInt32, _ width: Int, _ kind: Int) throws(CPUFault) -> UInt32 {
        if alignmentCheckActive && kind & CPU.tlbUser != 0 && lin & UInt32(width - 1) != 0 { throw CPUFault(.alignmentCheck, 0) }
        let v: UInt32
        if Int(lin & 0xFFF) + width > 4096 {
            let second = (lin | 0xFFF) &+ 1
            let p1 = try tlbFill(lin, kind: kind)
            let p2 = try tlbFill(second, kind: kind)
            var acc: UInt32 = 0
            for i in 0..<width {
                let a = lin &+ UInt32(i)
                let phys = a < second || second == 0 && a >= lin ? p1 &+ UInt32(i) : p2 &+ (a &- second)
                acc |= UInt32(memory.read8(phys)) << (8 * UInt32(i))
            }
            v = acc
        } else {
            let phys = try tlbFill(lin, kind: kind)
            v = memory.read(phys, width: width)
        }
        if dataBreakpointsActive { noteDataAccess(lin, width, write: false) }
        return v
    }

    func writeLinSlow(_ lin: UInt32, _ width: Int, _ v: UInt32, _ kind: Int) throws(CPUFault) {
        if alignmentCheckActive && kind & CPU.tlbUser != 0 && lin & UInt32(width - 1) != 0 { throw CPUFault(.alignmentCheck, 0) }
        let k = kind | CPU.tlbWrite
        if Int(lin & 0xFFF) + width > 4096 {
            // Both pages are checked before either is written, so a fault
            // on the second page leaves memory untouched.
            let second = (lin | 0xFFF) &+ 1
            let p1 = try tlbFill(lin, kind: k)
            let p2 = try tlbFill(second, kind: k)
            for i in 0..<width {
                let a = lin &+ UInt32(i)
                let phys = a < second || second == 0 && a >= lin ? p1 &+ UInt32(i) : p2 &+ (a &- second)
                memory.write8(phys, UInt8(truncatingIfNeeded: v >> (8 * UInt32(i))))
            }
        } else {
            let phys = try tlbFill(lin, kind: k)
            memory.write(phys, width: width, value: v)
        }
        if dataBreakpointsActive { noteDataAccess(lin, width, write: true) }
    }

    // MARK: Segmented access (what instructions use)

    @inline(__always) var userKind: Int { tlbUserOffset }

    @inline(__always) func readMem(_ size: Int, _ seg: Int, _ off: UInt32) throws(CPUFault) -> UInt32 {
        let lin = try linearForRead(seg, off, size)
        return try readLin(size, lin, tlbUserOffset)
    }

    @inline(__always) func writeMem(_ size: Int, _ seg: Int, _ off: UInt32, _ v: UInt32) throws(CPUFault) {
        let lin = try linearForWrite(seg, off, size)
        try writeLin(size, lin, v, tlbUserOffset)
    }

    @inline(__always) func read8(_ seg: Int, _ off: UInt32) throws(CPUFault) -> UInt8 {
        try readLin8(try linearForRead(seg, off, 1), tlbUserOffset)
    }
    @inline(__always) func read16(_ seg: Int, _ off: UInt32) throws(CPUFault) -> UInt16 {
        try readLin16(try linearForRead(seg, off, 2), tlbUserOffset)
    }
    @inline(__always) func read32(_ seg: Int, _ off: UInt32) throws(CPUFault) -> UInt32 {
        try readLin32(try linearForRead(seg, off, 4), tlbUserOffset)
    }
    @inline(__always) func write8(_ seg: Int, _ off: UInt32, _ v: UInt8) throws(CPUFault) {
        try writeLin8(try linearForWrite(seg, off, 1), v, tlbUserOffset)
    }
    @inline(__always) func write16(_ seg: Int, _ off: UInt32, _ v: UInt16) throws(CPUFault) {
        try writeLin16(try linearForWrite(seg, off, 2), v, tlbUserOffset)
    }
    @inline(__always) func write32(_ seg: Int, _ off: UInt32, _ v: UInt32) throws(CPUFault) {
        try writeLin32(try linearForWrite(seg, off, 4), v, tlbUserOffset)
    }

    /// Checks a read-modify-write operand for writability first, so a
    /// read-only page faults with W=1 as on hardware; returns the linear address.
    @inline(__always) func linearForRMW(_ seg: Int, _ off: UInt32, _ size: Int) throws(CPUFault) -> UInt32 {
        let lin = try linearForWrite(seg, off, size)
        let i = tlbUserOffset + CPU.tlbWrite + tlbIndex(lin)
        if tlbTag[i] != lin & 0xFFFF_F000 || Int(lin & 0xFFF) + size > 4096 {
            _ = try probeWrite(lin, size)
        }
        return lin
    }

    /// Translates every page of a pending write with write intent.
    func probeWrite(_ lin: UInt32, _ size: Int) throws(CPUFault) {
        let k = tlbUserOffset | CPU.tlbWrite
        _ = try tlbFill(lin, kind: k)
        let last = lin &+ UInt32(size - 1)
        if last & 0xFFFF_F000 != lin & 0xFFFF_F000 { _ = try tlbFill(last, kind: k) }
    }

    /// Read of an RMW operand, after `linearForRMW`.
    @inline(__always) func readRMW(_ size: Int, _ lin: UInt32) throws(CPUFault) -> UInt32 {
        try readLin(size, lin, tlbUserOffset | CPU.tlbWrite)
    }

    // MARK: Supervisor (implicit) accesses: descriptor tables, TSS, IDT

    func readSys32(_ lin: UInt32) throws(CPUFault) -> UInt32 { try readLin32(lin, 0) }
    func readSys16(_ lin: UInt32) throws(CPUFault) -> UInt16 { try readLin16(lin, 0) }
    func readSys8(_ lin: UInt32) throws(CPUFault) -> UInt8 { try readLin8(lin, 0) }
    func writeSys32(_ lin: UInt32, _ v: UInt32) throws(CPUFault) { try writeLin32(lin, v, 0) }
    func writeSys16(_ lin: UInt32, _ v: UInt16) throws(CPUFault) { try writeLin16(lin, v, 0) }
    func writeSys8(_ lin: UInt32, _ v: UInt8) throws(CPUFault) { try writeLin8(lin, v, 0) }

    // MARK: Stack

    @inline(__always) var stackPointer: UInt32 { stackBig ? regs[4] : regs[4] & 0xFFFF }

    @inline(__always) func setStackPointer(_ v: UInt32) {
        if stackBig { regs[4] = v } else { regs[4] = (regs[4] & 0xFFFF_0000) | (v & 0xFFFF) }
    }

    @inline(__always) func push(_ size: Int, _ v: UInt32) throws(CPUFault) {
        let sp = (stackPointer &- UInt32(size)) & (stackBig ? 0xFFFF_FFFF : 0xFFFF)
        try writeMem(size, CPU.segSS, sp, v)
        setStackPointer(sp)
    }

    @inline(__always) func pop(_ size: Int) throws(CPUFault) -> UInt32 {
        let sp = stackPointer
        let v = try readMem(size, CPU.segSS, sp)
        setStackPointer(sp &+ UInt32(size))
        return v
    }

    /// Reads the stack `depth` bytes above the stack pointer without popping.
    @inline(__always) func peek(_ size: Int, _ depth: UInt32) throws(CPUFault) -> UInt32 {
        let off = (stackPointer &+ depth) & (stackBig ? 0xFFFF_FFFF : 0xFFFF)
        return try readMem(size, CPU.segSS, off)
    }
}
