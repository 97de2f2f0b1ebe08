/// Interrupt and exception delivery (real mode IVT; protected-mode IDT
/// with interrupt, trap and task gates and the inner-stack switch; V86
/// mode), IRET, and the double/triple-fault rules (SDM vol. 3, ch. 6).
extension CPU {
    enum InterruptSource {
        /// INT n: the gate's DPL is checked against CPL; V86 IOPL rules apply.
        case intN
        /// INT3 and INTO: like INT n, but not redirected by V86 IOPL.
        case int3, into
        /// INT1 (ICEBP, F1): delivered like a hardware #DB, no DPL check.
        case icebp
        /// Exceptions and hardware interrupts: EXT set in error codes.
        case exception, external
    }

    /// INT n / INT3 / INTO / INT1 from the instruction stream: EIP already
    /// points at the next instruction, which is what is saved.
    func softwareInterrupt(_ vector: UInt8, kind: InterruptSource) throws(CPUFault) {
        if v86 && kind == .intN {
            if cr4 & CR4.vme != 0, try v86RedirectedInterrupt(vector) { return }
            if iopl < 3 { throw CPUFault.gp(0) }
        }
        try deliver(vector, errorCode: nil, source: kind)
    }

    /// VME software-interrupt redirection (SDM 20.3.3): a clear bit in the
    /// TSS's redirection bitmap sends INT n to the V86 task's own IVT.
    func v86RedirectedInterrupt(_ vector: UInt8) throws(CPUFault) -> Bool {
        let tr = segs[CPU.segTR]
        guard tr.limit >= 103 else { throw CPUFault.gp(0) }
        let mapBase = UInt32(try readSys16(tr.base &+ 102))
        let bitOff = mapBase &- 32 &+ UInt32(vector >> 3)
        if bitOff > tr.limit { throw CPUFault.gp(0) }
        let bits = try readSys8(tr.base &+ bitOff)
        if bits & (1 << (vector & 7)) != 0 { return false }
        let target = try readLin32(UInt32(vector) * 4, tlbUserOffset)
        var f = materializedFlags()
        if iopl < 3 { f = (f & ~EFlags.if) | ((f & EFlags.vif) >> 10) | EFlags.iopl }
        let mask: UInt32 = 0xFFFF
        let sp = regs[4] & mask
        try writeMem(2, CPU.segSS, (sp &- 2) & mask, f & 0xFFFF)
        try writeMem(2, CPU.segSS, (sp &- 4) & mask, UInt32(segs[CPU.segCS].selector))
        try writeMem(2, CPU.segSS, (sp &- 6) & mask, eip)
        setReg16(4, UInt16((sp &- 6) & mask))
        if iopl < 3 { flagBits &= ~EFlags.vif } else { flagBits &= ~EFlags.if }
        flagBits &= ~(EFlags.tf | EFlags.rf)
        loadRealModeSegment(CPU.segCS, UInt16(target >> 16))
        eip = target & 0xFFFF
        return true
    }

