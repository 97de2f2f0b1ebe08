import X86

/// What `capsule debug` shows of an instruction: its text (the
/// disassembler) and, for teaching, the fields the decoder split it into.
/// Both come from the CPU's own `InstructionDecoder` and table, so the
/// views show exactly what the CPU executes; nothing here knows opcodes.
public enum InstructionText {
    static let decoder = InstructionDecoder()

    /// Up to 15 bytes at a linear address (fewer where the mapping ends).
    static func bytes(_ cpu: CPU, _ linear: UInt32) -> [UInt8] {
        var out: [UInt8] = []
        for i in 0..<15 {
            guard let b = cpu.debugRead(linear: linear &+ UInt32(i), count: 1) else { break }
            out.append(b[0])
        }
        return out
    }

    /// "b8 01 00 00 00        mov eax,0x1" for the instruction at `linear`,
    /// decoded with the current code size.
    public static func disassemble(_ cpu: CPU, _ linear: UInt32, syntax: Disassembler.Syntax = .intel) -> (text: String, length: Int)? {
        let b = bytes(cpu, linear)
        guard !b.isEmpty else { return nil }
        let eip = linear &- cpu.segment(1).base
        let r = Disassembler(syntax: syntax).disassemble(bytes: b, address: eip, bits32: cpu.codeIs32)
        guard r.length > 0 else { return nil }
        let hexBytes = b.prefix(r.length).map { hexPad($0, 2) }.joined(separator: " ")
        return (hexBytes.padding(24) + " " + r.text, r.length)
    }

    /// The decoded fields of the instruction at `linear`, one per line.
    public static func fields(_ cpu: CPU, _ linear: UInt32) -> String? {
        let b = bytes(cpu, linear)
        guard !b.isEmpty else { return nil }
        let code32 = cpu.codeIs32
        let (result, d) = decoder.decode(b, code32: code32)
        var out = "instruction at linear \(hex32(linear)), \(code32 ? 32 : 16)-bit code\n"
        switch result {
        case .ok: break
        case .invalidOpcode: out += "  (invalid opcode: the CPU raises #UD)\n"
        case .tooLong: return out + "  (longer than 15 bytes: the CPU raises #GP)\n"
        case .needBytes: return out + "  (the mapped bytes end inside the instruction)\n"
        }
        let length = Int(d.length)
        let raw = Array(b.prefix(length))
        out += "  bytes        \(raw.map { hexPad($0, 2) }.joined(separator: " ")) (\(length) byte\(length == 1 ? "" : "s"))\n"
        if let text = disassemble(cpu, linear)?.text { out += "  text         \(text.split(separator: " ", omittingEmptySubsequences: true).dropFirst(length).joined(separator: " "))\n" }
        let prefixes = raw.prefix(Int(d.prefixCount)).map { "\(hexPad($0, 2)) (\(prefixName($0)))" }
        out += "  prefixes     \(prefixes.isEmpty ? "none" : prefixes.joined(separator: ", "))\n"
        let opBytes = d.isTwoByte ? "0f \(hexPad(d.opcode & 0xFF, 2))" : hexPad(d.opcode, 2)
        out += "  opcode       \(opBytes) (\(d.isTwoByte ? "two-byte map, 0F escape" : "one-byte map"))\n"
        if d.hasModRM {
            let regNote = d.mod == 3 ? "r/m is a register" : "r/m is memory"
            out += "  ModRM        \(hexPad(d.modrm, 2)) = mod \(d.mod) (\(binary(d.mod, 2))) reg \(d.reg) (\(binary(d.reg, 3))) rm \(d.rm) (\(binary(d.rm, 3))): \(regNote)\n"
        } else {
            out += "  ModRM        none\n"
        }
        if d.hasSIB {
            let scale = 1 << (d.sib >> 6), index = (d.sib >> 3) & 7, base = d.sib & 7
            let names = ["eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi"]
            let indexText = index == 4 ? "none" : names[Int(index)]
            let baseText = base == 5 && d.mod == 0 ? "none (disp32)" : names[Int(base)]
            out += "  SIB          \(hexPad(d.sib, 2)) = scale \(scale) index \(indexText) base \(baseText)\n"
        } else {
            out += "  SIB          none\n"
        }
        out += d.dispSize == 0 ? "  displacement none\n" : "  displacement \(d.dispSize) byte\(d.dispSize == 1 ? "" : "s"): \(hex32(d.disp))\n"
        if d.immSize == 0 {
            out += "  immediate    none\n"
        } else {
            out += "  immediate    \(d.immSize) byte\(d.immSize == 1 ? "" : "s"): \(hex(d.imm))"
            out += d.imm2Size == 0 ? "\n" : ", then \(d.imm2Size) byte\(d.imm2Size == 1 ? "" : "s"): \(hex(d.imm2))\n"
        }
        out += "  sizes        operand \(d.opsize32 ? 32 : 16)-bit, address \(d.addrsize32 ? 32 : 16)-bit\n"
        return out
    }

    static func prefixName(_ b: UInt8) -> String {
        switch b {
        case 0x66: return "operand size"
        case 0x67: return "address size"
        case 0xF0: return "lock"
        case 0xF2: return "repne"
        case 0xF3: return "rep/repe"
        case 0x26: return "es override"
        case 0x2E: return "cs override"
        case 0x36: return "ss override"
        case 0x3E: return "ds override"
        case 0x64: return "fs override"
        case 0x65: return "gs override"
        default: return "prefix"
        }
    }

    static func binary(_ v: UInt8, _ width: Int) -> String {
        let s = String(v, radix: 2)
        return String(repeating: "0", count: max(0, width - s.count)) + s
    }

    /// Installs both views in a command set.
    public static func attach(to commands: DebugCommands) {
        commands.disassemble = { cpu, a in disassemble(cpu, a) }
        commands.decodeFields = { cpu, a in fields(cpu, a) }
    }
}
