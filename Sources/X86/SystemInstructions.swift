/// Control and debug registers, MSRs, CPUID, SYSENTER/SYSEXIT, the flag
/// instructions with privilege rules, and I/O permission checks.
extension CPU {
    /// Virtual TSC: the instruction count scaled by `tscPerInstruction`.
    var timeStampCounter: UInt64 { instructionCount &* tscPerInstruction &+ tscOffset }

    /// TSC ticks per retired instruction (the virtual clock's rate).
    public var tscPerInstruction: UInt64 { 1 }

    // MARK: MOV CRn / DRn

    func moveControlOrDebug(_ op: UInt8) throws(CPUFault) {
        let modrm = instModRM
        let n = Int((modrm >> 3) & 7)
        let r = Int(modrm & 7)
        if (protectedMode && cpl != 0) || v86 { throw CPUFault.gp(0) }
        switch op {
        case 0x20:
            switch n {
            case 0: regs[r] = cr0
            case 2: regs[r] = cr2
            case 3: regs[r] = cr3
            case 4: regs[r] = cr4
            default: throw CPUFault.ud
            }
        case 0x22:
            let v = regs[r]
            switch n {
            case 0: try writeCR0(v)
            case 2: cr2 = v
            case 3:
                cr3 = v & 0xFFFF_F018
                flushTLB(includingGlobal: false)
            case 4:
                if v & ~CR4.supported != 0 { throw CPUFault.gp(0) }
                let changed = cr4 ^ v
                cr4 = v
                if changed & (CR4.pse | CR4.pge) != 0 { flushTLB(includingGlobal: true) }
                if changed & CR4.de != 0 { updateBreakpointState() }
            default: throw CPUFault.ud
            }
        case 0x21, 0x23:
            var idx = n
            if idx == 4 || idx == 5 {
                if cr4 & CR4.de != 0 { throw CPUFault.ud }
                idx += 2
            }
            if dr[7] & 0x2000 != 0 {
                // DR7.GD: the access itself is a debug fault, with DR6.BD.
                dr[6] |= 0x2000
                dr[7] &= ~0x2000
                throw CPUFault(.debug)
            }
            if op == 0x21 {
                regs[r] = dr[idx]
            } else {
                var v = regs[r]
                if idx == 6 { v = (v & 0x0000_E00F) | 0xFFFF_0FF0 }
                if idx == 7 { v = (v & 0xFFFF_2BFF) | 0x400 }
                dr[idx] = v
                updateBreakpointState()
            }
        default:
            throw CPUFault.ud
        }
    }

    func writeCR0(_ value: UInt32) throws(CPUFault) {
        var v = value | CR0.et // the x87 is always present on this CPU
        if v & CR0.pg != 0 && v & CR0.pe == 0 { throw CPUFault.gp(0) }
        if v & CR0.nw != 0 && v & CR0.cd == 0 { throw CPUFault.gp(0) }
        v &= 0xE005_003F
        let changed = cr0 ^ v
        cr0 = v
        if changed & (CR0.pg | CR0.pe | CR0.wp | CR0.am) != 0 {
            updateModeCaches()
            flushTLB(includingGlobal: true)
        }
    }

    // MARK: MSRs

    func readMSR() throws(CPUFault) {
        if cpl != 0 || v86 { throw CPUFault.gp(0) }
        let v: UInt64
        switch regs[1] {
        case 0x10: v = timeStampCounter
        case 0x174: v = UInt64(sysenterCS)
        case 0x175: v = UInt64(sysenterESP)
        case 0x176: v = UInt64(sysenterEIP)
        // Platform ID, microcode signature, MISC_ENABLE and the MTRR
        // capability read as zero: nothing there is reported by CPUID.
        case 0x17, 0x8B, 0x1A0, 0xFE, 0x2FF: v = 0
        default: throw CPUFault.gp(0)
        }
        regs[0] = UInt32(truncatingIfNeeded: v)
        regs[2] = UInt32(truncatingIfNeeded: v >> 32)
    }

