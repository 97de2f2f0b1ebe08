/// The one-byte opcode map (SDM vol. 2, table A-2). Each case does the
/// operand plumbing and hands the work to a group helper.
extension CPU {
    @inline(__always) func dispatch(_ op: UInt8) throws(CPUFault) {
        switch op {
        // ALU: ADD OR ADC SBB AND SUB XOR CMP in six encodings each.
        case 0x00, 0x08, 0x10, 0x18, 0x20, 0x28, 0x30, 0x38,
             0x01, 0x09, 0x11, 0x19, 0x21, 0x29, 0x31, 0x39:
            let size = op & 1 == 0 ? 1 : osize
            let aluOp = Int(op >> 3)
            let modrm = instModRM
            let src = getReg(size, Int((modrm >> 3) & 7))
            if aluOp == 7 {
                _ = alu(7, size, try readRM(size, modrm), src)
            } else {
                let lin = try rmwAddress(size, modrm)
                if let v = alu(aluOp, size, try rmwRead(size, modrm, lin), src) { try rmwWrite(size, modrm, lin, v) }
            }
        case 0x02, 0x0A, 0x12, 0x1A, 0x22, 0x2A, 0x32, 0x3A,
             0x03, 0x0B, 0x13, 0x1B, 0x23, 0x2B, 0x33, 0x3B:
            let size = op & 1 == 0 ? 1 : osize
            let modrm = instModRM
            let reg = Int((modrm >> 3) & 7)
            let src = try readRM(size, modrm)
            if let r = alu(Int(op >> 3), size, getReg(size, reg), src) { setReg(size, reg, r) }
        case 0x04, 0x0C, 0x14, 0x1C, 0x24, 0x2C, 0x34, 0x3C:
            let imm = UInt32(instImm8)
            if let r = alu(Int(op >> 3), 1, UInt32(reg8(0)), imm) { setReg8(0, UInt8(r)) }
        case 0x05, 0x0D, 0x15, 0x1D, 0x25, 0x2D, 0x35, 0x3D:
            let size = osize
            let imm = instImm
            if let r = alu(Int(op >> 3), size, getReg(size, 0), imm) { setReg(size, 0, r) }

        case 0x06: try push(osize, UInt32(segs[CPU.segES].selector))
        case 0x0E: try push(osize, UInt32(segs[CPU.segCS].selector))
        case 0x16: try push(osize, UInt32(segs[CPU.segSS].selector))
        case 0x1E: try push(osize, UInt32(segs[CPU.segDS].selector))
        case 0x07: try popSegment(CPU.segES)
        case 0x17: try popSegment(CPU.segSS)
        case 0x1F: try popSegment(CPU.segDS)

        case 0x27: daa()
        case 0x2F: das()
        case 0x37: aaa(subtract: false)
        case 0x3F: aaa(subtract: true)

        case 0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47:
            let r = Int(op & 7), size = osize
            setReg(size, r, inc(size, getReg(size, r)))
        case 0x48, 0x49, 0x4A, 0x4B, 0x4C, 0x4D, 0x4E, 0x4F:
            let r = Int(op & 7), size = osize
            setReg(size, r, dec(size, getReg(size, r)))
        case 0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57:
            // PUSH ESP pushes the value before the decrement.
            try push(osize, getReg(osize, Int(op & 7)))
        case 0x58, 0x59, 0x5A, 0x5B, 0x5C, 0x5D, 0x5E, 0x5F:
            let v = try pop(osize)
            setReg(osize, Int(op & 7), v)

        case 0x60: try pusha()
        case 0x61: try popa()
        case 0x62: try bound()
        case 0x63: try arpl()
        case 0x68: try push(osize, instImm)
        case 0x6A: try push(osize, signExtend8(instImm8))
        case 0x69, 0x6B:
            let size = osize
            let modrm = instModRM
            let a = try readRM(size, modrm)
            let b = op == 0x69 ? instImm : signExtend8(instImm8) & sizeMask(size)
            setReg(size, Int((modrm >> 3) & 7), imulTruncating(size, a, b))
        case 0x6C, 0x6D, 0x6E, 0x6F: try stringIO(op)

        case 0x70, 0x71, 0x72, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7A, 0x7B, 0x7C, 0x7D, 0x7E, 0x7F:
            let rel = signExtend8(instImm8)
            if condition(Int(op & 0xF)) { try jumpNear(eip &+ rel) }

        case 0x80, 0x81, 0x82, 0x83:
            let size = op & 1 == 0 ? 1 : osize
            let modrm = instModRM
            let aluOp = Int((modrm >> 3) & 7)
            if modrm >= 0xC0 {
                let imm = op == 0x81 ? instImm : (op == 0x83 ? signExtend8(instImm8) & sizeMask(size) : UInt32(instImm8))
                let r = Int(modrm & 7)
                if let v = alu(aluOp, size, getReg(size, r), imm) { setReg(size, r, v) }
            } else {
                decodeEA()
                let imm = op == 0x81 ? instImm : (op == 0x83 ? signExtend8(instImm8) & sizeMask(size) : UInt32(instImm8))
                if aluOp == 7 {
                    _ = alu(7, size, try readMem(size, eaSeg, eaOff), imm)
                } else {
                    let lin = try linearForRMW(eaSeg, eaOff, size)
                    let d = try readRMW(size, lin)
                    if let v = alu(aluOp, size, d, imm) { try writeLin(size, lin, v, tlbUserOffset) }
                }
            }
        case 0x84, 0x85:
            let size = op == 0x84 ? 1 : osize
            let modrm = instModRM
            let a = try readRM(size, modrm)
            _ = alu(4, size, a, getReg(size, Int((modrm >> 3) & 7)))
        case 0x86, 0x87:
            // XCHG with memory is always locked; there is no bus here to lock.
            let size = op == 0x86 ? 1 : osize
            let modrm = instModRM
            let reg = Int((modrm >> 3) & 7)
            let rv = getReg(size, reg)
            let lin = try rmwAddress(size, modrm)
            let old = try rmwRead(size, modrm, lin)
            try rmwWrite(size, modrm, lin, rv)
            setReg(size, reg, old)
        case 0x88, 0x89:
            let size = op == 0x88 ? 1 : osize
            let modrm = instModRM
            try writeRM(size, modrm, getReg(size, Int((modrm >> 3) & 7)))
        case 0x8A, 0x8B:
            let size = op == 0x8A ? 1 : osize
            let modrm = instModRM
            setReg(size, Int((modrm >> 3) & 7), try readRM(size, modrm))
        case 0x8C:
            let modrm = instModRM
            let sreg = Int((modrm >> 3) & 7)
            if sreg > 5 { throw CPUFault.ud }
            let sel = UInt32(segs[sreg].selector)
            // A register destination gets the zero-extended selector with a
            // 32-bit operand size; memory always receives 16 bits.
            if modrm >= 0xC0 { setReg(osize, Int(modrm & 7), sel) } else { try writeRM(2, modrm, sel) }
        case 0x8D:
            let modrm = instModRM
            if modrm >= 0xC0 { throw CPUFault.ud }
            decodeEA()
            setReg(osize, Int((modrm >> 3) & 7), eaOff & sizeMask(osize))
        case 0x8E:
            let modrm = instModRM
            let sreg = Int((modrm >> 3) & 7)
            if sreg == CPU.segCS || sreg > 5 { throw CPUFault.ud }
            let sel = UInt16(truncatingIfNeeded: try readRM(2, modrm))
            try loadSegment(sreg, sel)
            if sreg == CPU.segSS { interruptShadow = true; debugShadow = true }
        case 0x8F:
            let modrm = instModRM
            if (modrm >> 3) & 7 != 0 { throw CPUFault.ud }
            // POP to memory: the address is computed with the incremented
            // stack pointer (SDM POP), and ESP only changes if the store succeeds.
            let size = osize
            let v = try peek(size, 0)
            let oldSP = regs[4]
            setStackPointer(stackPointer &+ UInt32(size))
            do {
                try writeRM(size, modrm, v)
            } catch {
                regs[4] = oldSP
                throw error
            }

        case 0x90:
            break // NOP (and PAUSE with F3)
        case 0x91, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97:
            let r = Int(op & 7), size = osize
            let t = getReg(size, 0)
            setReg(size, 0, getReg(size, r))
            setReg(size, r, t)
        case 0x98:
            if opsize32 { regs[0] = signExtend16(reg16(0)) } else { setReg16(0, UInt16(truncatingIfNeeded: signExtend8(reg8(0)))) }
        case 0x99:
            if opsize32 { regs[2] = regs[0] & 0x8000_0000 != 0 ? 0xFFFF_FFFF : 0 } else { setReg16(2, regs[0] & 0x8000 != 0 ? 0xFFFF : 0) }
        case 0x9A:
            let off = instImm
            let sel = UInt16(truncatingIfNeeded: instImm2)
            try farCall(sel, off)
        case 0x9B:
            try fpuWait()
        case 0x9C: try pushf()
        case 0x9D: try popf()
        case 0x9E:
            materializeFlags()
            flagBits = (flagBits & ~0xD5) | UInt32(reg8(4)) & 0xD5 | 0x2
        case 0x9F:
            setReg8(4, UInt8(truncatingIfNeeded: materializedFlags() & 0xD7 | 0x2))

        case 0xA0, 0xA1:
            let size = op == 0xA0 ? 1 : osize
            let off = instImm
            setReg(size, 0, try readMem(size, dataSegment, off))
        case 0xA2, 0xA3:
            let size = op == 0xA2 ? 1 : osize
            let off = instImm
            try writeMem(size, dataSegment, off, getReg(size, 0))
        case 0xA4, 0xA5, 0xA6, 0xA7, 0xAA, 0xAB, 0xAC, 0xAD, 0xAE, 0xAF:
            try stringOp(op)
        case 0xA8: _ = alu(4, 1, UInt32(reg8(0)), UInt32(instImm8))
        case 0xA9: _ = alu(4, osize, getReg(osize, 0), instImm)

        case 0xB0, 0xB1, 0xB2, 0xB3, 0xB4, 0xB5, 0xB6, 0xB7: setReg8(Int(op & 7), instImm8)
        case 0xB8, 0xB9, 0xBA, 0xBB, 0xBC, 0xBD, 0xBE, 0xBF: setReg(osize, Int(op & 7), instImm)

        case 0xC0, 0xC1, 0xD0, 0xD1, 0xD2, 0xD3:
            let size = op & 1 == 0 ? 1 : osize
            let modrm = instModRM
            let sop = Int((modrm >> 3) & 7)
            if modrm >= 0xC0 {
                let count = op <= 0xC1 ? UInt32(instImm8) : (op <= 0xD1 ? 1 : UInt32(reg8(1)))
                let r = Int(modrm & 7)
                setReg(size, r, shiftRotate(sop, size, getReg(size, r), count & 0x1F))
            } else {
                decodeEA()
                let count = op <= 0xC1 ? UInt32(instImm8) : (op <= 0xD1 ? 1 : UInt32(reg8(1)))
                let lin = try linearForRMW(eaSeg, eaOff, size)
                let d = try readRMW(size, lin)
                try writeLin(size, lin, shiftRotate(sop, size, d, count & 0x1F), tlbUserOffset)
            }
        case 0xC2:
            let n = instImm
            try nearReturn(release: n)
        case 0xC3: try nearReturn(release: 0)
        case 0xC4: try loadFarPointer(CPU.segES)
        case 0xC5: try loadFarPointer(CPU.segDS)
        case 0xC6, 0xC7:
            let size = op == 0xC6 ? 1 : osize
            let modrm = instModRM
            if (modrm >> 3) & 7 != 0 { throw CPUFault.ud }
            if modrm >= 0xC0 {
                setReg(size, Int(modrm & 7), instImm)
            } else {
                decodeEA()
                try writeMem(size, eaSeg, eaOff, instImm)
            }
        case 0xC8:
            let frame = instImm
            let level = instImm2
            try enter(frame, level)
        case 0xC9:
            // LEAVE: the stack pointer takes EBP (or BP), then the frame pointer pops.
            let bp = stackBig ? regs[5] : regs[5] & 0xFFFF
            let v = try readMem(osize, CPU.segSS, bp)
            setStackPointer(bp &+ UInt32(osize))
            setReg(osize, 5, v)
        case 0xCA:
            let n = instImm
            try farReturn(release: n)
        case 0xCB: try farReturn(release: 0)
        case 0xCC: try softwareInterrupt(3, kind: .int3)
        case 0xCD: try softwareInterrupt(instImm8, kind: .intN)
        case 0xCE:
            if lazyOF() { try softwareInterrupt(4, kind: .into) }
        case 0xCF: try interruptReturn()

        case 0xD4: try aam(instImm8)
        case 0xD5: aad(instImm8)
        case 0xD6:
            // SALC: undocumented but present on every P6; AL = CF ? FF : 00.
            setReg8(0, lazyCF() != 0 ? 0xFF : 0)
        case 0xD7:
            let off = (addrsize32 ? regs[3] : regs[3] & 0xFFFF) &+ UInt32(reg8(0))
            setReg8(0, try read8(dataSegment, addrsize32 ? off : off & 0xFFFF))
        case 0xD8, 0xD9, 0xDA, 0xDB, 0xDC, 0xDD, 0xDE, 0xDF:
            try fpuEscape(op)

        case 0xE0, 0xE1, 0xE2:
            let rel = signExtend8(instImm8)
            let count: UInt32
            if addrsize32 { regs[1] &-= 1; count = regs[1] } else { setReg16(1, reg16(1) &- 1); count = regs[1] & 0xFFFF }
            var take = count != 0
            if op == 0xE0 { take = take && !lazyZF() }
            if op == 0xE1 { take = take && lazyZF() }
            if take { try jumpNear(eip &+ rel) }
        case 0xE3:
            let rel = signExtend8(instImm8)
            let count = addrsize32 ? regs[1] : regs[1] & 0xFFFF
            if count == 0 { try jumpNear(eip &+ rel) }
        case 0xE4, 0xE5:
            let port = UInt16(instImm8)
            let size = op == 0xE4 ? 1 : osize
            try checkIOPermission(port, size)
            setReg(size, 0, io.ioRead(port: port, width: size))
        case 0xE6, 0xE7:
            let port = UInt16(instImm8)
            let size = op == 0xE6 ? 1 : osize
            try checkIOPermission(port, size)
            io.ioWrite(port: port, width: size, value: getReg(size, 0))
        case 0xEC, 0xED:
            let port = reg16(2)
            let size = op == 0xEC ? 1 : osize
            try checkIOPermission(port, size)
            setReg(size, 0, io.ioRead(port: port, width: size))
        case 0xEE, 0xEF:
            let port = reg16(2)
            let size = op == 0xEE ? 1 : osize
            try checkIOPermission(port, size)
            io.ioWrite(port: port, width: size, value: getReg(size, 0))
        case 0xE8:
            let rel = instImm
            let target = eip &+ (opsize32 ? rel : signExtend16(UInt16(truncatingIfNeeded: rel)))
            try callNear(opsize32 ? target : target & 0xFFFF, size: osize)
        case 0xE9:
            let rel = instImm
            try jumpNear(eip &+ (opsize32 ? rel : signExtend16(UInt16(truncatingIfNeeded: rel))))
        case 0xEA:
            let off = instImm
            let sel = UInt16(truncatingIfNeeded: instImm2)
            try farJump(sel, off)
        case 0xEB:
            let rel = signExtend8(instImm8)
            try jumpNear(eip &+ rel)

        case 0xF1: try softwareInterrupt(1, kind: .icebp)
        case 0xF4:
            if cpl != 0 { throw CPUFault.gp(0) }
            halted = true
        case 0xF5:
            materializeFlagBit(EFlags.cf)
            flagBits ^= EFlags.cf
        case 0xF6, 0xF7: try group3(op == 0xF6 ? 1 : osize)
        case 0xF8: setFlag(EFlags.cf, false)
        case 0xF9: setFlag(EFlags.cf, true)
        case 0xFA: try cli()
        case 0xFB: try sti()
        case 0xFC: flagBits &= ~EFlags.df
        case 0xFD: flagBits |= EFlags.df
        case 0xFE:
            let modrm = instModRM
            let reg = (modrm >> 3) & 7
            if reg > 1 { throw CPUFault.ud }
            let lin = try rmwAddress(1, modrm)
            let v = try rmwRead(1, modrm, lin)
            try rmwWrite(1, modrm, lin, reg == 0 ? inc(1, v) : dec(1, v))
        case 0xFF: try group5()
        default:
            throw CPUFault.ud
        }
    }

