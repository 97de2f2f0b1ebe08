/// The 0F opcode map (SDM vol. 2, table A-3), i686 without MMX/SSE.
extension CPU {
    func dispatch0F(_ op: UInt8) throws(CPUFault) {
        switch op {
        case 0x00: try group6()
        case 0x01: try group7()
        case 0x02, 0x03: try loadAccessRightsOrLimit(lsl: op == 0x03)
        case 0x06:
            if cpl != 0 { throw CPUFault.gp(0) }
            cr0 &= ~CR0.ts
        case 0x08, 0x09:
            if cpl != 0 { throw CPUFault.gp(0) } // INVD/WBINVD: no caches to manage
        case 0x0B, 0xB9, 0xFF: throw CPUFault.ud
        case 0x18...0x1F:
            // Hint NOPs (P6 family): decode and ignore the operand.
            let modrm = instModRM
            if modrm < 0xC0 { decodeEA() }
        case 0x20, 0x21, 0x22, 0x23: try moveControlOrDebug(op)
        case 0x30: try writeMSR()
        case 0x31:
            if cr4 & CR4.tsd != 0 && cpl != 0 { throw CPUFault.gp(0) }
            let t = timeStampCounter
            regs[0] = UInt32(truncatingIfNeeded: t)
            regs[2] = UInt32(truncatingIfNeeded: t >> 32)
        case 0x32: try readMSR()
        case 0x34: try sysenter()
        case 0x35: try sysexit()
        case 0x40...0x4F:
            let modrm = instModRM
            let size = osize
            // The source is read (and may fault) whether or not it moves.
            let v = try readRM(size, modrm)
            if condition(Int(op & 0xF)) { setReg(size, Int((modrm >> 3) & 7), v) }
        case 0x80...0x8F:
            let rel = opsize32 ? instImm : signExtend16(instImm16)
            if condition(Int(op & 0xF)) { try jumpNear(eip &+ rel) }
        case 0x90...0x9F:
            let modrm = instModRM
            try writeRM(1, modrm, condition(Int(op & 0xF)) ? 1 : 0)
        case 0xA0: try push(osize, UInt32(segs[CPU.segFS].selector))
        case 0xA1: try popSegment(CPU.segFS)
        case 0xA8: try push(osize, UInt32(segs[CPU.segGS].selector))
        case 0xA9: try popSegment(CPU.segGS)
        case 0xA2: cpuid()
        case 0xA3, 0xAB, 0xB3, 0xBB: try bitTestRegister(op)
        case 0xBA: try bitTestImmediate()
        case 0xA4, 0xA5, 0xAC, 0xAD:
            let size = osize
            let modrm = instModRM
            let src = getReg(size, Int((modrm >> 3) & 7))
            let left = op <= 0xA5
            if modrm >= 0xC0 {
                let count = (op & 1 == 0 ? UInt32(instImm8) : UInt32(reg8(1))) & 0x1F
                let r = Int(modrm & 7)
                setReg(size, r, doubleShift(left: left, size, getReg(size, r), src, count))
            } else {
                decodeEA()
                let count = (op & 1 == 0 ? UInt32(instImm8) : UInt32(reg8(1))) & 0x1F
                let lin = try linearForRMW(eaSeg, eaOff, size)
                let d = try readRMW(size, lin)
                try writeLin(size, lin, doubleShift(left: left, size, d, src, count), tlbUserOffset)
            }
        case 0xAF:
            let size = osize
            let modrm = instModRM
            let reg = Int((modrm >> 3) & 7)
            setReg(size, reg, imulTruncating(size, getReg(size, reg), try readRM(size, modrm)))
        case 0xB0, 0xB1:
            let size = op == 0xB0 ? 1 : osize
            let modrm = instModRM
            let src = getReg(size, Int((modrm >> 3) & 7))
            let lin = try rmwAddress(size, modrm)
            let d = try rmwRead(size, modrm, lin)
            let acc = getReg(size, 0)
            _ = alu(7, size, acc, d)
            if acc == d {
                try rmwWrite(size, modrm, lin, src)
            } else {
                try rmwWrite(size, modrm, lin, d) // the destination is written back even when unequal
                setReg(size, 0, d)
            }
        case 0xB2: try loadFarPointer(CPU.segSS)
        case 0xB4: try loadFarPointer(CPU.segFS)
        case 0xB5: try loadFarPointer(CPU.segGS)
        case 0xB6, 0xB7, 0xBE, 0xBF:
            let srcSize = op & 1 == 0 ? 1 : 2
            let modrm = instModRM
            var v = try readRM(srcSize, modrm)
            if op >= 0xBE { v = signExtend(v, srcSize) }
            setReg(osize, Int((modrm >> 3) & 7), v & sizeMask(osize))
        case 0xBC, 0xBD:
            let size = osize
            let modrm = instModRM
            let v = try readRM(size, modrm)
            materializeFlags()
            if v == 0 {
                flagBits |= EFlags.zf
            } else {
                flagBits &= ~EFlags.zf
                let idx = op == 0xBC ? UInt32(v.trailingZeroBitCount) : UInt32(31 - v.leadingZeroBitCount)
                setReg(size, Int((modrm >> 3) & 7), idx)
            }
        case 0xC0, 0xC1:
            let size = op == 0xC0 ? 1 : osize
            let modrm = instModRM
            let reg = Int((modrm >> 3) & 7)
            let src = getReg(size, reg)
            let lin = try rmwAddress(size, modrm)
            let d = try rmwRead(size, modrm, lin)
            let sum = alu(0, size, d, src)!
            try rmwWrite(size, modrm, lin, sum)
            setReg(size, reg, d)
            // XADD reg,reg with the same register: the sum wins (SDM order).
            if modrm >= 0xC0 && Int(modrm & 7) == reg {
                setReg(size, reg, (src &+ src) & sizeMask(size))
            }
        case 0xC7:
            let modrm = instModRM
            if (modrm >> 3) & 7 != 1 || modrm >= 0xC0 { throw CPUFault.ud }
            decodeEA()
            let lin = try linearForRMW(eaSeg, eaOff, 8)
            let lo = try readRMW(4, lin)
            let hi = try readRMW(4, lin &+ 4)
            materializeFlags()
            if lo == regs[0] && hi == regs[2] {
                try writeLin(4, lin, regs[3], tlbUserOffset)
                try writeLin(4, lin &+ 4, regs[1], tlbUserOffset)
                flagBits |= EFlags.zf
            } else {
                try writeLin(4, lin, lo, tlbUserOffset)
                try writeLin(4, lin &+ 4, hi, tlbUserOffset)
                regs[0] = lo; regs[2] = hi
                flagBits &= ~EFlags.zf
            }
        case 0xC8...0xCF:
            let r = Int(op & 7)
            // BSWAP with a 16-bit operand is undefined; P6 clears the word.
            if opsize32 { regs[r] = regs[r].byteSwapped } else { setReg16(r, 0) }
        default:
            throw CPUFault.ud
        }
    }