    func writeMSR() throws(CPUFault) {
        if cpl != 0 || v86 { throw CPUFault.gp(0) }
        let v = UInt64(regs[2]) << 32 | UInt64(regs[0])
        switch regs[1] {
        case 0x10: tscOffset = v &- instructionCount &* tscPerInstruction
        case 0x174: sysenterCS = UInt32(truncatingIfNeeded: v) & 0xFFFF
        case 0x175: sysenterESP = UInt32(truncatingIfNeeded: v)
        case 0x176: sysenterEIP = UInt32(truncatingIfNeeded: v)
        case 0x79, 0x8B, 0x1A0: break // microcode trigger/signature, MISC_ENABLE: accepted, no effect
        default: throw CPUFault.gp(0)
        }
    }

    // MARK: CPUID

    /// A Pentium II/III-class family 6 part without MMX/SSE: only what this
    /// core implements is reported.
    func cpuid() {
        var leaf = regs[0]
        // Leaves past the maximum return the highest basic leaf (Intel).
        if leaf > 1 && leaf < 0x8000_0000 || leaf > 0x8000_0000 { leaf = 1 }
        switch leaf {
        case 0:
            regs[0] = 1
            // "GenuineIntel": guests key model-specific behaviour on the vendor.
            regs[3] = 0x756E_6547; regs[2] = 0x6C65_746E; regs[1] = 0x4965_6E69
        case 1:
            regs[0] = 0x0000_0633 // family 6, model 3, stepping 3
            regs[3] = 0
            regs[1] = 0
            regs[2] = CPU.cpuidFeatures
        case 0x8000_0000:
            regs[0] = 0x8000_0000; regs[3] = 0; regs[1] = 0; regs[2] = 0
        default:
            regs[0] = 0; regs[3] = 0; regs[1] = 0; regs[2] = 0
        }
    }

    /// CPUID.1:EDX: FPU VME DE PSE TSC MSR CX8 SEP PGE CMOV.
    static let cpuidFeatures: UInt32 = (1 << 0) | (1 << 1) | (1 << 2) | (1 << 3) | (1 << 4) | (1 << 5) | (1 << 8) | (1 << 11) | (1 << 13) | (1 << 15)

    // MARK: SYSENTER / SYSEXIT

    func sysenter() throws(CPUFault) {
        if !protectedMode || sysenterCS & 0xFFFC == 0 { throw CPUFault.gp(0) }
        materializeFlags()
        flagBits &= ~(EFlags.vm | EFlags.if | EFlags.rf)
        let cs = UInt16(truncatingIfNeeded: sysenterCS & 0xFFFC)
        segs[CPU.segCS] = flatSegment(selector: cs, code: true, dpl: 0)
        segs[CPU.segSS] = flatSegment(selector: cs &+ 8, code: false, dpl: 0)
        regs[4] = sysenterESP
        eip = sysenterEIP
        updateModeCaches()
    }

    func sysexit() throws(CPUFault) {
        if !protectedMode || v86 || cpl != 0 || sysenterCS & 0xFFFC == 0 { throw CPUFault.gp(0) }
        let cs = UInt16(truncatingIfNeeded: sysenterCS) &+ 16
        segs[CPU.segCS] = flatSegment(selector: cs | 3, code: true, dpl: 3)
        segs[CPU.segSS] = flatSegment(selector: (cs &+ 8) | 3, code: false, dpl: 3)
        regs[4] = regs[1]
        eip = regs[2]
        updateModeCaches()
    }

    /// The fixed flat descriptors SYSENTER/SYSEXIT load (SDM SYSENTER).
    func flatSegment(selector: UInt16, code: Bool, dpl: UInt16) -> Segment {
        var s = Segment()
        s.selector = selector
        s.base = 0
        s.limit = 0xFFFF_FFFF
        s.attributes = DescriptorAttributes(raw: (code ? 0xC09B : 0xC093) | (dpl << 5))
        s.recomputeValidity()
        return s
    }

    // MARK: PUSHF / POPF / CLI / STI

    var iopl: Int { Int((flagBits >> 12) & 3) }

