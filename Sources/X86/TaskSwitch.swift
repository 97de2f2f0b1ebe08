/// Hardware task switching (SDM vol. 3, 7.3): through JMP/CALL to a TSS
/// or task gate, interrupts through task gates, and IRET with NT set.
extension CPU {
    enum TaskSwitchReason { case jump, call, interrupt, iret }

    /// Switch through a task gate naming `sel`.
    func taskSwitch(through sel: UInt16, reason: TaskSwitchReason, errorCode: UInt32? = nil) throws(CPUFault) {
        if sel & 4 != 0 || sel & 0xFFFC == 0 { throw CPUFault.ts(selectorError(sel)) }
        guard let d = try readDescriptor(sel) else { throw CPUFault.ts(selectorError(sel)) }
        let t = d.systemType
        // A busy target is #GP(TSS selector) for CALL/JMP/INT (SDM 7.3).
        if t == 3 || t == 11 { throw CPUFault.gp(selectorError(sel)) }
        if t != 1 && t != 9 { throw CPUFault.ts(selectorError(sel)) }
        if !d.present { throw CPUFault.np(selectorError(sel)) }
        try taskSwitch(to: sel, d, reason: reason, errorCode: errorCode)
    }

    /// IRET with NT: back to the task named by the current TSS's link field.
    func taskReturn() throws(CPUFault) {
        let link = try readSys16(segs[CPU.segTR].base)
        if link & 4 != 0 { throw CPUFault.ts(selectorError(link)) }
        guard let d = try readDescriptor(link) else { throw CPUFault.ts(selectorError(link)) }
        if d.systemType != 3 && d.systemType != 11 { throw CPUFault.ts(selectorError(link)) }
        if !d.present { throw CPUFault.np(selectorError(link)) }
        try taskSwitch(to: link, d, reason: .iret)
    }

    func taskSwitch(to sel: UInt16, _ d: Descriptor, reason: TaskSwitchReason, errorCode: UInt32? = nil) throws(CPUFault) {
        let new32 = d.systemType & 8 != 0
        let newBase = d.base
        let newLimit = d.limit
        if newLimit < (new32 ? 0x67 : 0x2B) { throw CPUFault.ts(selectorError(sel)) }
        let old = segs[CPU.segTR]
        let old32 = old.attributes.type & 8 != 0
        let oldBase = old.base

        // Read the new task's state first: a fault here leaves the old task intact.
        let st: TaskState = new32 ? try readTSS32(newBase) : try readTSS16(newBase)

        // Save the outgoing task.
        var outFlags = materializedFlags()
        if reason == .jump || reason == .iret {
            try writeSys32(descriptorAddress(old.selector) &+ 4, (try readSys32(descriptorAddress(old.selector) &+ 4)) & ~0x200)
        }
        if reason == .iret { outFlags &= ~EFlags.nt }
        if old32 {
            try writeSys32(oldBase &+ 0x20, eip)
            try writeSys32(oldBase &+ 0x24, outFlags)
            for i in 0..<8 { try writeSys32(oldBase &+ 0x28 &+ UInt32(i * 4), regs[i]) }
            for i in 0..<6 { try writeSys16(oldBase &+ 0x48 &+ UInt32(i * 4), segs[i].selector) }
        } else {
            try writeSys16(oldBase &+ 0x0E, UInt16(truncatingIfNeeded: eip))
            try writeSys16(oldBase &+ 0x10, UInt16(truncatingIfNeeded: outFlags))
            for i in 0..<8 { try writeSys16(oldBase &+ 0x12 &+ UInt32(i * 2), UInt16(truncatingIfNeeded: regs[i])) }
            for i in 0..<4 { try writeSys16(oldBase &+ 0x22 &+ UInt32(i * 2), segs[i].selector) }
        }

        var newFlags = st.eflags
        if reason == .call || reason == .interrupt {
            try writeSys16(newBase, old.selector)
            newFlags |= EFlags.nt
        }
        if reason != .iret {
            try writeSys32(descriptorAddress(sel) &+ 4, d.high | 0x200)
        }
        var trSeg = d.segment(selector: sel)
        trSeg.attributes.raw |= 2 // busy
        segs[CPU.segTR] = trSeg
        cr0 |= CR0.ts

        // Load the incoming task's registers; segment faults now belong to the new task.
        if new32 && pagingEnabled && st.cr3 != cr3 {
            cr3 = st.cr3 & 0xFFFF_F018
            flushTLB(includingGlobal: false)
        } else if new32 {
            cr3 = st.cr3 & 0xFFFF_F018
        }
        eip = st.eip
        setFlagsRaw(newFlags | 0x2)
        for i in 0..<8 { regs[i] = st.regs[i] }
        // Selectors first (so a fault reports them), then descriptor checks.
        for i in 0..<6 { segs[i].selector = st.segs[i] }
        segs[CPU.segLDTR].selector = st.ldt
        if flagBits & EFlags.vm != 0 {
            updateModeCaches()
            for i in 0..<6 { loadRealModeSegment(i, st.segs[i]) }
            updateModeCaches()
        } else {
            try loadTaskLDT(st.ldt)
            try loadTaskCode(st.segs[CPU.segCS])
            try loadTaskStack(st.segs[CPU.segSS])
            for i in [CPU.segES, CPU.segDS, CPU.segFS, CPU.segGS] { try loadTaskData(i, st.segs[i]) }
        }
        fetchLen = 0
        if new32, try readSys8(newBase &+ 0x64) & 1 != 0 { taskSwitchTrap = true }
        if let e = errorCode {
            let size = new32 ? 4 : 2
            try push(size, e)
        }
        if eip > segs[CPU.segCS].limit { throw CPUFault.gp(0) }
    }