    /// Delivers `vector` through the IVT or IDT.
    func deliver(_ vector: UInt8, errorCode: UInt32?, source: InterruptSource) throws(CPUFault) {
        halted = false
        if vectorBreaksActive { noteVector(vector, external: source == .external) }
        if !protectedMode {
            try deliverReal(vector)
            return
        }
        let ext: UInt32 = (source == .exception || source == .external || source == .icebp) ? 1 : 0
        let idtErr = UInt32(vector) * 8 + 2 + ext
        if UInt32(vector) * 8 + 7 > idtrLimit { throw CPUFault.gp(idtErr) }
        let gate = Descriptor(low: try readSys32(idtrBase &+ UInt32(vector) * 8),
                              high: try readSys32(idtrBase &+ UInt32(vector) * 8 &+ 4))
        let type = gate.systemType
        guard type == 5 || type == 6 || type == 7 || type == 14 || type == 15 else { throw CPUFault.gp(idtErr) }
        if source == .intN || source == .int3 || source == .into {
            if gate.dpl < cpl { throw CPUFault.gp(idtErr) }
        }
        if !gate.present { throw CPUFault.np(idtErr) }
        if type == 5 {
            try taskSwitch(through: gate.gateSelector, reason: .interrupt, errorCode: errorCode)
            return
        }
        let target = gate.gateSelector
        if target & 0xFFFC == 0 { throw CPUFault.gp(ext) }
        guard let td = try readDescriptor(target) else { throw CPUFault.gp(selectorError(target) | ext) }
        if !td.attributes.isCode || td.dpl > cpl { throw CPUFault.gp(selectorError(target) | ext) }
        if !td.present { throw CPUFault.np(selectorError(target) | ext) }
        let gate32 = type >= 14
        let size = gate32 ? 4 : 2
        let offset = gate32 ? gate.gateOffset : gate.gateOffset & 0xFFFF
        let oldFlags = materializedFlags()
        let oldCS = UInt32(segs[CPU.segCS].selector)
        let oldEIP = eip

        if !td.attributes.conforming && td.dpl < cpl {
            // Inner-privilege interrupt: new stack from the TSS.
            let newCPL = td.dpl
            if v86 && newCPL != 0 { throw CPUFault.gp(selectorError(target) | ext) }
            let (newSS, newESP) = try innerStack(newCPL)
            let ssd = try checkInnerStack(newSS, newCPL)
            let newSeg = ssd.segment(selector: newSS)
            let mask: UInt32 = newSeg.attributes.big ? 0xFFFF_FFFF : 0xFFFF
            var sp = newESP & mask
            func put(_ v: UInt32) throws(CPUFault) {
                sp = (sp &- UInt32(size)) & mask
                if sp < newSeg.lowWrite || sp &+ UInt32(size - 1) > newSeg.highWrite { throw CPUFault.ss(selectorError(newSS) | ext) }
                try writeLin(size, newSeg.base &+ sp, v, 0)
            }
            if offset > td.limit { throw CPUFault.gp(ext) }
            let wasV86 = v86
            if wasV86 {
                try put(UInt32(segs[CPU.segGS].selector))
                try put(UInt32(segs[CPU.segFS].selector))
                try put(UInt32(segs[CPU.segDS].selector))
                try put(UInt32(segs[CPU.segES].selector))
            }
            try put(UInt32(segs[CPU.segSS].selector))
            try put(regs[4])
            try put(oldFlags)
            try put(oldCS)
            try put(oldEIP)
            if let e = errorCode { try put(e) }
            try setAccessedBit(newSS, ssd)
            segs[CPU.segSS] = newSeg
            regs[4] = newSeg.attributes.big ? sp : (regs[4] & 0xFFFF_0000) | sp
            if wasV86 {
                for s in [CPU.segES, CPU.segDS, CPU.segFS, CPU.segGS] { segs[s] = Segment.unusable(selector: 0) }
            }
            clearFlagsOnInterrupt(gateType: type)
            try loadCodeSegment(target, td, cpl: newCPL)
            eip = offset
            return
        }
        if v86 { throw CPUFault.gp(selectorError(target) | ext) }
        // Same privilege: push on the current stack.
        if offset > td.limit { throw CPUFault.gp(ext) }
        let mask: UInt32 = stackBig ? 0xFFFF_FFFF : 0xFFFF
        var sp = stackPointer
        for v in [oldFlags, oldCS, oldEIP] {
            sp = (sp &- UInt32(size)) & mask
            try writeMem(size, CPU.segSS, sp, v)
        }
        if let e = errorCode {
            sp = (sp &- UInt32(size)) & mask
            try writeMem(size, CPU.segSS, sp, e)
        }
        setStackPointer(sp)
        clearFlagsOnInterrupt(gateType: type)
        try loadCodeSegment(target, td, cpl: td.attributes.conforming ? cpl : td.dpl)
        eip = offset
    }

    func clearFlagsOnInterrupt(gateType: UInt32) {
        materializeFlags()
        flagBits &= ~(EFlags.tf | EFlags.nt | EFlags.vm | EFlags.rf)
        if gateType == 6 || gateType == 14 { flagBits &= ~EFlags.if }
        updateModeCaches()
    }

