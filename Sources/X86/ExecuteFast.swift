/// The hot forms of 32-bit code (Decode/FastForm.swift), executed without
/// the opcode maps. Each case is its opcode-map case with the operand size
/// fixed at 4 and the ModRM fields already turned into register indexes, and
/// calls the same helpers, so flags, faults and their order are the same.
extension CPU {
    @inline(__always) func executeCached(_ e: UnsafeMutablePointer<CachedInstruction>) throws(CPUFault) {
        let dst = Int(e.pointee.fastDst)
        switch e.pointee.fast {
        case .general:
            let op = e.pointee.decoded.opcode
            if op < 0x100 { try dispatch(UInt8(truncatingIfNeeded: op)) } else { try dispatch0F(UInt8(truncatingIfNeeded: op)) }
        case .aluRR:
            if let r = alu(Int(e.pointee.fastSub), 4, regs[dst], regs[Int(e.pointee.fastSrc)]) { regs[dst] = r }
        case .aluRI:
            if let r = alu(Int(e.pointee.fastSub), 4, regs[dst], e.pointee.fastImm) { regs[dst] = r }
        case .testRR:
            _ = alu(4, 4, regs[dst], regs[Int(e.pointee.fastSrc)])
        case .incR:
            regs[dst] = inc(4, regs[dst])
        case .decR:
            regs[dst] = dec(4, regs[dst])
        case .movRR:
            regs[dst] = regs[Int(e.pointee.fastSrc)]
        case .movRI:
            regs[dst] = e.pointee.fastImm
        case .movLoad:
            decodeEA()
            regs[dst] = try readMem(4, eaSeg, eaOff)
        case .movStore:
            decodeEA()
            try writeMem(4, eaSeg, eaOff, regs[Int(e.pointee.fastSrc)])
        case .lea:
            decodeEA()
            regs[dst] = eaOff
        case .shiftRI:
            regs[dst] = shiftRotate(Int(e.pointee.fastSub), 4, regs[dst], e.pointee.fastImm)
        case .shlRI:
            regs[dst] = shiftLeft(4, regs[dst], e.pointee.fastImm)
        case .shrRI:
            regs[dst] = shiftRightLogical(4, regs[dst], e.pointee.fastImm)
        case .sarRI:
            regs[dst] = shiftRightArithmetic(4, regs[dst], e.pointee.fastImm)
        case .imulRR:
            regs[dst] = imulTruncating(4, regs[dst], regs[Int(e.pointee.fastSrc)])
        case .jcc:
            // JZ/JNZ, the commonest, test the one lazy flag inline.
            let cc = Int(e.pointee.fastSub)
            let taken = cc >> 1 == 2 ? lazyZF() != (cc & 1 != 0) : condition(cc)
            if taken { try jumpNear(eip &+ e.pointee.fastImm) }
        case .jmp:
            try jumpNear(eip &+ e.pointee.fastImm)
        case .call:
            try callNear(eip &+ e.pointee.fastImm, size: 4)
        case .ret:
            try nearReturn(release: 0)
        case .pushR:
            try push(4, regs[Int(e.pointee.fastSrc)])
        case .popR:
            let v = try pop(4)
            regs[dst] = v
        }
    }
}