    // MARK: Group 3 (F6/F7): TEST NOT NEG MUL IMUL DIV IDIV

    func group3(_ size: Int) throws(CPUFault) {
        let modrm = instModRM
        let reg = (modrm >> 3) & 7
        switch reg {
        case 0, 1:
            let a = try readRM(size, modrm)
            _ = alu(4, size, a, instImm)
        case 2:
            let lin = try rmwAddress(size, modrm)
            try rmwWrite(size, modrm, lin, ~(try rmwRead(size, modrm, lin)) & sizeMask(size))
        case 3:
            let lin = try rmwAddress(size, modrm)
            try rmwWrite(size, modrm, lin, neg(size, try rmwRead(size, modrm, lin)))
        case 4: multiplyAccumulator(size, try readRM(size, modrm), signed: false)
        case 5: multiplyAccumulator(size, try readRM(size, modrm), signed: true)
        case 6: try divideAccumulator(size, try readRM(size, modrm), signed: false)
        default: try divideAccumulator(size, try readRM(size, modrm), signed: true)
        }
    }

    // MARK: Group 5 (FF): INC DEC CALL CALLF JMP JMPF PUSH

    func group5() throws(CPUFault) {
        let modrm = instModRM
        let reg = (modrm >> 3) & 7
        let size = osize
        switch reg {
        case 0:
            let lin = try rmwAddress(size, modrm)
            try rmwWrite(size, modrm, lin, inc(size, try rmwRead(size, modrm, lin)))
        case 1:
            let lin = try rmwAddress(size, modrm)
            try rmwWrite(size, modrm, lin, dec(size, try rmwRead(size, modrm, lin)))
        case 2:
            try callNear(try readRM(size, modrm), size: size)
        case 3, 5:
            if modrm >= 0xC0 { throw CPUFault.ud }
            decodeEA()
            let off = try readMem(size, eaSeg, eaOff)
            let sel = try read16(eaSeg, (eaOff &+ UInt32(size)) & (addrsize32 ? 0xFFFF_FFFF : 0xFFFF))
            if reg == 3 { try farCall(sel, off) } else { try farJump(sel, off) }
        case 4:
            try jumpNear(try readRM(size, modrm))
        case 6:
            try push(size, try readRM(size, modrm))
        default:
            throw CPUFault.ud
        }
    }

