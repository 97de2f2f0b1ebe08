import X86

/// gdb's `monitor …` commands (the `qRcmd` packet): machine-level views gdb
/// has no command for.
enum GDBMonitor {
    static let help = """
    Capsule monitor commands:
      info registers        segment descriptors, CR0-CR4, DR0-DR7, GDTR/IDTR/LDTR/TR
      phys ADDR [LEN]       hex dump of physical memory (LEN default 64, max 65536)
      lin ADDR [LEN]        hex dump of linear memory through the guest's page tables
      translate ADDR        linear -> physical address through the guest's page tables
      icount                instructions retired since reset
      help                  this text

    """

    /// The output of `line`; nil for an unknown command.
    static func run(_ line: String, cpu: CPU) -> String? {
        let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        guard let first = words.first else { return help }
        switch first {
        case "help", "?":
            return help
        case "info" where words.count >= 2 && "registers".hasPrefix(words[1]) && words[1].count >= 3,
             "regs", "registers":
            return registers(cpu)
        case "phys", "lin":
            guard words.count >= 2, let addr = number(words[1]) else {
                return "usage: \(first) ADDR [LEN]\n"
            }
            let len = words.count >= 3 ? number(words[2]) : 64
            guard let len, len > 0, len <= 65536 else { return "bad length (1...65536)\n" }
            let bytes: [UInt8?]
            if first == "phys" {
                bytes = physical(cpu, UInt32(truncatingIfNeeded: addr), Int(len))
            } else {
                bytes = (0..<Int(len)).map { cpu.debugRead(linear: UInt32(truncatingIfNeeded: addr) &+ UInt32($0), count: 1)?.first }
            }
            return dump(UInt32(truncatingIfNeeded: addr), bytes)
        case "translate":
            guard words.count >= 2, let addr = number(words[1]) else { return "usage: translate ADDR\n" }
            let lin = UInt32(truncatingIfNeeded: addr)
            if let p = cpu.debugTranslate(lin) { return "linear \(hex8(lin)) -> physical \(hex8(p))\n" }
            return "linear \(hex8(lin)) is not mapped\n"
        case "icount":
            return "\(cpu.instructionCount) instructions retired\n"
        default:
            return nil
        }
    }

    /// Physical bytes without device side effects. With paging off a linear
    /// address is the physical one; with paging on only RAM is shown (the
    /// board's ROM and MMIO windows read as unavailable).
    static func physical(_ cpu: CPU, _ addr: UInt32, _ count: Int) -> [UInt8?] {
        let paging = cpu.cr0 & 0x8000_0001 == 0x8000_0001
        return (0..<count).map { i -> UInt8? in
            let a = addr &+ UInt32(i)
            if !paging { return cpu.debugRead(linear: a, count: 1)?.first }
            return Int(a) < cpu.memory.ramSize ? cpu.memory.ram[Int(a)] : nil
        }
    }

    static func dump(_ base: UInt32, _ bytes: [UInt8?]) -> String {
        var out = ""
        var i = 0
        while i < bytes.count {
            let row = bytes[i..<min(i + 16, bytes.count)]
            out += hex8(base &+ UInt32(i)) + ":"
            for b in row { out += " " + (b.map { hex2($0) } ?? "??") }
            out += String(repeating: "   ", count: 16 - row.count) + "  "
            for b in row {
                if let b, b >= 0x20, b < 0x7F { out.append(Character(Unicode.Scalar(b))) } else { out += "." }
            }
            out += "\n"
            i += 16
        }
        return out
    }