    func deliverReal(_ vector: UInt8) throws(CPUFault) {
        let entry = UInt32(vector) * 4
        if entry + 3 > idtrLimit { throw CPUFault.gp(0) }
        let target = try readLin32(idtrBase &+ entry, 0)
        let f = materializedFlags()
        let sp = regs[4] & 0xFFFF
        try writeMem(2, CPU.segSS, (sp &- 2) & 0xFFFF, f & 0xFFFF)
        try writeMem(2, CPU.segSS, (sp &- 4) & 0xFFFF, UInt32(segs[CPU.segCS].selector))
        try writeMem(2, CPU.segSS, (sp &- 6) & 0xFFFF, eip & 0xFFFF)
        setReg16(4, UInt16((sp &- 6) & 0xFFFF))
        flagBits &= ~(EFlags.if | EFlags.tf | EFlags.ac | EFlags.rf)
        loadRealModeSegment(CPU.segCS, UInt16(target >> 16))
        eip = target & 0xFFFF
    }

    // MARK: IRET

    func interruptReturn() throws(CPUFault) {
        let size = osize
        if !protectedMode {
            let newEIP = try peek(size, 0)
            let cs = UInt16(truncatingIfNeeded: try peek(size, UInt32(size)))
            let f = try peek(size, UInt32(2 * size))
            setStackPointer(stackPointer &+ UInt32(3 * size))
            loadRealModeSegment(CPU.segCS, cs)
            eip = newEIP & (size == 4 ? 0xFFFF_FFFF : 0xFFFF)
            let old = materializedFlags()
            let changeable: UInt32 = size == 4 ? 0x0025_7FD5 : 0x7FD5
            setFlagsRaw((old & ~changeable) | (f & changeable))
            return
        }
        if v86 {
            if iopl < 3 {
                guard cr4 & CR4.vme != 0, size == 2 else { throw CPUFault.gp(0) }
                let newEIP = try peek(2, 0)
                let cs = UInt16(truncatingIfNeeded: try peek(2, 2))
                let f = try peek(2, 4)
                let old = materializedFlags()
                if (f & EFlags.if != 0 && old & EFlags.vip != 0) || f & EFlags.tf != 0 { throw CPUFault.gp(0) }
                setStackPointer(stackPointer &+ 6)
                loadRealModeSegment(CPU.segCS, cs)
                eip = newEIP
                let keep = EFlags.if | EFlags.iopl
                var n = (old & ~0xFFFF) | (f & 0xFFFF & ~keep) | (old & keep)
                n = (n & ~EFlags.vif) | ((f & EFlags.if) << 10)
                setFlagsRaw(n)
                return
            }
            let newEIP = try peek(size, 0)
            let cs = UInt16(truncatingIfNeeded: try peek(size, UInt32(size)))
            let f = try peek(size, UInt32(2 * size))
            setStackPointer(stackPointer &+ UInt32(3 * size))
            loadRealModeSegment(CPU.segCS, cs)
            eip = size == 4 ? newEIP : newEIP & 0xFFFF
            let old = materializedFlags()
            // IOPL, VM, VIP and VIF cannot change from inside V86 mode.
            var changeable: UInt32 = 0x0004_4DD5 | EFlags.if | EFlags.rf
            if size == 2 { changeable &= 0xFFFF }
            setFlagsRaw((old & ~changeable) | (f & changeable))
            return
        }
        if flagBits & EFlags.nt != 0 {
            try taskReturn()
            return
        }
        let newEIP = try peek(size, 0)
        let sel = UInt16(truncatingIfNeeded: try peek(size, UInt32(size)))
        let f = try peek(size, UInt32(2 * size))
        if size == 4 && f & EFlags.vm != 0 && cpl == 0 {
            try returnToV86(eip: newEIP, cs: sel, flags: f)
            return
        }
        if sel & 0xFFFC == 0 { throw CPUFault.gp(0) }
        guard let d = try readDescriptor(sel) else { throw CPUFault.gp(selectorError(sel)) }
        let rpl = Int(sel & 3)
        if !d.attributes.isCode || rpl < cpl { throw CPUFault.gp(selectorError(sel)) }
        if d.attributes.conforming ? d.dpl > rpl : d.dpl != rpl { throw CPUFault.gp(selectorError(sel)) }
        if !d.present { throw CPUFault.np(selectorError(sel)) }
        let oldCPL = cpl
        let oldIOPL = iopl
        let old = materializedFlags()
        var changeable: UInt32 = 0x0027_7FD5 // VM is handled by the V86 path only
        if oldCPL > 0 { changeable &= ~(EFlags.iopl | EFlags.vif | EFlags.vip) }
        if oldCPL > oldIOPL { changeable &= ~EFlags.if }
        if size == 2 { changeable &= 0xFFFF }
        let newFlags = (old & ~changeable) | (f & changeable)
        if rpl == cpl {
            if newEIP > d.limit { throw CPUFault.gp(0) }
            try loadCodeSegment(sel, d, cpl: cpl)
            eip = newEIP
            setStackPointer(stackPointer &+ UInt32(3 * size))
            setFlagsRaw(newFlags)
            return
        }
        let newESP = try peek(size, UInt32(3 * size))
        let newSS = UInt16(truncatingIfNeeded: try peek(size, UInt32(4 * size)))
        try returnToOuterLevel(cs: sel, d, eip: newEIP, ss: newSS, esp: newESP, release: 0, size: size)
        setFlagsRaw(newFlags)
    }

