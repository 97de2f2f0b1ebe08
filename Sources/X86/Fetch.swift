/// Instruction fetch through a window onto the current code page.
///
/// `fetchHost[eip - fetchBase]` is the next byte while `eip - fetchBase <
/// fetchLen`; the window covers the part of one page that is inside the CS
/// limit, so the common fetch is one subtract, one compare and one load.
/// Anything that changes what CS:EIP maps to (CS loads, paging changes,
/// TLB flushes) sets `fetchLen = 0`.
extension CPU {
    @inline(__always) func fetch8() throws(CPUFault) -> UInt8 {
        let d = eip &- fetchBase
        if d < fetchLen {
            eip &+= 1
            return fetchHost[Int(d)]
        }
        return try fetchSlow()
    }

    @inline(__always) func fetch16() throws(CPUFault) -> UInt16 {
        let d = eip &- fetchBase
        if d &+ 1 < fetchLen && d < fetchLen {
            eip &+= 2
            return UnsafeRawPointer(fetchHost + Int(d)).loadUnaligned(as: UInt16.self)
        }
        let lo = UInt16(try fetch8())
        return lo | UInt16(try fetch8()) << 8
    }

    @inline(__always) func fetch32() throws(CPUFault) -> UInt32 {
        let d = eip &- fetchBase
        if d &+ 3 < fetchLen && d < fetchLen {
            eip &+= 4
            return UnsafeRawPointer(fetchHost + Int(d)).loadUnaligned(as: UInt32.self)
        }
        let lo = UInt32(try fetch16())
        return lo | UInt32(try fetch16()) << 16
    }

    /// An immediate of the current operand size (2 or 4 bytes), or 1.
    @inline(__always) func fetchImm(_ size: Int) throws(CPUFault) -> UInt32 {
        switch size {
        case 1: return UInt32(try fetch8())
        case 2: return UInt32(try fetch16())
        default: return try fetch32()
        }
    }

    func fetchSlow() throws(CPUFault) -> UInt8 {
        let cs = segs[CPU.segCS]
        let ipMask: UInt32 = codeBig ? 0xFFFF_FFFF : 0xFFFF
        if !codeBig { eip &= ipMask }
        if eip > cs.limit { throw CPUFault.gp(0) }
        let lin = cs.base &+ eip
        let kind = tlbUserOffset
        let i = kind + tlbIndex(lin)
        if tlbTag[i] != lin & 0xFFFF_F000 {
            let phys = try tlbFill(lin, kind: kind)
            if tlbTag[i] != lin & 0xFFFF_F000 {
                // Not cacheable (MMIO, unmapped, or a watched page): byte by byte.
                eip &+= 1
                if !codeBig { eip &= 0xFFFF }
                return memory.read8(phys)
            }
        }
        let page = tlbHost[i].unsafelyUnwrapped.assumingMemoryBound(to: UInt8.self)
        let pageOff = lin & 0xFFF
        var base: UInt32
        var len: UInt32
        var host: UnsafeMutablePointer<UInt8>
        if eip >= pageOff {
            base = eip &- pageOff; len = 4096; host = page
        } else {
            base = eip; len = 4096 - pageOff; host = page + Int(pageOff)
        }
        // Stay inside the CS limit and, for 16-bit code, inside 64 KiB so IP wraps.
        let top = min(cs.limit, ipMask)
        if UInt64(base) + UInt64(len) - 1 > UInt64(top) { len = top &- base &+ 1 }
        fetchBase = base; fetchLen = len; fetchHost = host
        let d = eip &- fetchBase
        eip &+= 1
        return fetchHost[Int(d)]
    }
}
