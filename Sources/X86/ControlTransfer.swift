/// Far JMP, far CALL and far RET: real-mode segment jumps and the
/// protected-mode checks for code segments, call gates (with the stack
/// switch to an inner privilege level) and task gates (SDM vol. 3, 5.8).
extension CPU {
    /// Loads CS for a transfer that has passed its checks; `rpl` becomes CPL.
    func loadCodeSegment(_ sel: UInt16, _ d: Descriptor, cpl newCPL: Int) throws(CPUFault) {
        let s = (sel & 0xFFFC) | UInt16(newCPL)
        try setAccessedBit(sel, d)
        var seg = d.segment(selector: s)
        // CPL lives in CS.DPL's place in the cache for conforming code too.
        seg.attributes.raw = (seg.attributes.raw & ~0x60) | UInt16(newCPL << 5)
        segs[CPU.segCS] = seg
        updateModeCaches()
    }

    func farJump(_ sel: UInt16, _ offset: UInt32) throws(CPUFault) {
        let off = opsize32 ? offset : offset & 0xFFFF
        if !protectedMode || v86 {
            if off > segs[CPU.segCS].limit && !v86 { throw CPUFault.gp(0) }
            loadRealModeSegment(CPU.segCS, sel)
            eip = off
            return
        }
        if sel & 0xFFFC == 0 { throw CPUFault.gp(0) }
        guard let d = try readDescriptor(sel) else { throw CPUFault.gp(selectorError(sel)) }
        let a = d.attributes
        let rpl = Int(sel & 3)
        if a.isCode {
            try checkCodeTarget(sel, d, rpl: rpl)
            if off > d.limit { throw CPUFault.gp(0) }
            try loadCodeSegment(sel, d, cpl: cpl)
            eip = off
            return
        }
        if a.isCodeOrData { throw CPUFault.gp(selectorError(sel)) }
        switch d.systemType {
        case 4, 12:
            if d.dpl < cpl || d.dpl < rpl { throw CPUFault.gp(selectorError(sel)) }
            if !d.present { throw CPUFault.np(selectorError(sel)) }
            let target = d.gateSelector
            if target & 0xFFFC == 0 { throw CPUFault.gp(0) }
            guard let td = try readDescriptor(target) else { throw CPUFault.gp(selectorError(target)) }
            if !td.attributes.isCode { throw CPUFault.gp(selectorError(target)) }
            if td.attributes.conforming ? td.dpl > cpl : td.dpl != cpl { throw CPUFault.gp(selectorError(target)) }
            if !td.present { throw CPUFault.np(selectorError(target)) }
            let goff = d.systemType == 4 ? d.gateOffset & 0xFFFF : d.gateOffset
            if goff > td.limit { throw CPUFault.gp(0) }
            try loadCodeSegment(target, td, cpl: cpl)
            eip = goff
        case 1, 5, 9:
            try taskTransfer(sel, d, rpl: rpl, reason: .jump)
        default:
            throw CPUFault.gp(selectorError(sel))
        }
    }

    /// JMP/CALL to a task gate or an available TSS: the same privilege and
    /// presence checks for both, then a task switch.
    func taskTransfer(_ sel: UInt16, _ d: Descriptor, rpl: Int, reason: TaskSwitchReason) throws(CPUFault) {
        if d.dpl < cpl || d.dpl < rpl { throw CPUFault.gp(selectorError(sel)) }
        if !d.present { throw CPUFault.np(selectorError(sel)) }
        if d.systemType == 5 {
            try taskSwitch(through: d.gateSelector, reason: reason)
        } else {
            try taskSwitch(to: sel, d, reason: reason)
        }
    }

    /// Same-privilege checks for a direct JMP/CALL to a code segment.
    func checkCodeTarget(_ sel: UInt16, _ d: Descriptor, rpl: Int) throws(CPUFault) {
        if d.attributes.conforming {
            if d.dpl > cpl { throw CPUFault.gp(selectorError(sel)) }
        } else if rpl > cpl || d.dpl != cpl {
            throw CPUFault.gp(selectorError(sel))
        }
        if !d.present { throw CPUFault.np(selectorError(sel)) }
    }

