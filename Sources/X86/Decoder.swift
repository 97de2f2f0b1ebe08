/// From CS:EIP to a decoded instruction (the decode cache, or the decoder on
/// a miss), the decoded operands, and operand access shared by every
/// instruction group.
extension CPU {
    /// Executes one instruction, decoded once and then taken from the decode
    /// cache: the common case is the window check the fetcher always made,
    /// one index load, and a length check (a cached instruction may reach
    /// past a CS limit that has since shrunk). Registers are only committed
    /// once the instruction can no longer fault, except where the SDM says
    /// partial state is architecturally visible (REP iterations).
    @inline(__always) func executeOne() throws(CPUFault) {
        instrStart = eip
        let d = eip &- fetchBase
        var entry: UnsafeMutablePointer<CachedInstruction>?
        if d < fetchLen {
            let n = codeIndex.unsafelyUnwrapped[Int(d)]
            if n != 0 {
                let e = codePool + Int(n)
                let len = UInt32(e.pointee.decoded.length)
                if d &+ len <= fetchLen {
                    eip = instrStart &+ len
                    entry = e
                }
            }
        }
        // One call site for the executor, so it is inlined once into the
        // run loop rather than called.
        let e = entry == nil ? try decodeMiss() : entry.unsafelyUnwrapped
        cur = e
        try executeCached(e)
    }

    /// Decodes the instruction at CS:EIP (= `instrStart`) and leaves EIP
    /// after it. An instruction wholly inside the fetch window goes into the
    /// decode cache; one that crosses into the next page or past the CS
    /// limit is fetched byte by byte, exactly as the fetcher always did, so
    /// its faults (#PF with CR2 on the first byte of the missing page, #GP
    /// for the CS limit or for a 16th byte) are unchanged — and it is decoded
    /// again each time it runs.
    func decodeMiss() throws(CPUFault) -> UnsafeMutablePointer<CachedInstruction> {
        if decodeCache.isFull { decodeCache.reset() }
        var d = eip &- fetchBase
        if d >= fetchLen, try refillFetchWindow() {
            // A new code page: the instruction may well be cached already.
            d = eip &- fetchBase
            let n = codeIndex.unsafelyUnwrapped[Int(d)]
            if n != 0 {
                let e = codePool + Int(n)
                let len = UInt32(e.pointee.decoded.length)
                if d &+ len <= fetchLen {
                    eip = instrStart &+ len
                    return e
                }
            }
        }
        if d < fetchLen {
            let e = decodeCache.next
            let r = decoder.decode(UnsafePointer(fetchHost + Int(d)), count: Int(fetchLen &- d), code32: codeBig,
                                   into: &e.pointee.decoded)
            if case .needBytes = r {} else {
                try checkDecodeResult(r, e)
                e.pointee.prepare(valid: r == .ok)
                decodeCache.commit(codeIndex.unsafelyUnwrapped, offset: Int(d))
                eip = instrStart &+ UInt32(e.pointee.decoded.length)
                return e
            }
        }
        // Crossing a page or the CS limit: byte by byte through the
        // fetcher, into the scratch entry, decoded again on every run.
        let e = decodeCache.scratch
        let r = try decodeAtEIP(decoder, into: &e.pointee.decoded)
        try checkDecodeResult(r, e)
        e.pointee.prepare(valid: r == .ok)
        eip = instrStart &+ UInt32(e.pointee.decoded.length)
        if !codeBig { eip &= 0xFFFF }
        return e
    }

    /// What the decoder's verdict means here. `.invalidOpcode` goes to the
    /// executor, which raises #UD itself — after the checks the SDM puts
    /// first (#NM for x87 escapes, mode checks) — except for a misplaced
    /// LOCK, which is #UD before anything else.
    @inline(__always) func checkDecodeResult(_ r: DecodeResult, _ e: UnsafeMutablePointer<CachedInstruction>) throws(CPUFault) {
        switch r {
        case .ok: return
        case .invalidOpcode: if e.pointee.decoded.lockPrefix { throw CPUFault.ud }
        case .tooLong: throw CPUFault.gp(0) // longer than 15 bytes (SDM 2.3.11)
        case .needBytes: throw CPUFault.gp(0) // decodeAtEIP never returns it
        }
    }

    // MARK: Decoded operands
    //
    // Read through `cur` rather than copied into the CPU per instruction:
    // most instructions use one or two of them, and copies cost stores.

