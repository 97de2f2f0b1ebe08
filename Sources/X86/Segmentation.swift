/// Loading segment registers and the descriptor-table instructions, with
/// the protection checks of SDM vol. 3, chapter 5.
extension CPU {
    static let segLDTR = 6, segTR = 7

    @inline(__always) func selectorError(_ sel: UInt16) -> UInt32 { UInt32(sel & 0xFFFC) }

    /// Reads the descriptor a selector names, or nil when it lies outside
    /// its table (the caller raises the fault its instruction calls for).
    func readDescriptor(_ sel: UInt16) throws(CPUFault) -> Descriptor? {
        let index = UInt32(sel & 0xFFF8)
        var base = gdtrBase
        var limit = gdtrLimit
        if sel & 4 != 0 {
            let ldt = segs[CPU.segLDTR]
            if !ldt.attributes.present || ldt.selector & 0xFFFC == 0 { return nil }
            base = ldt.base
            limit = ldt.limit
        }
        if index + 7 > limit { return nil }
        return Descriptor(low: try readSys32(base &+ index), high: try readSys32(base &+ index &+ 4))
    }

    /// Address of a descriptor in its table (for setting accessed/busy bits).
    func descriptorAddress(_ sel: UInt16) -> UInt32 {
        let base = sel & 4 != 0 ? segs[CPU.segLDTR].base : gdtrBase
        return base &+ UInt32(sel & 0xFFF8)
    }

    func setAccessedBit(_ sel: UInt16, _ d: Descriptor) throws(CPUFault) {
        if d.high & 0x100 == 0 {
            try writeSys32(descriptorAddress(sel) &+ 4, d.high | 0x100)
        }
    }

    /// MOV Sreg / POP Sreg / LDS…: a data or stack segment load.
    func loadSegment(_ seg: Int, _ sel: UInt16) throws(CPUFault) {
        if !protectedMode || v86 {
            loadRealModeSegment(seg, sel)
            return
        }
        if sel & 0xFFFC == 0 {
            if seg == CPU.segSS { throw CPUFault.gp(0) }
            segs[seg] = Segment.unusable(selector: sel)
            return
        }
        guard let d = try readDescriptor(sel) else { throw CPUFault.gp(selectorError(sel)) }
        let a = d.attributes
        let rpl = Int(sel & 3)
        if seg == CPU.segSS {
            if rpl != cpl || d.dpl != cpl || !a.writable { throw CPUFault.gp(selectorError(sel)) }
            if !a.present { throw CPUFault.ss(selectorError(sel)) }
        } else {
            if !(a.isData || (a.isCode && a.readable)) { throw CPUFault.gp(selectorError(sel)) }
            if a.isData || !a.conforming {
                if rpl > d.dpl || cpl > d.dpl { throw CPUFault.gp(selectorError(sel)) }
            }
            if !a.present { throw CPUFault.np(selectorError(sel)) }
        }
        try setAccessedBit(sel, d)
        segs[seg] = d.segment(selector: sel)
        if seg == CPU.segSS { stackBig = a.big }
    }

    /// Real mode keeps the cached limit (that is what makes "unreal mode"
    /// work); V86 mode always has 64 KiB segments.
    func loadRealModeSegment(_ seg: Int, _ sel: UInt16) {
        if v86 {
            segs[seg] = Segment.realMode(selector: sel)
            if seg == CPU.segCS { segs[seg].attributes = DescriptorAttributes(raw: 0x00F3) }
        } else {
            segs[seg].selector = sel
            segs[seg].base = UInt32(sel) << 4
            segs[seg].makeRealModeAccessible()
        }
        if seg == CPU.segCS { fetchLen = 0 }
        if seg == CPU.segSS { stackBig = protectedMode && !v86 && segs[seg].attributes.big }
    }

    /// Test fixture: protected mode with flat 4 GiB segments at `cpl`, no
    /// paging and no descriptor tables (the caches are loaded directly).
    public func enterFlat32(cpl level: Int) {
        cr0 |= CR0.pe
        flagBits &= ~EFlags.vm
        let dpl = UInt16(level & 3) << 5
        var code = Descriptor(low: 0x0000_FFFF, high: 0x00CF_9B00).segment(selector: UInt16(0x08 | level))
        code.attributes.raw = (code.attributes.raw & ~0x60) | dpl
        var data = Descriptor(low: 0x0000_FFFF, high: 0x00CF_9300).segment(selector: UInt16(0x10 | level))
        data.attributes.raw = (data.attributes.raw & ~0x60) | dpl
        segs[CPU.segCS] = code
        for s in [CPU.segES, CPU.segSS, CPU.segDS, CPU.segFS, CPU.segGS] { segs[s] = data }
        updateModeCaches()
        flushTLB(includingGlobal: true)
    }

    // MARK: 0F 00: SLDT STR LLDT LTR VERR VERW

