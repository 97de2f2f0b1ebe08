/// Linear-to-physical translation (two-level 32-bit paging with 4 MiB PSE
/// pages) and the software TLB in front of it.
///
/// The TLB is four direct-mapped tables of `tlbEntries`, one per kind of
/// access: supervisor read, supervisor write, user read, user write. An
/// entry exists only if that kind of access to that page is allowed and the
/// page is ordinary RAM (or ROM, for reads), so a hit needs no permission
/// check at all: compare the tag, add the offset, load. Write entries are
/// filled only after the PTE's dirty bit is set and the page is marked in
/// the memory's dirty bitmap, so neither bit can be missed.
extension CPU {
    static let tlbEntries = 1024
    static let tlbWrite = 1024
    static let tlbUser = 2048
    static let tlbInvalid: UInt32 = 1

    @inline(__always) func tlbIndex(_ lin: UInt32) -> Int { Int((lin >> 12) & UInt32(CPU.tlbEntries - 1)) }

    func flushTLB(includingGlobal: Bool) {
        for i in 0..<(CPU.tlbEntries * 4) where includingGlobal || !tlbGlobal[i] {
            tlbTag[i] = CPU.tlbInvalid
        }
        fetchLen = 0
    }

    func flushWriteTLB() {
        for i in 0..<CPU.tlbEntries {
            tlbTag[CPU.tlbWrite + i] = CPU.tlbInvalid
            tlbTag[CPU.tlbUser + CPU.tlbWrite + i] = CPU.tlbInvalid
        }
    }

    func invalidatePage(_ lin: UInt32) {
        let i = tlbIndex(lin)
        let tag = lin & 0xFFFF_F000
        for k in stride(from: 0, to: CPU.tlbEntries * 4, by: CPU.tlbEntries) where tlbTag[k + i] == tag {
            tlbTag[k + i] = CPU.tlbInvalid
        }
        fetchLen = 0
    }

    /// Result of a page walk.
    struct Translation {
        var physical: UInt32
        var global: Bool
    }

    /// Walks the page tables for one access. `user` is whether the access is
    /// made with user privilege (CPL 3 and not an implicit supervisor access
    /// such as a descriptor-table read). Sets accessed and dirty bits the way
    /// the hardware does and raises #PF with the SDM's error code.
    func translate(_ lin: UInt32, write: Bool, user: Bool) throws(CPUFault) -> Translation {
        if !pagingEnabled { return Translation(physical: lin & a20Mask, global: false) }
        let pdeAddr = ((cr3 & 0xFFFF_F000) | ((lin >> 20) & 0xFFC)) & a20Mask
        let pde = memory.read(pdeAddr, width: 4)
        if pde & 1 == 0 { throw pageFault(lin, present: false, write: write, user: user) }
        if pde & 0x80 != 0, cr4 & CR4.pse != 0 {
            // Bits 21:13 of a 4 MiB PDE are reserved without PSE-36 (SDM 4.3).
            if pde & 0x003F_E000 != 0 {
                var f = pageFault(lin, present: true, write: write, user: user)
                f.errorCode |= 8
                throw f
            }
            try checkPagePermission(lin, pde, write: write, user: user)
            var newPDE = pde | 0x20
            if write { newPDE |= 0x40 }
            if newPDE != pde { memory.write(pdeAddr, width: 4, value: newPDE) }
            let phys = (pde & 0xFFC0_0000) | (lin & 0x003F_FFFF)
            return Translation(physical: phys & a20Mask, global: pde & 0x100 != 0 && cr4 & CR4.pge != 0)
        }
        let pteAddr = ((pde & 0xFFFF_F000) | ((lin >> 10) & 0xFFC)) & a20Mask
        let pte = memory.read(pteAddr, width: 4)
        if pte & 1 == 0 { throw pageFault(lin, present: false, write: write, user: user) }
        // U/S and R/W of both levels must allow the access (SDM 4.6).
        try checkPagePermission(lin, pde & pte, write: write, user: user)
        if pde & 0x20 == 0 { memory.write(pdeAddr, width: 4, value: pde | 0x20) }
        var newPTE = pte | 0x20
        if write { newPTE |= 0x40 }
        if newPTE != pte { memory.write(pteAddr, width: 4, value: newPTE) }
        let phys = (pte & 0xFFFF_F000) | (lin & 0xFFF)
        return Translation(physical: phys & a20Mask, global: pte & 0x100 != 0 && cr4 & CR4.pge != 0)
    }

    @inline(__always) func checkPagePermission(_ lin: UInt32, _ bits: UInt32, write: Bool, user: Bool) throws(CPUFault) {
        if user && bits & 4 == 0 { throw pageFault(lin, present: true, write: write, user: user) }
        if write && bits & 2 == 0 && (user || cr0 & CR0.wp != 0) {
            throw pageFault(lin, present: true, write: write, user: user)
        }
    }

    func pageFault(_ lin: UInt32, present: Bool, write: Bool, user: Bool) -> CPUFault {
        cr2 = lin
        var code: UInt32 = 0
        if present { code |= 1 }
        if write { code |= 2 }
        if user { code |= 4 }
        return CPUFault(.pageFault, code)
    }

    /// Translates and, when the page is plain memory, installs a TLB entry.
    /// `kind` is 0 or `tlbWrite`, plus `tlbUser` for user-privilege accesses.
    /// Returns the physical address.
    func tlbFill(_ lin: UInt32, kind: Int) throws(CPUFault) -> UInt32 {
        let write = kind & CPU.tlbWrite != 0
        let user = kind & CPU.tlbUser != 0
        let t = try translate(lin, write: write, user: user)
        let page = t.physical >> 12
        if dataBreakpointsActive && pageHasDataBreakpoint(lin) { return t.physical }
        if alignmentCheckActive && user { return t.physical }
        switch memory.kind(ofPage: page) {
        case .ram:
            if write {
                memory.markDirty(page: page)
                // A page holding decoded code is written through the slow
                // path, which drops the instructions the write overlaps.
                if decodeCache.hasCode(page: page) { return t.physical }
            }
        case .rom:
            if write { return t.physical }
        default:
            return t.physical
        }
        let i = kind + tlbIndex(lin)
        tlbTag[i] = lin & 0xFFFF_F000
        tlbHost[i] = UnsafeMutableRawPointer(memory.hostPage(page)!)
        tlbGlobal[i] = t.global
        tlbPhysPage[i] = page
        return t.physical
    }

    /// Drops the write entries that point at physical `page` (it now holds
    /// decoded code, so its writes must reach `PhysicalMemory.noteWrite`).
    func revokeWriteMappings(page: UInt32) {
        for base in [CPU.tlbWrite, CPU.tlbUser + CPU.tlbWrite] {
            for i in base..<(base + CPU.tlbEntries) where tlbPhysPage[i] == page && tlbTag[i] != CPU.tlbInvalid {
                tlbTag[i] = CPU.tlbInvalid
            }
        }
    }
}