    func farCall(_ sel: UInt16, _ offset: UInt32) throws(CPUFault) {
        let size = osize
        let off = opsize32 ? offset : offset & 0xFFFF
        if !protectedMode || v86 {
            if off > segs[CPU.segCS].limit && !v86 { throw CPUFault.gp(0) }
            let mask: UInt32 = stackBig ? 0xFFFF_FFFF : 0xFFFF
            let sp = stackPointer
            try writeMem(size, CPU.segSS, (sp &- UInt32(size)) & mask, UInt32(segs[CPU.segCS].selector))
            try writeMem(size, CPU.segSS, (sp &- UInt32(2 * size)) & mask, eip)
            setStackPointer(sp &- UInt32(2 * size))
            loadRealModeSegment(CPU.segCS, sel)
            eip = off
            return
        }
        if sel & 0xFFFC == 0 { throw CPUFault.gp(0) }
        guard let d = try readDescriptor(sel) else { throw CPUFault.gp(selectorError(sel)) }
        let a = d.attributes
        let rpl = Int(sel & 3)
        if a.isCode {
            try checkCodeTarget(sel, d, rpl: rpl)
            if off > d.limit { throw CPUFault.gp(0) }
            try pushReturnAddress(size)
            try loadCodeSegment(sel, d, cpl: cpl)
            eip = off
            return
        }
        if a.isCodeOrData { throw CPUFault.gp(selectorError(sel)) }
        switch d.systemType {
        case 4, 12:
            if d.dpl < cpl || d.dpl < rpl { throw CPUFault.gp(selectorError(sel)) }
            if !d.present { throw CPUFault.np(selectorError(sel)) }
            try callGate(d)
        case 1, 5, 9:
            try taskTransfer(sel, d, rpl: rpl, reason: .call)
        default:
            throw CPUFault.gp(selectorError(sel))
        }
    }

    /// Pushes CS:EIP for a same-privilege far call, all-or-nothing.
    func pushReturnAddress(_ size: Int) throws(CPUFault) {
        let mask: UInt32 = stackBig ? 0xFFFF_FFFF : 0xFFFF
        let sp = stackPointer
        try writeMem(size, CPU.segSS, (sp &- UInt32(size)) & mask, UInt32(segs[CPU.segCS].selector))
        try writeMem(size, CPU.segSS, (sp &- UInt32(2 * size)) & mask, eip)
        setStackPointer(sp &- UInt32(2 * size))
    }

    /// CALL through a call gate, switching to the inner stack from the TSS
    /// and copying the gate's parameter count when privilege rises.
    func callGate(_ gate: Descriptor) throws(CPUFault) {
        let target = gate.gateSelector
        if target & 0xFFFC == 0 { throw CPUFault.gp(0) }
        guard let td = try readDescriptor(target) else { throw CPUFault.gp(selectorError(target)) }
        if !td.attributes.isCode || td.dpl > cpl { throw CPUFault.gp(selectorError(target)) }
        if !td.present { throw CPUFault.np(selectorError(target)) }
        let gate32 = gate.systemType == 12
        let size = gate32 ? 4 : 2
        let goff = gate32 ? gate.gateOffset : gate.gateOffset & 0xFFFF
        if !td.attributes.conforming && td.dpl < cpl {
            let newCPL = td.dpl
            let (newSS, newESP) = try innerStack(newCPL)
            let ssd = try checkInnerStack(newSS, newCPL)
            let oldSS = UInt32(segs[CPU.segSS].selector)
            let oldESP = regs[4]
            let oldStackBig = stackBig
            let oldCS = UInt32(segs[CPU.segCS].selector)
            let count = gate.gateParamCount
            // Read the parameters from the old stack before switching.
            var params = [UInt32]()
            params.reserveCapacity(count)
            let oldSP = oldStackBig ? oldESP : oldESP & 0xFFFF
            for i in 0..<count {
                params.append(try readMem(size, CPU.segSS, (oldSP &+ UInt32(i * size)) & (oldStackBig ? 0xFFFF_FFFF : 0xFFFF)))
            }
            if goff > td.limit { throw CPUFault.gp(0) }
            // Build the new frame through the new SS with supervisor rights.
            let newSeg = ssd.segment(selector: newSS)
            let big = newSeg.attributes.big
            let mask: UInt32 = big ? 0xFFFF_FFFF : 0xFFFF
            var sp = newESP
            func put(_ v: UInt32) throws(CPUFault) {
                sp = (sp &- UInt32(size)) & mask
                if sp < newSeg.lowWrite || sp &+ UInt32(size - 1) > newSeg.highWrite { throw CPUFault.ss(selectorError(newSS)) }
                try writeLin(size, newSeg.base &+ sp, v, 0)
            }
            try put(oldSS)
            try put(oldESP)
            for p in params.reversed() { try put(p) }
            try put(oldCS)
            try put(eip)
            try setAccessedBit(newSS, ssd)
            segs[CPU.segSS] = newSeg
            regs[4] = big ? sp : (newESP & 0xFFFF_0000) | (sp & 0xFFFF)
            try loadCodeSegment(target, td, cpl: newCPL)
            eip = goff
            return
        }
        if goff > td.limit { throw CPUFault.gp(0) }
        try pushReturnAddress(size)
        try loadCodeSegment(target, td, cpl: cpl)
        eip = goff
    }

