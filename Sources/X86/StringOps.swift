/// MOVS CMPS STOS LODS SCAS INS OUTS, with REP/REPE/REPNE.
///
/// Each REP iteration is an instruction for the virtual clock and commits
/// ECX/ESI/EDI before the next, so a fault or an interrupt between
/// iterations leaves a state the instruction can restart from (EIP stays on
/// the instruction until the count is exhausted), exactly as on hardware.
extension CPU {
    func stringOp(_ op: UInt8) throws(CPUFault) {
        // The decoded prefixes are read once, not per iteration.
        let size = op & 1 == 0 ? 1 : osize
        let a32 = addrsize32, src = dataSegment, rep = repPrefix
        if rep == 0 {
            try stringIteration(op, size, a32, src)
            return
        }
        let amask: UInt32 = a32 ? 0xFFFF_FFFF : 0xFFFF
        let conditional = op == 0xA6 || op == 0xA7 || op == 0xAE || op == 0xAF
        // MOVS and STOS can run in blocks (StringBlocks.swift).
        let blocks = a32 && (op <= 0xA5 || op == 0xAA || op == 0xAB)
        var first = true
        while regs[1] & amask != 0 {
            if !first, !beginNextRepIteration() { return }
            first = false
            if blocks && !directionDown && pendingDataBreakpoints == 0 && watchpointHit == nil,
               repBlock(op, size, src) != 0 { continue }
            try stringIteration(op, size, a32, src)
            let c = (regs[1] &- 1) & amask
            regs[1] = (regs[1] & ~amask) | c
            if conditional {
                let zf = lazyZF()
                if rep == 0xF3 && !zf { return }
                if rep == 0xF2 && zf { return }
            }
            // A data breakpoint is reported after the iteration that hit it,
            // with EIP still on the instruction if iterations remain.
            if pendingDataBreakpoints != 0 || watchpointHit != nil {
                if c != 0 { eip = instrStart }
                return
            }
        }
    }

    /// INS/OUTS (6C-6F), REP-capable like the others.
    func stringIO(_ op: UInt8) throws(CPUFault) {
        let size = op & 1 == 0 ? 1 : osize
        try checkIOPermission(reg16(2), size)
        let a32 = addrsize32, src = dataSegment
        if repPrefix == 0 {
            try ioIteration(op, size, a32, src)
            return
        }
        let amask: UInt32 = a32 ? 0xFFFF_FFFF : 0xFFFF
        var first = true
        while regs[1] & amask != 0 {
            if !first, !beginNextRepIteration() { return }
            first = false
            try ioIteration(op, size, a32, src)
            let c = (regs[1] &- 1) & amask
            regs[1] = (regs[1] & ~amask) | c
            if pendingDataBreakpoints != 0 || watchpointHit != nil {
                if c != 0 { eip = instrStart }
                return
            }
        }
    }

    /// Between REP iterations: each further iteration is an instruction for
    /// the clock, and a point where the slice end, an interrupt or a stop
    /// request may cut in — then EIP goes back to the instruction, which
    /// restarts with the registers as they are.
    @inline(__always) func beginNextRepIteration() -> Bool {
        if sliceRemaining <= 0 || (intrLine && flagBits & EFlags.if != 0) || stopRequested {
            eip = instrStart
            return false
        }
        sliceRemaining -= 1
        instructionCount &+= 1
        return true
    }

    @inline(__always) func advanceIndex(_ r: Int, _ size: Int, _ a32: Bool) {
        let delta = directionDown ? UInt32(bitPattern: Int32(-size)) : UInt32(size)
        if a32 { regs[r] &+= delta } else { setReg16(r, UInt16(truncatingIfNeeded: regs[r] &+ delta)) }
    }

    @inline(__always) func indexValue(_ r: Int, _ a32: Bool) -> UInt32 { a32 ? regs[r] : regs[r] & 0xFFFF }

    @inline(__always) func stringIteration(_ op: UInt8, _ size: Int, _ a32: Bool, _ src: Int) throws(CPUFault) {
        switch op {
        case 0xA4, 0xA5: // MOVS
            let v = try readMem(size, src, indexValue(6, a32))
            try writeMem(size, CPU.segES, indexValue(7, a32), v)
            advanceIndex(6, size, a32); advanceIndex(7, size, a32)
        case 0xA6, 0xA7: // CMPS: [ESI] - [EDI]
            let a = try readMem(size, src, indexValue(6, a32))
            let b = try readMem(size, CPU.segES, indexValue(7, a32))
            _ = alu(7, size, a, b)
            advanceIndex(6, size, a32); advanceIndex(7, size, a32)
        case 0xAA, 0xAB: // STOS
            try writeMem(size, CPU.segES, indexValue(7, a32), getReg(size, 0))
            advanceIndex(7, size, a32)
        case 0xAC, 0xAD: // LODS
            setReg(size, 0, try readMem(size, src, indexValue(6, a32)))
            advanceIndex(6, size, a32)
        default: // SCAS: eAX - [EDI]
            let b = try readMem(size, CPU.segES, indexValue(7, a32))
            _ = alu(7, size, getReg(size, 0), b)
            advanceIndex(7, size, a32)
        }
    }

    @inline(__always) func ioIteration(_ op: UInt8, _ size: Int, _ a32: Bool, _ src: Int) throws(CPUFault) {
        let port = reg16(2)
        if op <= 0x6D {
            // INS: check the destination before the port is read.
            let off = indexValue(7, a32)
            _ = try linearForWrite(CPU.segES, off, size)
            let v = io.ioRead(port: port, width: size)
            try writeMem(size, CPU.segES, off, v)
            advanceIndex(7, size, a32)
        } else {
            let v = try readMem(size, src, indexValue(6, a32))
            io.ioWrite(port: port, width: size, value: v)
            advanceIndex(6, size, a32)
        }
    }
}
