/// Prefixes, ModRM/SIB decoding and operand access shared by every
/// instruction group.
extension CPU {
    /// Decodes and executes one instruction. Registers are only committed
    /// once the instruction can no longer fault, except where the SDM says
    /// partial state is architecturally visible (REP iterations).
    @inline(__always) func executeOne() throws(CPUFault) {
        instrStart = eip
        opsize32 = codeBig
        addrsize32 = codeBig
        segOverride = -1
        repPrefix = 0
        lockPrefix = false
        try dispatch(try fetch8())
    }

    /// Handles a prefix byte and continues with the next byte.
    func prefix(_ op: UInt8) throws(CPUFault) {
        switch op {
        case 0x66: opsize32 = !codeBig
        case 0x67: addrsize32 = !codeBig
        case 0x26: segOverride = CPU.segES
        case 0x2E: segOverride = CPU.segCS
        case 0x36: segOverride = CPU.segSS
        case 0x3E: segOverride = CPU.segDS
        case 0x64: segOverride = CPU.segFS
        case 0x65: segOverride = CPU.segGS
        case 0xF0: lockPrefix = true
        default: repPrefix = op
        }
        // An instruction longer than 15 bytes raises #GP (SDM 2.3.11).
        if (eip &- instrStart) & (codeBig ? 0xFFFF_FFFF : 0xFFFF) >= 15 { throw CPUFault.gp(0) }
        let next = try fetch8()
        if lockPrefix { try validateLock(next) }
        try dispatch(next)
    }

    /// LOCK is legal only on the read-modify-write forms with a memory
    /// destination (SDM vol. 2, LOCK); anything else is #UD.
    func validateLock(_ op: UInt8) throws(CPUFault) {
        if isPrefixByte(op) { return }
        let save = eip
        defer { eip = save }
        var modrmOp = op
        var twoByte = false
        if op == 0x0F { modrmOp = try fetch8(); twoByte = true }
        let modrm = try fetch8()
        let reg = (modrm >> 3) & 7
        let mem = modrm < 0xC0
        var ok = false
        if !twoByte {
            switch modrmOp {
            case 0x00...0x3F: ok = modrmOp & 7 < 2 && modrmOp & 0x38 != 0x38
            case 0x80...0x83: ok = reg != 7
            case 0x86, 0x87: ok = true
            case 0xF6, 0xF7: ok = reg == 2 || reg == 3
            case 0xFE: ok = reg < 2
            case 0xFF: ok = reg < 2
            default: ok = false
            }
        } else {
            switch modrmOp {
            case 0xAB, 0xB3, 0xBB, 0xB0, 0xB1, 0xC0, 0xC1: ok = true
            case 0xBA: ok = reg >= 5
            case 0xC7: ok = reg == 1
            default: ok = false
            }
        }
        if !(ok && mem) { throw CPUFault.ud }
    }

    @inline(__always) func isPrefixByte(_ op: UInt8) -> Bool {
        switch op {
        case 0x26, 0x2E, 0x36, 0x3E, 0x64, 0x65, 0x66, 0x67, 0xF0, 0xF2, 0xF3: return true
        default: return false
        }
    }

    // MARK: ModRM

    /// Computes the effective address of a memory ModRM into `eaSeg`/`eaOff`.
    @inline(__always) func decodeEA(_ modrm: UInt8) throws(CPUFault) {
        let mod = modrm >> 6
        let rm = Int(modrm & 7)
        var seg = CPU.segDS
        var ea: UInt32
        if addrsize32 {
            if rm == 4 {
                let sib = try fetch8()
                let base = Int(sib & 7)
                let index = Int((sib >> 3) & 7)
                if base == 5 && mod == 0 {
                    ea = try fetch32()
                } else {
                    ea = regs[base]
                    if base == 4 || base == 5 { seg = CPU.segSS }
                }
                if index != 4 { ea &+= regs[index] << UInt32(sib >> 6) }
            } else if rm == 5 && mod == 0 {
                ea = try fetch32()
            } else {
                ea = regs[rm]
                if rm == 5 { seg = CPU.segSS }
            }
            if mod == 1 {
                ea &+= UInt32(bitPattern: Int32(Int8(bitPattern: try fetch8())))
            } else if mod == 2 {
                ea &+= try fetch32()
            }
        } else {
            switch rm {
            case 0: ea = regs[3] &+ regs[6]
            case 1: ea = regs[3] &+ regs[7]
            case 2: ea = regs[5] &+ regs[6]; seg = CPU.segSS
            case 3: ea = regs[5] &+ regs[7]; seg = CPU.segSS
            case 4: ea = regs[6]
            case 5: ea = regs[7]
            case 6:
                if mod == 0 { ea = UInt32(try fetch16()) } else { ea = regs[5]; seg = CPU.segSS }
            default: ea = regs[3]
            }
            if mod == 1 {
                ea &+= UInt32(bitPattern: Int32(Int8(bitPattern: try fetch8())))
            } else if mod == 2 {
                ea &+= UInt32(try fetch16())
            }
            ea &= 0xFFFF
        }
        eaSeg = segOverride >= 0 ? segOverride : seg
        eaOff = ea
    }

    /// Default segment (DS) unless overridden: string sources, XLAT, moffs.
    @inline(__always) var dataSegment: Int { segOverride >= 0 ? segOverride : CPU.segDS }

    /// Reads the r/m operand (register or memory) of size 1, 2 or 4.
    @inline(__always) func readRM(_ size: Int, _ modrm: UInt8) throws(CPUFault) -> UInt32 {
        if modrm >= 0xC0 { return getReg(size, Int(modrm & 7)) }
        try decodeEA(modrm)
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
        try decodeEA(modrm)
        try writeMem(size, eaSeg, eaOff, v)
    }

    // A read-modify-write r/m operand in three steps: locate (a memory
    // operand is checked for writing before it is read), read, write back.
    // Plain inline functions rather than a closure: a closure capturing the
    // CPU costs a retain/release pair per instruction.

    /// Linear address of a memory operand (0 for a register operand).
    @inline(__always) func rmwAddress(_ size: Int, _ modrm: UInt8) throws(CPUFault) -> UInt32 {
        if modrm >= 0xC0 { return 0 }
        try decodeEA(modrm)
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
