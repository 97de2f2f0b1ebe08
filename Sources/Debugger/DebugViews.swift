import X86

/// The text views of `capsule debug` (and the TUI's panes): registers with
/// what changed since the last stop, memory, the stack and the descriptor
/// tables. All pure functions of the CPU state, so scripted sessions
/// print the same text every time.
public struct RegisterSnapshot: Equatable {
    public var values: [(String, UInt32)]

    public static func == (a: RegisterSnapshot, b: RegisterSnapshot) -> Bool {
        a.values.elementsEqual(b.values) { $0.0 == $1.0 && $0.1 == $1.1 }
    }

    public init(_ cpu: CPU) {
        let names = ["eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi"]
        var v: [(String, UInt32)] = names.enumerated().map { ($0.element, cpu.gpr($0.offset)) }
        v.append(("eip", cpu.eip))
        v.append(("eflags", cpu.eflags))
        for (i, n) in ["es", "cs", "ss", "ds", "fs", "gs"].enumerated() { v.append((n, UInt32(cpu.segment(i).selector))) }
        v += [("cr0", cpu.cr0), ("cr2", cpu.cr2), ("cr3", cpu.cr3), ("cr4", cpu.cr4)]
        values = v
    }

    public func value(_ name: String) -> UInt32? { values.first { $0.0 == name }?.1 }
}

public enum DebugViews {
    /// Register names in the order `registers` prints them, a row each.
    static let rows: [[String]] = [
        ["eax", "ebx", "ecx", "edx"],
        ["esi", "edi", "ebp", "esp"],
        ["eip", "eflags"],
        ["cs", "ds", "es", "fs", "gs", "ss"],
        ["cr0", "cr2", "cr3", "cr4"],
    ]

    /// Registers; a `*` follows every value that differs from `previous`.
    /// `mark` wraps changed values instead (the TUI's highlight).
    public static func registers(_ cpu: CPU, previous: RegisterSnapshot?, mark: (String) -> String = { $0 + "*" }) -> String {
        let now = RegisterSnapshot(cpu)
        var out = ""
        for row in rows {
            var cells: [String] = []
            for name in row {
                let v = now.value(name)!
                let digits = ["cs", "ds", "es", "fs", "gs", "ss"].contains(name) ? 4 : 8
                let text = name + "=" + hexPad(v, digits)
                let changed = previous.map { $0.value(name) != v } ?? false
                cells.append(changed ? mark(text) : text + " ")
            }
            out += cells.joined(separator: " ") + "\n"
        }
        out += "flags [\(flagNames(cpu.eflags))] mode \(cpu.executionMode) cpl \(cpu.cpl) icount \(cpu.instructionCount)\n"
        return out
    }

    static func flagNames(_ f: UInt32) -> String {
        let names: [(UInt32, String)] = [(1 << 11, "OF"), (1 << 10, "DF"), (1 << 9, "IF"), (1 << 8, "TF"), (1 << 7, "SF"),
                                         (1 << 6, "ZF"), (1 << 4, "AF"), (1 << 2, "PF"), (1, "CF"), (1 << 17, "VM"), (1 << 16, "RF")]
        return names.filter { f & $0.0 != 0 }.map(\.1).joined(separator: " ") + " IOPL=\((f >> 12) & 3)"
    }

    /// `x/Nu`-style dump: `count` units of `unit` bytes (1, 2, 4) from a
    /// linear address (through paging) or a physical one.
    public static func memory(_ cpu: CPU, address: UInt32, count: Int, unit: Int, physical: Bool) -> String {
        let perLine = unit == 1 ? 16 : unit == 2 ? 8 : 4
        var out = ""
        var i = 0
        while i < count {
            let lineAddr = address &+ UInt32(i * unit)
            var cells: [String] = []
            var ascii = ""
            for k in 0..<min(perLine, count - i) {
                let a = lineAddr &+ UInt32(k * unit)
                guard let bytes = read(cpu, a, unit, physical: physical) else {
                    cells.append(String(repeating: "?", count: unit * 2))
                    continue
                }
                let v = bytes.enumerated().reduce(UInt32(0)) { $0 | UInt32($1.element) << (8 * UInt32($1.offset)) }
                cells.append(hexPad(v, unit * 2))
                if unit == 1 { ascii.append(bytes[0] >= 0x20 && bytes[0] < 0x7F ? Character(UnicodeScalar(bytes[0])) : ".") }
            }
            out += hexPad(lineAddr, 8) + ": " + cells.joined(separator: " ") + (unit == 1 ? "  " + ascii : "") + "\n"
            i += perLine
        }
        return out
    }

    static func read(_ cpu: CPU, _ a: UInt32, _ n: Int, physical: Bool) -> [UInt8]? {
        if !physical { return cpu.debugRead(linear: a, count: n) }
        return (0..<n).map { cpu.memory.read8(a &+ UInt32($0)) }
    }

    /// The top `count` stack slots at SS:ESP (SP in 16-bit stacks).
    public static func stack(_ cpu: CPU, count: Int) -> String {
        let big = cpu.stackIs32
        let size: UInt32 = big ? 4 : 2
        let sp = big ? cpu.gpr(4) : cpu.gpr(4) & 0xFFFF
        let ss = cpu.segment(2)
        var out = "stack at \(hexPad(ss.selector, 4)):\(hexPad(sp, big ? 8 : 4)) (linear \(hex32(ss.base &+ sp)))\n"
        for k in 0..<count {
            let off = big ? sp &+ UInt32(k) * size : (sp &+ UInt32(k) * size) & 0xFFFF
            let text: String
            if let b = cpu.debugRead(linear: ss.base &+ off, count: Int(size)) {
                let v = b.enumerated().reduce(UInt32(0)) { $0 | UInt32($1.element) << (8 * UInt32($1.offset)) }
                text = hexPad(v, Int(size) * 2)
            } else {
                text = "(unmapped)"
            }
            out += "  +\(hexPad(UInt32(k) * size, 2)) \(hexPad(off, big ? 8 : 4)): \(text)\n"
        }
        return out
    }