    /// IRET from CPL 0 with VM set in the popped flags (SDM IRET, "RETURN-TO-VIRTUAL-8086-MODE").
    func returnToV86(eip newEIP: UInt32, cs: UInt16, flags: UInt32) throws(CPUFault) {
        let esp = try peek(4, 12)
        let ss = try peek(4, 16)
        let es = try peek(4, 20)
        let ds = try peek(4, 24)
        let fs = try peek(4, 28)
        let gs = try peek(4, 32)
        setFlagsRaw(flags)
        // Now in V86 mode: every segment is a 64 KiB real-style segment.
        for (s, v) in [(CPU.segCS, UInt32(cs)), (CPU.segSS, ss), (CPU.segES, es), (CPU.segDS, ds), (CPU.segFS, fs), (CPU.segGS, gs)] {
            loadRealModeSegment(s, UInt16(truncatingIfNeeded: v))
        }
        regs[4] = esp
        eip = newEIP & 0xFFFF
        updateModeCaches()
    }

    // MARK: Exceptions raised by instructions

    enum ExceptionClass { case benign, contributory, pageFault, doubleFault }

    func classify(_ v: UInt8) -> ExceptionClass {
        switch v {
        case 0, 10, 11, 12, 13: return .contributory
        case 14: return .pageFault
        case 8: return .doubleFault
        default: return .benign
        }
    }

    /// Delivers a fault raised by the current instruction, escalating to
    /// #DF and to shutdown (triple fault) as the SDM's table 6-5 says.
    func raiseException(_ first: CPUFault) {
        var fault = first
        var escalations = 0
        while true {
            do {
                try deliver(fault.vector, errorCode: fault.hasErrorCode ? fault.errorCode : nil, source: .exception)
                return
            } catch let second {
                let a = classify(fault.vector), b = classify(second.vector)
                if a == .doubleFault {
                    tripleFault()
                    return
                }
                if (a == .contributory && b == .contributory) || (a == .pageFault && (b == .contributory || b == .pageFault)) {
                    fault = CPUFault(.doubleFault, 0)
                } else {
                    fault = second
                }
                escalations += 1
                if escalations > 8 { tripleFault(); return }
            }
        }
    }

    /// A triple fault shuts the processor down; the board turns that into a
    /// reset (as a PC's chipset does).
    func tripleFault() {
        shutdownRequested = true
        halted = true
        onShutdown?()
    }
}
