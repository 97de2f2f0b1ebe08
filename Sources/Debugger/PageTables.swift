import X86

/// Reads the guest's 32-bit page tables (4 KiB pages and 4 MiB PSE pages)
/// without side effects: no accessed/dirty bits, no CR2, no TLB.
public struct PageTables {
    public let cpu: CPU

    public init(cpu: CPU) { self.cpu = cpu }

    private func phys32(_ a: UInt32) -> UInt32 { cpu.memory.read(a, width: 4) }

    var directoryBase: UInt32 { cpu.cr3 & 0xFFFF_F000 }
    var pse: Bool { cpu.cr4 & (1 << 4) != 0 }

    /// The walk for one linear address, a line per level.
    public func walk(_ linear: UInt32) -> String {
        guard cpu.executionMode.paging else {
            return "paging is off: linear \(hex32(linear)) is physical \(hex32(linear & (cpu.a20Enabled ? 0xFFFF_FFFF : 0xFFEF_FFFF)))\n"
        }
        var out = "linear \(hex32(linear)): directory index \(linear >> 22), table index \((linear >> 12) & 0x3FF), offset \(hex(linear & 0xFFF))\n"
        let pdeAddr = directoryBase | ((linear >> 20) & 0xFFC)
        let pde = phys32(pdeAddr)
        out += "  PDE at \(hex32(pdeAddr)) = \(hex32(pde)) \(flags(pde, large: pde & 0x80 != 0 && pse))\n"
        guard pde & 1 != 0 else { return out + "  not present: a access faults (#PF)\n" }
        if pde & 0x80 != 0 && pse {
            let p = (pde & 0xFFC0_0000) | (linear & 0x003F_FFFF)
            return out + "  4 MiB page \(hex32(pde & 0xFFC0_0000)) -> physical \(hex32(p))\n"
        }
        let pteAddr = (pde & 0xFFFF_F000) | ((linear >> 10) & 0xFFC)
        let pte = phys32(pteAddr)
        out += "  PTE at \(hex32(pteAddr)) = \(hex32(pte)) \(flags(pte, large: false))\n"
        guard pte & 1 != 0 else { return out + "  not present: an access faults (#PF)\n" }
        return out + "  page \(hex32(pte & 0xFFFF_F000)) -> physical \(hex32((pte & 0xFFFF_F000) | (linear & 0xFFF)))\n"
    }

    /// Every present directory entry: what each 4 MiB of linear space is.
    public func directory() -> String {
        guard cpu.executionMode.paging else { return "paging is off\n" }
        var out = "page directory at \(hex32(directoryBase)) (CR3 \(hex32(cpu.cr3)))\n"
        var present = 0
        for i in 0..<1024 {
            let pde = phys32(directoryBase + UInt32(i) * 4)
            guard pde & 1 != 0 else { continue }
            present += 1
            let lin = UInt32(i) << 22
            let large = pde & 0x80 != 0 && pse
            let what = large ? "4 MiB page \(hex32(pde & 0xFFC0_0000))" : "table \(hex32(pde & 0xFFFF_F000)) (\(presentEntries(pde & 0xFFFF_F000)) present)"
            out += "  [\(pad(i, 4))] \(hex32(lin))-\(hex32(lin | 0x003F_FFFF)) \(what) \(flags(pde, large: large))\n"
        }
        return out + "  \(present) of 1024 entries present\n"
    }

    private func presentEntries(_ table: UInt32) -> Int {
        (0..<1024).filter { phys32(table + UInt32($0) * 4) & 1 != 0 }.count
    }

    /// Linear addresses whose current translation is one of `physical`.
    public func linearAliases(of physical: Set<UInt32>) -> Set<UInt32> {
        guard cpu.executionMode.paging else {
            var out = Set<UInt32>()
            for p in physical {
                out.insert(p)
                // With A20 off, the alias one megabyte up wraps to the same byte.
                if !cpu.a20Enabled && p < 0x10_0000 { out.insert(p | 0x10_0000) }
            }
            return out
        }
        let pages = Set(physical.map { $0 & 0xFFFF_F000 })
        var out = Set<UInt32>()
        for i in 0..<1024 {
            let pde = phys32(directoryBase + UInt32(i) * 4)
            guard pde & 1 != 0 else { continue }
            if pde & 0x80 != 0 && pse {
                let frame = pde & 0xFFC0_0000
                for p in physical where p & 0xFFC0_0000 == frame { out.insert((UInt32(i) << 22) | (p & 0x003F_FFFF)) }
                continue
            }
            let table = pde & 0xFFFF_F000
            for j in 0..<1024 {
                let pte = phys32(table + UInt32(j) * 4)
                guard pte & 1 != 0, pages.contains(pte & 0xFFFF_F000) else { continue }
                for p in physical where p & 0xFFFF_F000 == pte & 0xFFFF_F000 {
                    out.insert((UInt32(i) << 22) | (UInt32(j) << 12) | (p & 0xFFF))
                }
            }
        }
        return out
    }

    private func flags(_ e: UInt32, large: Bool) -> String {
        var f: [String] = []
        f.append(e & 1 != 0 ? "P" : "-")
        f.append(e & 2 != 0 ? "W" : "R")
        f.append(e & 4 != 0 ? "U" : "S")
        if e & 0x8 != 0 { f.append("PWT") }
        if e & 0x10 != 0 { f.append("PCD") }
        if e & 0x20 != 0 { f.append("A") }
        if e & 0x40 != 0 { f.append("D") }
        if large { f.append("PS") }
        if e & 0x100 != 0 { f.append("G") }
        return f.joined(separator: " ")
    }
}

func pad(_ v: Int, _ width: Int) -> String {
    let s = String(v)
    return s.count >= width ? s : String(repeating: " ", count: width - s.count) + s
}