    // MARK: Near control flow and stack helpers

    @inline(__always) func jumpNear(_ target: UInt32) throws(CPUFault) {
        let t = opsize32 ? target : target & 0xFFFF
        if t > segs[CPU.segCS].limit { throw CPUFault.gp(0) }
        eip = t
    }

    /// Near CALL to `target` (already cut to the operand size): #GP(0)
    /// beyond CS's limit is raised before the return address is pushed.
    @inline(__always) func callNear(_ target: UInt32, size: Int) throws(CPUFault) {
        if target > segs[CPU.segCS].limit { throw CPUFault.gp(0) }
        try push(size, eip)
        eip = target
    }

    func nearReturn(release: UInt32) throws(CPUFault) {
        let t = try peek(osize, 0)
        if t > segs[CPU.segCS].limit { throw CPUFault.gp(0) }
        setStackPointer(stackPointer &+ UInt32(osize) &+ release)
        eip = t
    }

    func pusha() throws(CPUFault) {
        let size = osize
        let sp = stackPointer
        let mask: UInt32 = stackBig ? 0xFFFF_FFFF : 0xFFFF
        // Check the whole frame first so a fault leaves ESP unchanged.
        for i in 0..<8 {
            let v = i == 4 ? (size == 4 ? regs[4] : regs[4] & 0xFFFF) : getReg(size, i)
            try writeMem(size, CPU.segSS, (sp &- UInt32((i + 1) * size)) & mask, v)
        }
        setStackPointer(sp &- UInt32(8 * size))
    }