    func group6() throws(CPUFault) {
        if !protectedMode || v86 { throw CPUFault.ud }
        let modrm = instModRM
        let reg = (modrm >> 3) & 7
        switch reg {
        case 0, 1:
            let sel = UInt32(segs[reg == 0 ? CPU.segLDTR : CPU.segTR].selector)
            if modrm >= 0xC0 { setReg(osize, Int(modrm & 7), sel) } else { try writeRM(2, modrm, sel) }
        case 2:
            if cpl != 0 { throw CPUFault.gp(0) }
            try loadLDT(UInt16(truncatingIfNeeded: try readRM(2, modrm)))
        case 3:
            if cpl != 0 { throw CPUFault.gp(0) }
            let sel = UInt16(truncatingIfNeeded: try readRM(2, modrm))
            if sel & 0xFFFC == 0 { throw CPUFault.gp(0) }
            if sel & 4 != 0 { throw CPUFault.gp(selectorError(sel)) }
            guard let d = try readDescriptor(sel) else { throw CPUFault.gp(selectorError(sel)) }
            let t = d.systemType
            if t != 0x01 && t != 0x09 { throw CPUFault.gp(selectorError(sel)) }
            if !d.present { throw CPUFault.np(selectorError(sel)) }
            try writeSys32(descriptorAddress(sel) &+ 4, d.high | 0x200)
            segs[CPU.segTR] = d.segment(selector: sel)
        case 4, 5:
            let sel = UInt16(truncatingIfNeeded: try readRM(2, modrm))
            var ok = false
            if sel & 0xFFFC != 0, let d = try readDescriptor(sel) {
                let a = d.attributes
                if a.isCodeOrData {
                    let privOK = a.conforming || (d.dpl >= cpl && d.dpl >= Int(sel & 3))
                    ok = privOK && (reg == 4 ? a.readable : a.writable)
                }
            }
            setFlag(EFlags.zf, ok)
        default:
            throw CPUFault.ud
        }
    }

    func loadLDT(_ sel: UInt16) throws(CPUFault) {
        if sel & 0xFFFC == 0 {
            segs[CPU.segLDTR] = Segment.unusable(selector: sel)
            return
        }
        if sel & 4 != 0 { throw CPUFault.gp(selectorError(sel)) }
        guard let d = try readDescriptor(sel) else { throw CPUFault.gp(selectorError(sel)) }
        if d.systemType != 0x02 { throw CPUFault.gp(selectorError(sel)) }
        if !d.present { throw CPUFault.np(selectorError(sel)) }
        segs[CPU.segLDTR] = d.segment(selector: sel)
    }

    // MARK: 0F 01: SGDT SIDT LGDT LIDT SMSW LMSW INVLPG

    func group7() throws(CPUFault) {
        let modrm = instModRM
        let reg = (modrm >> 3) & 7
        if modrm >= 0xC0 && reg != 4 && reg != 6 { throw CPUFault.ud }
        switch reg {
        case 0, 1:
            decodeEA()
            let limit = reg == 0 ? gdtrLimit : idtrLimit
            var base = reg == 0 ? gdtrBase : idtrBase
            if !opsize32 { base &= 0x00FF_FFFF }
            try write16(eaSeg, eaOff, UInt16(truncatingIfNeeded: limit))
            try write32(eaSeg, eaOff &+ 2, base)
        case 2, 3:
            if cpl != 0 || v86 { throw CPUFault.gp(0) }
            decodeEA()
            let limit = UInt32(try read16(eaSeg, eaOff))
            var base = try read32(eaSeg, eaOff &+ 2)
            if !opsize32 { base &= 0x00FF_FFFF }
            if reg == 2 { gdtrBase = base; gdtrLimit = limit } else { idtrBase = base; idtrLimit = limit }
        case 4:
            if modrm >= 0xC0 { setReg(osize, Int(modrm & 7), cr0 & sizeMask(osize)) } else { try writeRM(2, modrm, cr0 & 0xFFFF) }
        case 6:
            if cpl != 0 || v86 { throw CPUFault.gp(0) }
            let v = try readRM(2, modrm)
            // LMSW writes PE MP EM TS and can set PE but never clear it.
            let newCR0 = (cr0 & ~0xE) | (v & 0xF) | (cr0 & CR0.pe)
            try writeCR0(newCR0)
        case 7:
            if cpl != 0 || v86 { throw CPUFault.gp(0) }
            decodeEA()
            invalidatePage(segs[eaSeg].base &+ eaOff)
        default:
            throw CPUFault.ud
        }
    }

    // MARK: LAR / LSL / ARPL

    func loadAccessRightsOrLimit(lsl: Bool) throws(CPUFault) {
        if !protectedMode || v86 { throw CPUFault.ud }
        let modrm = instModRM
        let sel = UInt16(truncatingIfNeeded: try readRM(2, modrm))
        var result: UInt32?
        if sel & 0xFFFC != 0, let d = try readDescriptor(sel) {
            let a = d.attributes
            var typeOK: Bool
            if a.isCodeOrData {
                typeOK = true
            } else if lsl {
                typeOK = [1, 2, 3, 9, 11].contains(d.systemType)
            } else {
                typeOK = [1, 2, 3, 4, 5, 9, 11, 12].contains(d.systemType)
            }
            if typeOK && !(a.conforming) && (d.dpl < cpl || d.dpl < Int(sel & 3)) { typeOK = false }
            if typeOK { result = lsl ? d.limit : d.high & 0x00F0_FF00 }
        }
        if let r = result {
            setFlag(EFlags.zf, true)
            setReg(osize, Int((modrm >> 3) & 7), r & sizeMask(osize))
        } else {
            setFlag(EFlags.zf, false)
        }
    }

    func arpl() throws(CPUFault) {
        if !protectedMode || v86 { throw CPUFault.ud }
        let modrm = instModRM
        let src = reg16(Int((modrm >> 3) & 7))
        let lin = try rmwAddress(2, modrm)
        let d = try rmwRead(2, modrm, lin)
        if d & 3 < UInt32(src & 3) {
            try rmwWrite(2, modrm, lin, (d & ~3) | UInt32(src & 3))
            setFlag(EFlags.zf, true)
        } else {
            setFlag(EFlags.zf, false)
        }
    }
}