    struct TaskState {
        var cr3: UInt32 = 0
        var eip: UInt32 = 0
        var eflags: UInt32 = 0
        var regs = [UInt32](repeating: 0, count: 8)
        var segs = [UInt16](repeating: 0, count: 6)
        var ldt: UInt16 = 0
    }

    func readTSS32(_ base: UInt32) throws(CPUFault) -> TaskState {
        var s = TaskState()
        s.cr3 = try readSys32(base &+ 0x1C)
        s.eip = try readSys32(base &+ 0x20)
        s.eflags = try readSys32(base &+ 0x24)
        for i in 0..<8 { s.regs[i] = try readSys32(base &+ 0x28 &+ UInt32(i * 4)) }
        for i in 0..<6 { s.segs[i] = try readSys16(base &+ 0x48 &+ UInt32(i * 4)) }
        s.ldt = try readSys16(base &+ 0x60)
        return s
    }

    func readTSS16(_ base: UInt32) throws(CPUFault) -> TaskState {
        var s = TaskState()
        s.cr3 = cr3
        s.eip = UInt32(try readSys16(base &+ 0x0E))
        s.eflags = UInt32(try readSys16(base &+ 0x10))
        for i in 0..<8 { s.regs[i] = 0xFFFF_0000 | UInt32(try readSys16(base &+ 0x12 &+ UInt32(i * 2))) }
        for i in 0..<4 { s.segs[i] = try readSys16(base &+ 0x22 &+ UInt32(i * 2)) }
        s.ldt = try readSys16(base &+ 0x2A)
        return s
    }

    func loadTaskLDT(_ sel: UInt16) throws(CPUFault) {
        if sel & 0xFFFC == 0 { segs[CPU.segLDTR] = Segment.unusable(selector: sel); return }
        if sel & 4 != 0 { throw CPUFault.ts(selectorError(sel)) }
        guard let d = try readDescriptor(sel), d.systemType == 2 else { throw CPUFault.ts(selectorError(sel)) }
        if !d.present { throw CPUFault.ts(selectorError(sel)) }
        segs[CPU.segLDTR] = d.segment(selector: sel)
    }

    func loadTaskCode(_ sel: UInt16) throws(CPUFault) {
        if sel & 0xFFFC == 0 { throw CPUFault.ts(0) }
        guard let d = try readDescriptor(sel), d.attributes.isCode else { throw CPUFault.ts(selectorError(sel)) }
        let rpl = Int(sel & 3)
        if d.attributes.conforming ? d.dpl > rpl : d.dpl != rpl { throw CPUFault.ts(selectorError(sel)) }
        if !d.present { throw CPUFault.np(selectorError(sel)) }
        try loadCodeSegment(sel, d, cpl: rpl)
    }

    func loadTaskStack(_ sel: UInt16) throws(CPUFault) {
        if sel & 0xFFFC == 0 { throw CPUFault.ts(0) }
        guard let d = try readDescriptor(sel) else { throw CPUFault.ts(selectorError(sel)) }
        if Int(sel & 3) != cpl || d.dpl != cpl || !d.attributes.writable { throw CPUFault.ts(selectorError(sel)) }
        if !d.present { throw CPUFault.ss(selectorError(sel)) }
        try setAccessedBit(sel, d)
        segs[CPU.segSS] = d.segment(selector: sel)
        updateModeCaches()
    }

    func loadTaskData(_ seg: Int, _ sel: UInt16) throws(CPUFault) {
        if sel & 0xFFFC == 0 { segs[seg] = Segment.unusable(selector: sel); return }
        guard let d = try readDescriptor(sel) else { throw CPUFault.ts(selectorError(sel)) }
        let a = d.attributes
        if !(a.isData || (a.isCode && a.readable)) { throw CPUFault.ts(selectorError(sel)) }
        if (a.isData || !a.conforming) && (Int(sel & 3) > d.dpl || cpl > d.dpl) { throw CPUFault.ts(selectorError(sel)) }
        if !d.present { throw CPUFault.np(selectorError(sel)) }
        try setAccessedBit(sel, d)
        segs[seg] = d.segment(selector: sel)
    }
}