    func popa() throws(CPUFault) {
        let size = osize
        var vals = [UInt32](repeating: 0, count: 8)
        for i in 0..<8 { vals[7 - i] = try peek(size, UInt32(i * size)) }
        for i in 0..<8 where i != 4 { setReg(size, i, vals[i]) }
        setStackPointer(stackPointer &+ UInt32(8 * size))
    }

    func enter(_ frame: UInt32, _ levelRaw: UInt32) throws(CPUFault) {
        let size = osize
        let level = levelRaw & 0x1F
        let mask: UInt32 = stackBig ? 0xFFFF_FFFF : 0xFFFF
        var sp = stackPointer
        let bp = regs[5]
        sp = (sp &- UInt32(size)) & mask
        try writeMem(size, CPU.segSS, sp, getReg(size, 5))
        let frameTemp = sp
        if level > 0 {
            var bpCursor = stackBig ? bp : bp & 0xFFFF
            for _ in 1..<level {
                bpCursor = (bpCursor &- UInt32(size)) & mask
                let v = try readMem(size, CPU.segSS, bpCursor)
                sp = (sp &- UInt32(size)) & mask
                try writeMem(size, CPU.segSS, sp, v)
            }
            sp = (sp &- UInt32(size)) & mask
            try writeMem(size, CPU.segSS, sp, frameTemp)
        }
        sp = (sp &- frame) & mask
        // The last byte of the new frame must be writable (SDM ENTER).
        if frame > 0 { _ = try linearForWrite(CPU.segSS, sp, 1) }
        setReg(size, 5, frameTemp)
        setStackPointer(sp)
    }