    func pushf() throws(CPUFault) {
        var f = materializedFlags()
        if v86 && iopl < 3 {
            guard cr4 & CR4.vme != 0, !opsize32 else { throw CPUFault.gp(0) }
            // VME: the image shows VIF in place of IF and IOPL as 3.
            f = (f & ~EFlags.if) | ((f & EFlags.vif) >> 10) | EFlags.iopl
        }
        try push(osize, f & ~(EFlags.vm | EFlags.rf))
    }

    func popf() throws(CPUFault) {
        let size = osize
        var v = try peek(size, 0)
        let old = materializedFlags()
        if v86 && iopl < 3 {
            guard cr4 & CR4.vme != 0, !opsize32 else { throw CPUFault.gp(0) }
            if (v & EFlags.if != 0 && old & EFlags.vip != 0) || v & EFlags.tf != 0 { throw CPUFault.gp(0) }
            setStackPointer(stackPointer &+ UInt32(size))
            let keep = EFlags.if | EFlags.iopl
            var n = (old & ~0xFFFF) | (v & 0xFFFF & ~keep) | (old & keep)
            n = (n & ~EFlags.vif) | ((v & EFlags.if) << 10)
            setFlagsRaw(n)
            return
        }
        setStackPointer(stackPointer &+ UInt32(size))
        // What may change: never VM, VIF, VIP or RF here; IOPL only at CPL
        // 0; IF only when CPL <= IOPL (SDM POPF).
        var changeable: UInt32 = 0x0024_7FD5
        if protectedMode && cpl > 0 { changeable &= ~EFlags.iopl }
        if protectedMode && cpl > iopl { changeable &= ~EFlags.if }
        if v86 { changeable &= ~EFlags.iopl }
        if size == 2 { changeable &= 0xFFFF; v &= 0xFFFF }
        setFlagsRaw((old & ~changeable) | (v & changeable))
    }

    func cli() throws(CPUFault) {
        if !protectedMode || cpl <= iopl {
            flagBits &= ~EFlags.if
        } else if (v86 && cr4 & CR4.vme != 0) || (!v86 && cpl == 3 && cr4 & CR4.pvi != 0) {
            flagBits &= ~EFlags.vif
        } else {
            throw CPUFault.gp(0)
        }
    }

    func sti() throws(CPUFault) {
        if !protectedMode || cpl <= iopl {
            if flagBits & EFlags.if == 0 { interruptShadow = true }
            flagBits |= EFlags.if
        } else if (v86 && cr4 & CR4.vme != 0) || (!v86 && cpl == 3 && cr4 & CR4.pvi != 0) {
            if flagBits & EFlags.vip != 0 { throw CPUFault.gp(0) }
            flagBits |= EFlags.vif
        } else {
            throw CPUFault.gp(0)
        }
    }

    // MARK: I/O permission

    /// In protected mode with CPL > IOPL, and always in V86 mode, the TSS's
    /// I/O permission bitmap must clear every bit of the accessed ports.
    @inline(__always) func checkIOPermission(_ port: UInt16, _ size: Int) throws(CPUFault) {
        if ioBreakpointsActive { noteIOAccess(port, size) }
        if !protectedMode || (!v86 && cpl <= iopl) { return }
        try checkIOBitmap(port, size)
    }

    func checkIOBitmap(_ port: UInt16, _ size: Int) throws(CPUFault) {
        let tr = segs[CPU.segTR]
        let type = tr.attributes.type
        guard type == 9 || type == 11, tr.limit >= 103 else { throw CPUFault.gp(0) }
        let mapBase = UInt32(try readSys16(tr.base &+ 102))
        let byteOff = mapBase &+ UInt32(port >> 3)
        if byteOff &+ 1 > tr.limit { throw CPUFault.gp(0) }
        let bits = UInt32(try readSys16(tr.base &+ byteOff))
        let mask: UInt32 = ((1 << UInt32(size)) - 1) << UInt32(port & 7)
        if bits & mask != 0 { throw CPUFault.gp(0) }
    }
}