    // MARK: Bit tests

    func bitTestRegister(_ op: UInt8) throws(CPUFault) {
        let size = osize
        let modrm = instModRM
        let offset = getReg(size, Int((modrm >> 3) & 7))
        let kind = Int((op >> 3) & 3) // 0 BT, 1 BTS, 2 BTR, 3 BTC
        if modrm >= 0xC0 {
            let r = Int(modrm & 7)
            let bit = offset & UInt32(size * 8 - 1)
            if let v = bitOperation(kind, getReg(size, r), bit) { setReg(size, r, v & sizeMask(size)) }
            return
        }
        decodeEA()
        // A register bit offset is signed and may reach outside the operand.
        let signed = Int64(Int32(bitPattern: signExtend(offset, size)))
        let bits = Int64(size * 8)
        let unit = signed >= 0 ? signed / bits : (signed - bits + 1) / bits
        let bit = UInt32(signed - unit * bits)
        let addrMask: UInt32 = addrsize32 ? 0xFFFF_FFFF : 0xFFFF
        let off = (eaOff &+ UInt32(truncatingIfNeeded: unit * Int64(size))) & addrMask
        try bitOperationMemory(kind, size, off, bit)
    }

    func bitTestImmediate() throws(CPUFault) {
        let size = osize
        let modrm = instModRM
        let kind = Int((modrm >> 3) & 7)
        if kind < 4 { throw CPUFault.ud }
        if modrm >= 0xC0 {
            let bit = UInt32(instImm8) & UInt32(size * 8 - 1)
            let r = Int(modrm & 7)
            if let v = bitOperation(kind - 4, getReg(size, r), bit) { setReg(size, r, v & sizeMask(size)) }
            return
        }
        decodeEA()
        let bit = UInt32(instImm8) & UInt32(size * 8 - 1)
        try bitOperationMemory(kind - 4, size, eaOff, bit)
    }

    func bitOperationMemory(_ kind: Int, _ size: Int, _ off: UInt32, _ bit: UInt32) throws(CPUFault) {
        if kind == 0 {
            _ = bitOperation(0, try readMem(size, eaSeg, off), bit)
            return
        }
        let lin = try linearForRMW(eaSeg, off, size)
        let v = try readRMW(size, lin)
        if let r = bitOperation(kind, v, bit) { try writeLin(size, lin, r, tlbUserOffset) }
    }

    /// Sets CF to the bit and returns the new value (nil for BT).
    @inline(__always) func bitOperation(_ kind: Int, _ v: UInt32, _ bit: UInt32) -> UInt32? {
        materializeFlagBit(EFlags.cf)
        let mask: UInt32 = 1 << bit
        if v & mask != 0 { flagBits |= EFlags.cf } else { flagBits &= ~EFlags.cf }
        switch kind {
        case 0: return nil
        case 1: return v | mask
        case 2: return v & ~mask
        default: return v ^ mask
        }
    }
}