    // MARK: Descriptor tables

    /// One 8-byte descriptor, decoded.
    public static func describeDescriptor(low: UInt32, high: UInt32, inIDT: Bool = false) -> String {
        let present = high & (1 << 15) != 0
        let dpl = (high >> 13) & 3
        let s = high & (1 << 12) != 0
        let type = (high >> 8) & 0xF
        if !present && low == 0 && high == 0 { return "null" }
        if !s {
            let names: [UInt32: String] = [1: "16-bit TSS (available)", 2: "LDT", 3: "16-bit TSS (busy)", 4: "16-bit call gate",
                                           5: "task gate", 6: "16-bit interrupt gate", 7: "16-bit trap gate",
                                           9: "32-bit TSS (available)", 11: "32-bit TSS (busy)", 12: "32-bit call gate",
                                           14: "32-bit interrupt gate", 15: "32-bit trap gate"]
            let name = names[type] ?? "reserved system type \(type)"
            if [4, 5, 6, 7, 12, 14, 15].contains(type) {
                let sel = UInt16(low >> 16)
                let off = (high & 0xFFFF_0000) | (low & 0xFFFF)
                let target = type == 5 ? "TSS selector \(hexPad(sel, 4))" : "\(hexPad(sel, 4)):\(hexPad(off, 8))"
                return "\(name) -> \(target) dpl \(dpl)\(present ? "" : " not present")"
            }
            return "\(name) " + baseLimit(low, high) + " dpl \(dpl)\(present ? "" : " not present")"
        }
        let code = type & 8 != 0
        var attrs: [String] = []
        if code {
            attrs.append("code")
            if type & 2 != 0 { attrs.append("readable") }
            if type & 4 != 0 { attrs.append("conforming") }
        } else {
            attrs.append("data")
            attrs.append(type & 2 != 0 ? "writable" : "read-only")
            if type & 4 != 0 { attrs.append("expand-down") }
        }
        if type & 1 != 0 { attrs.append("accessed") }
        attrs.append(high & (1 << 22) != 0 ? "32-bit" : "16-bit")
        return attrs.joined(separator: " ") + " " + baseLimit(low, high) + " dpl \(dpl)\(present ? "" : " not present")"
    }

    static func baseLimit(_ low: UInt32, _ high: UInt32) -> String {
        let base = (low >> 16) | ((high & 0xFF) << 16) | (high & 0xFF00_0000)
        var limit = (low & 0xFFFF) | (high & 0x000F_0000)
        if high & (1 << 23) != 0 { limit = (limit << 12) | 0xFFF }
        return "base \(hex32(base)) limit \(hex32(limit))"
    }

    /// A descriptor table at a linear base (GDT, LDT) or the IDT.
    public static func table(_ cpu: CPU, name: String, base: UInt32, limit: UInt32, maxEntries: Int = 64, idt: Bool = false) -> String {
        if idt && !cpu.executionMode.protected {
            // Real mode: the IVT, four bytes a vector.
            var out = "IVT at \(hex32(base)) limit \(hex(limit))\n"
            let n = min(maxEntries, Int(limit + 1) / 4)
            for v in 0..<n {
                guard let b = cpu.debugRead(linear: base &+ UInt32(v * 4), count: 4) else { break }
                out += "  [\(hexPad(UInt32(v), 2))] \(hexPad(UInt16(b[2]) | UInt16(b[3]) << 8, 4)):\(hexPad(UInt16(b[0]) | UInt16(b[1]) << 8, 4))\n"
            }
            return out
        }
        var out = "\(name) at \(hex32(base)) limit \(hex(limit))\n"
        let n = min(maxEntries, Int(limit + 1) / 8)
        for i in 0..<n {
            guard let b = cpu.debugRead(linear: base &+ UInt32(i * 8), count: 8) else {
                out += "  [\(hexPad(UInt32(i), 2))] (unmapped)\n"
                continue
            }
            let low = UInt32(b[0]) | UInt32(b[1]) << 8 | UInt32(b[2]) << 16 | UInt32(b[3]) << 24
            let high = UInt32(b[4]) | UInt32(b[5]) << 8 | UInt32(b[6]) << 16 | UInt32(b[7]) << 24
            let label = idt ? "vector \(hexPad(UInt32(i), 2))" : "selector \(hexPad(UInt32(i * 8), 4))"
            out += "  [\(label)] \(hexPad(high, 8))\(hexPad(low, 8)) \(describeDescriptor(low: low, high: high, inIDT: idt))\n"
        }
        return out
    }

    /// Segment registers with their hidden descriptor caches.
    public static func segments(_ cpu: CPU) -> String {
        var out = ""
        for (i, n) in ["es", "cs", "ss", "ds", "fs", "gs", "ldtr", "tr"].enumerated() {
            let s = cpu.segment(i)
            out += "\(n.padding(4)) \(hexPad(s.selector, 4)) base \(hex32(s.base)) limit \(hex32(s.limit)) attributes \(hexPad(s.attributes.raw, 4))\n"
        }
        return out
    }
}

extension String {
    func padding(_ width: Int) -> String { count >= width ? self : self + String(repeating: " ", count: width - count) }
}