    /// SS:ESP for privilege level `level` from the current TSS.
    func innerStack(_ level: Int) throws(CPUFault) -> (UInt16, UInt32) {
        let tr = segs[CPU.segTR]
        let is32 = tr.attributes.type & 8 != 0
        if is32 {
            let off = UInt32(level * 8 + 4)
            if off + 7 > tr.limit { throw CPUFault.ts(selectorError(tr.selector)) }
            let esp = try readSys32(tr.base &+ off)
            let ss = try readSys16(tr.base &+ off &+ 4)
            return (ss, esp)
        }
        let off = UInt32(level * 4 + 2)
        if off + 3 > tr.limit { throw CPUFault.ts(selectorError(tr.selector)) }
        let sp = UInt32(try readSys16(tr.base &+ off))
        let ss = try readSys16(tr.base &+ off &+ 2)
        return (ss, sp)
    }

    /// The SS checks of an inner-level stack switch (#TS on failure).
    func checkInnerStack(_ ss: UInt16, _ level: Int) throws(CPUFault) -> Descriptor {
        if ss & 0xFFFC == 0 { throw CPUFault.ts(0) }
        guard let d = try readDescriptor(ss) else { throw CPUFault.ts(selectorError(ss)) }
        if Int(ss & 3) != level || d.dpl != level || !d.attributes.writable { throw CPUFault.ts(selectorError(ss)) }
        if !d.present { throw CPUFault.ss(selectorError(ss)) }
        return d
    }

    func farReturn(release: UInt32) throws(CPUFault) {
        let size = osize
        let newEIP = try peek(size, 0)
        let sel = UInt16(truncatingIfNeeded: try peek(size, UInt32(size)))
        if !protectedMode || v86 {
            let off = opsize32 ? newEIP : newEIP & 0xFFFF
            loadRealModeSegment(CPU.segCS, sel)
            eip = off
            setStackPointer(stackPointer &+ UInt32(2 * size) &+ release)
            return
        }
        if sel & 0xFFFC == 0 { throw CPUFault.gp(0) }
        guard let d = try readDescriptor(sel) else { throw CPUFault.gp(selectorError(sel)) }
        let rpl = Int(sel & 3)
        if !d.attributes.isCode || rpl < cpl { throw CPUFault.gp(selectorError(sel)) }
        if d.attributes.conforming ? d.dpl > rpl : d.dpl != rpl { throw CPUFault.gp(selectorError(sel)) }
        if !d.present { throw CPUFault.np(selectorError(sel)) }
        if rpl == cpl {
            if newEIP > d.limit { throw CPUFault.gp(0) }
            try loadCodeSegment(sel, d, cpl: cpl)
            eip = newEIP
            setStackPointer(stackPointer &+ UInt32(2 * size) &+ release)
            return
        }
        // Return to an outer level: SS:ESP sit above the released parameters.
        let base = UInt32(2 * size) &+ release
        let newESP = try peek(size, base)
        let newSS = UInt16(truncatingIfNeeded: try peek(size, base &+ UInt32(size)))
        try returnToOuterLevel(cs: sel, d, eip: newEIP, ss: newSS, esp: newESP, release: release, size: size)
    }

    /// Loads CS:EIP and SS:ESP for a return to the less privileged level
    /// `cs.RPL`, then nulls data segments the new level may not use.
    func returnToOuterLevel(cs sel: UInt16, _ d: Descriptor, eip newEIP: UInt32, ss newSS: UInt16, esp newESP: UInt32, release: UInt32, size: Int) throws(CPUFault) {
        let rpl = Int(sel & 3)
        if newSS & 0xFFFC == 0 { throw CPUFault.gp(0) }
        guard let sd = try readDescriptor(newSS) else { throw CPUFault.gp(selectorError(newSS)) }
        if Int(newSS & 3) != rpl || sd.dpl != rpl || !sd.attributes.writable { throw CPUFault.gp(selectorError(newSS)) }
        if !sd.present { throw CPUFault.ss(selectorError(newSS)) }
        if newEIP > d.limit { throw CPUFault.gp(0) }
        try loadCodeSegment(sel, d, cpl: rpl)
        try setAccessedBit(newSS, sd)
        segs[CPU.segSS] = sd.segment(selector: newSS)
        updateModeCaches()
        eip = newEIP
        let esp = size == 4 ? newESP : newESP & 0xFFFF
        if stackBig { regs[4] = esp &+ release } else { setReg16(4, UInt16(truncatingIfNeeded: esp &+ release)) }
        for s in [CPU.segES, CPU.segDS, CPU.segFS, CPU.segGS] {
            let a = segs[s].attributes
            if (a.isData || !a.conforming) && Int(a.dpl) < cpl {
                segs[s] = Segment.unusable(selector: 0)
            }
        }
    }
}