    /// Effective operand and address size, prefixes applied.
    @inline(__always) var opsize32: Bool { cur.pointee.decoded.opsize32 }
    @inline(__always) var addrsize32: Bool { cur.pointee.decoded.addrsize32 }
    /// Segment override (0...5) or -1.
    @inline(__always) var segOverride: Int { Int(cur.pointee.decoded.segOverride) }
    /// 0, 0xF2 (REPNE) or 0xF3 (REP/REPE).
    @inline(__always) var repPrefix: UInt8 { cur.pointee.decoded.repPrefix }

    @inline(__always) var instModRM: UInt8 { cur.pointee.decoded.modrm }
    /// The first immediate (branch displacement, moffs, far offset…).
    @inline(__always) var instImm: UInt32 { cur.pointee.decoded.imm }
    @inline(__always) var instImm8: UInt8 { UInt8(truncatingIfNeeded: cur.pointee.decoded.imm) }
    @inline(__always) var instImm16: UInt16 { UInt16(truncatingIfNeeded: cur.pointee.decoded.imm) }
    /// The second immediate: a far pointer's selector, ENTER's level.
    @inline(__always) var instImm2: UInt32 { cur.pointee.decoded.imm2 }

    // MARK: ModRM

    /// Computes the effective address of the memory operand into
    /// `eaSeg`/`eaOff` from the decoded base, index, scale and displacement.
    @inline(__always) func decodeEA() {
        let e = cur
        let base = regs[Int(e.pointee.eaBase)]
        let index = regs[Int(e.pointee.eaIndex)] << UInt32(e.pointee.eaScale)
        let ea = base &+ index &+ e.pointee.decoded.disp
        eaOff = addrsize32 ? ea : ea & 0xFFFF
        eaSeg = Int(e.pointee.eaSegment)
    }

    /// Default segment (DS) unless overridden: string sources, XLAT, moffs.
    @inline(__always) var dataSegment: Int { segOverride >= 0 ? segOverride : CPU.segDS }

    /// Reads the r/m operand (register or memory) of size 1, 2 or 4.
    @inline(__always) func readRM(_ size: Int, _ modrm: UInt8) throws(CPUFault) -> UInt32 {
        if modrm >= 0xC0 { return getReg(size, Int(modrm & 7)) }
        decodeEA()
        return try readMem(size, eaSeg, eaOff)
    }

    /// Writes the r/m operand; for memory, `decodeEA` must have run.
    @inline(__always) func writeRMDecoded(_ size: Int, _ modrm: UInt8, _ v: UInt32) throws(CPUFault) {
        if modrm >= 0xC0 { setReg(size, Int(modrm & 7), v); return }
        try writeMem(size, eaSeg, eaOff, v)
    }

    /// Writes the r/m operand, decoding the address first (pure stores).
    @inline(__always) func writeRM(_ size: Int, _ modrm: UInt8, _ v: UInt32) throws(CPUFault) {
        if modrm >= 0xC0 { setReg(size, Int(modrm & 7), v); return }
        decodeEA()
        try writeMem(size, eaSeg, eaOff, v)
    }

    // A read-modify-write r/m operand in three steps: locate (a memory
    // operand is checked for writing before it is read), read, write back.
    // Plain inline functions rather than a closure: a closure capturing the
    // CPU costs a retain/release pair per instruction.

    /// Linear address of a memory operand (0 for a register operand).
    @inline(__always) func rmwAddress(_ size: Int, _ modrm: UInt8) throws(CPUFault) -> UInt32 {
        if modrm >= 0xC0 { return 0 }
        decodeEA()
        return try linearForRMW(eaSeg, eaOff, size)
    }

    @inline(__always) func rmwRead(_ size: Int, _ modrm: UInt8, _ lin: UInt32) throws(CPUFault) -> UInt32 {
        if modrm >= 0xC0 { return getReg(size, Int(modrm & 7)) }
        return try readRMW(size, lin)
    }

    @inline(__always) func rmwWrite(_ size: Int, _ modrm: UInt8, _ lin: UInt32, _ v: UInt32) throws(CPUFault) {
        if modrm >= 0xC0 { setReg(size, Int(modrm & 7), v); return }
        try writeLin(size, lin, v, tlbUserOffset)
    }

    @inline(__always) func signExtend8(_ v: UInt8) -> UInt32 { UInt32(bitPattern: Int32(Int8(bitPattern: v))) }
    @inline(__always) func signExtend16(_ v: UInt16) -> UInt32 { UInt32(bitPattern: Int32(Int16(bitPattern: v))) }

    /// Sign-extends a value of `size` bytes to 32 bits.
    @inline(__always) func signExtend(_ v: UInt32, _ size: Int) -> UInt32 {
        switch size {
        case 1: return signExtend8(UInt8(truncatingIfNeeded: v))
        case 2: return signExtend16(UInt16(truncatingIfNeeded: v))
        default: return v
        }
    }
}