    static func registers(_ cpu: CPU) -> String {
        var out = ""
        let g = (0..<8).map { cpu.gpr($0) }
        out += "EAX=\(hex8(g[0])) EBX=\(hex8(g[3])) ECX=\(hex8(g[1])) EDX=\(hex8(g[2]))\n"
        out += "ESI=\(hex8(g[6])) EDI=\(hex8(g[7])) EBP=\(hex8(g[5])) ESP=\(hex8(g[4]))\n"
        out += "EIP=\(hex8(cpu.eip)) EFL=\(hex8(cpu.eflags)) [\(flagString(cpu.eflags))] CPL=\(cpu.cpl) \(mode(cpu))\n"
        for (name, i) in [("ES", 0), ("CS", 1), ("SS", 2), ("DS", 3), ("FS", 4), ("GS", 5), ("LDT", 6), ("TR", 7)] {
            let s = cpu.segment(i)
            out += name + String(repeating: " ", count: 3 - name.count)
            out += "=\(hex4(s.selector)) base=\(hex8(s.base)) limit=\(hex8(s.limit)) attr=\(hex4(s.attributes.raw)) \(describe(s.attributes.raw))\n"
        }
        out += "GDT=     base=\(hex8(cpu.gdtrBase)) limit=\(hex8(cpu.gdtrLimit))\n"
        out += "IDT=     base=\(hex8(cpu.idtrBase)) limit=\(hex8(cpu.idtrLimit))\n"
        out += "CR0=\(hex8(cpu.cr0)) CR2=\(hex8(cpu.cr2)) CR3=\(hex8(cpu.cr3)) CR4=\(hex8(cpu.cr4))\n"
        out += "DR0=\(hex8(cpu.dr[0])) DR1=\(hex8(cpu.dr[1])) DR2=\(hex8(cpu.dr[2])) DR3=\(hex8(cpu.dr[3]))\n"
        out += "DR6=\(hex8(cpu.dr[6])) DR7=\(hex8(cpu.dr[7]))\n"
        out += "halted=\(cpu.halted ? 1 : 0) instructions=\(cpu.instructionCount)\n"
        return out
    }

    static func mode(_ cpu: CPU) -> String {
        if cpu.cr0 & 1 == 0 { return "real mode" }
        if cpu.eflags & EFlags.vm != 0 { return "virtual-8086 mode" }
        let bits = cpu.segment(1).attributes.raw & 0x4000 != 0 ? "32-bit" : "16-bit"
        let paging = cpu.cr0 & 0x8000_0000 != 0 ? ", paging" : ""
        return "protected mode, \(bits) code\(paging)"
    }

    static func flagString(_ f: UInt32) -> String {
        let names: [(UInt32, String)] = [
            (EFlags.of, "OF"), (EFlags.df, "DF"), (EFlags.if, "IF"), (EFlags.tf, "TF"), (EFlags.sf, "SF"),
            (EFlags.zf, "ZF"), (EFlags.af, "AF"), (EFlags.pf, "PF"), (EFlags.cf, "CF"), (EFlags.vm, "VM"),
        ]
        return names.filter { f & $0.0 != 0 }.map(\.1).joined(separator: " ")
    }

    /// Access rights in words: present, DPL, kind, width.
    static func describe(_ raw: UInt16) -> String {
        if raw & 0x80 == 0 { return "(not present)" }
        let dpl = (raw >> 5) & 3
        let type = raw & 0xF
        var kind: String
        if raw & 0x10 == 0 {
            let names: [UInt16: String] = [
                1: "tss16-avail", 2: "ldt", 3: "tss16-busy", 9: "tss32-avail", 11: "tss32-busy",
            ]
            kind = names[type] ?? "system type \(type)"
        } else if type & 8 != 0 {
            kind = "code" + (type & 2 != 0 ? " r" : " x-only") + (type & 4 != 0 ? " conforming" : "")
        } else {
            kind = "data" + (type & 2 != 0 ? " rw" : " ro") + (type & 4 != 0 ? " expand-down" : "")
        }
        if raw & 0x10 != 0 { kind += raw & 0x4000 != 0 ? " 32-bit" : " 16-bit" }
        if raw & 0x8000 != 0 { kind += " 4K-gran" }
        return "(\(kind), dpl \(dpl))"
    }

    /// A number as gdb users write it: 0x-prefixed hex or decimal.
    static func number(_ s: String) -> UInt64? {
        if s.hasPrefix("0x") || s.hasPrefix("0X") { return UInt64(s.dropFirst(2), radix: 16) }
        return UInt64(s)
    }

    static func hex8(_ v: UInt32) -> String { pad(String(v, radix: 16), 8) }
    static func hex4(_ v: UInt16) -> String { pad(String(v, radix: 16), 4) }
    static func hex2(_ v: UInt8) -> String { pad(String(v, radix: 16), 2) }
    static func pad(_ s: String, _ n: Int) -> String { String(repeating: "0", count: max(0, n - s.count)) + s }
}