    func bound() throws(CPUFault) {
        let modrm = instModRM
        if modrm >= 0xC0 { throw CPUFault.ud }
        decodeEA()
        let size = osize
        let idx = Int32(bitPattern: signExtend(getReg(size, Int((modrm >> 3) & 7)), size))
        let lower = Int32(bitPattern: signExtend(try readMem(size, eaSeg, eaOff), size))
        let upper = Int32(bitPattern: signExtend(try readMem(size, eaSeg, eaOff &+ UInt32(size)), size))
        if idx < lower || idx > upper { throw CPUFault(.boundRange) }
    }

    func loadFarPointer(_ seg: Int) throws(CPUFault) {
        let modrm = instModRM
        if modrm >= 0xC0 { throw CPUFault.ud }
        decodeEA()
        let size = osize
        let off = try readMem(size, eaSeg, eaOff)
        let sel = try read16(eaSeg, eaOff &+ UInt32(size))
        try loadSegment(seg, sel)
        setReg(size, Int((modrm >> 3) & 7), off)
    }

    func popSegment(_ seg: Int) throws(CPUFault) {
        let v = try peek(osize, 0)
        try loadSegment(seg, UInt16(truncatingIfNeeded: v))
        setStackPointer(stackPointer &+ UInt32(osize))
        if seg == CPU.segSS { interruptShadow = true; debugShadow = true }
    }
}
