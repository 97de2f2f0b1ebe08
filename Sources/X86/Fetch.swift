/// Instruction fetch through a window onto the current code page.
///
/// `fetchHost[eip - fetchBase]` is the next byte while `eip - fetchBase <
/// fetchLen`; the window covers the part of one page that is inside the CS
/// limit, so the common fetch is one subtract, one compare and one load.
/// `codeIndex[eip - fetchBase]` is the decode cache's entry for the same
/// offset (Decoder.swift looks it up before anything is fetched; bytes are
/// fetched only to decode a miss). Anything that changes what CS:EIP maps
/// to (CS loads, mode changes, paging changes, TLB flushes, dropped code)
/// sets `fetchLen = 0`.
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
        if try refillFetchWindow() {
            let d = eip &- fetchBase
            eip &+= 1
            return fetchHost[Int(d)]
        }
        // Not cacheable (MMIO, unmapped, or a watched page): byte by byte.
        let phys = try translateFetch()
        eip &+= 1
        if !codeBig { eip &= 0xFFFF }
        return memory.read8(phys)
    }

    /// Physical address of the byte at CS:EIP, with the faults a fetch
    /// raises (#GP beyond the CS limit, #PF with CR2 = the linear address).
    func translateFetch() throws(CPUFault) -> UInt32 {
        let cs = segs[CPU.segCS]
        if !codeBig { eip &= 0xFFFF }
        if eip > cs.limit { throw CPUFault.gp(0) }
        return try tlbFill(cs.base &+ eip, kind: tlbUserOffset)
    }

    /// Points the fetch window (and the decode-cache index that goes with
    /// it) at the page holding CS:EIP. Returns false when that page cannot
    /// have a window (it has no TLB entry: MMIO, unmapped, watched).
    func refillFetchWindow() throws(CPUFault) -> Bool {
        let cs = segs[CPU.segCS]
        let ipMask: UInt32 = codeBig ? 0xFFFF_FFFF : 0xFFFF
        if !codeBig { eip &= ipMask }
        if eip > cs.limit { throw CPUFault.gp(0) }
        let lin = cs.base &+ eip
        let kind = tlbUserOffset
        let i = kind + tlbIndex(lin)
        if tlbTag[i] != lin & 0xFFFF_F000 {
            _ = try tlbFill(lin, kind: kind)
            if tlbTag[i] != lin & 0xFFFF_F000 { return false }
        }
        let page = tlbHost[i].unsafelyUnwrapped.assumingMemoryBound(to: UInt8.self)
        let pageOff = lin & 0xFFF
        var base: UInt32
        var len: UInt32
        var start: UInt32
        if eip >= pageOff {
            base = eip &- pageOff; len = 4096; start = 0
        } else {
            base = eip; len = 4096 - pageOff; start = pageOff
        }
        // Stay inside the CS limit and, for 16-bit code, inside 64 KiB so IP wraps.
        let top = min(cs.limit, ipMask)
        if UInt64(base) + UInt64(len) - 1 > UInt64(top) { len = top &- base &+ 1 }
        // The decode cache's table for this physical page and code size;
        // the first code seen on a page takes its write mappings away.
        var becameCode = false
        let phys = tlbPhysPage[i]
        let index = decodeCache.index(page: phys, code32: codeBig, becameCode: &becameCode)
        if becameCode { revokeWriteMappings(page: phys) }
        codeIndex = index + Int(start)
        fetchBase = base; fetchLen = len; fetchHost = page + Int(start)
        return true
    }
}
