import X86

/// Random instructions drawn from the opcodes the CPU implements, for the
/// comparison with objdump: prefix mixes (66, 67, segment overrides, LOCK
/// on lockable forms, REP on string instructions), every ModRM/SIB shape
/// and displacement/immediate bytes biased toward the edges (0, -1, 0x7F,
/// 0x80, small values).
public struct InstructionGenerator {
    public let bits32: Bool
    var state: UInt64
    let decoder = InstructionDecoder()
    let table = InstructionTable.shared
    /// Opcodes (0x000–0x1FF) with at least one defined form.
    let opcodes: [Int]
    /// For each defined instruction form, the opcode/ModRM pairs that
    /// select it (ModRM 0xFFFF_FFFF: none), so that half the draws pick a
    /// form uniformly: single-ModRM x87 forms appear as often as ADD.
    let encodings: [[UInt32]]
    /// FWAIT is an instruction to the CPU, but objdump folds it into a
    /// following x87 instruction (FSTCW = FWAIT FNSTCW): after an FWAIT the
    /// next instruction starts with neither a prefix nor an x87 escape.
    var previousWasWait = false

    public init(seed: UInt64, bits32: Bool) {
        self.bits32 = bits32
        state = seed ^ 0x9E37_79B9_7F4A_7C15
        let t = InstructionTable.shared
        opcodes = (0..<0x200).filter { op in
            if op == 0x0F || t.isPrefix(op) { return false }
            return (0..<256).contains { t.forms[t.formIndex(opcode: op, modrm: UInt8($0))].isValid }
        }
        var byForm = [[UInt32]](repeating: [], count: t.forms.count)
        let probe = InstructionDecoder(table: t)
        for op in opcodes {
            let opBytes: [UInt8] = op >= 0x100 ? [0x0F, UInt8(op & 0xFF)] : [UInt8(op)]
            let hasModRM = probe.decode(opBytes + [UInt8](repeating: 0, count: 14), code32: true).1.hasModRM
            if !hasModRM {
                byForm[t.formIndex(opcode: op, modrm: 0)].append(UInt32(op) << 16 | 0xFFFF)
                continue
            }
            for m in 0..<256 {
                let f = t.formIndex(opcode: op, modrm: UInt8(m))
                let form = t.forms[f]
                if form.isValid && !(form.flags.contains(.memoryOnly) && m >= 0xC0) { byForm[f].append(UInt32(op) << 16 | UInt32(m)) }
            }
        }
        encodings = byForm.filter { !$0.isEmpty }
    }

    /// Distinct instruction forms the generator can produce.
    public var formCount: Int { encodings.count }

    /// SplitMix64: small, fast, and the same sequence on every platform.
    mutating func random() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func below(_ n: Int) -> Int { Int(random() % UInt64(n)) }

    mutating func edgeByte() -> UInt8 {
        switch below(20) {
        case 0..<9: return UInt8(truncatingIfNeeded: random())
        case 9..<12: return 0x00
        case 12..<14: return 0xFF
        case 14: return 0x80
        case 15: return 0x7F
        default: return UInt8(below(16))
        }
    }

    static let segments: [UInt8] = [0x26, 0x2E, 0x36, 0x3E, 0x64, 0x65]

    func isString(_ op: Int) -> Bool { (0x6C...0x6F).contains(op) || (0xA4...0xA7).contains(op) || (0xAA...0xAF).contains(op) }

    /// One defined instruction's bytes.
    public mutating func next() -> [UInt8] {
        while true {
            var op = opcodes[below(opcodes.count)]
            var modrm: UInt8? = nil
            if below(2) == 0 {
                let list = encodings[below(encodings.count)]
                let e = list[below(list.count)]
                op = Int(e >> 16)
                if e & 0xFFFF != 0xFFFF { modrm = UInt8(e & 0xFF) }
            }
            var prefixes: [UInt8] = []
            if below(100) < 45 {
                for _ in 0..<(1 + below(3)) {
                    switch below(100) {
                    case 0..<28: prefixes.append(0x66)
                    case 28..<50: prefixes.append(0x67)
                    case 50..<80: prefixes.append(InstructionGenerator.segments[below(6)])
                    case 80..<90: prefixes.append(0xF0)
                    default:
                        if isString(op) || op == 0x90 { prefixes.append(below(2) == 0 ? 0xF2 : 0xF3) }
                    }
                }
            }
            // LOCK with REP is a TSX hint to objdump (xacquire/xrelease), and
            // REP on anything but a string instruction means other
            // instructions on later CPUs (PAUSE excepted): not i686 code.
            if prefixes.contains(0xF0) && prefixes.contains(where: { $0 == 0xF2 || $0 == 0xF3 }) { continue }
            // One of each kind: repeated prefixes of a kind are legal but
            // objdump names the extra ones inconsistently.
            if Set(prefixes).count != prefixes.count { continue }
            if prefixes.filter({ InstructionGenerator.segments.contains($0) }).count > 1 { continue }
            if prefixes.contains(0xF2) && prefixes.contains(0xF3) { continue }
            var bytes = prefixes + (op >= 0x100 ? [0x0F, UInt8(op & 0xFF)] : [UInt8(op)])
            for _ in 0..<14 { bytes.append(edgeByte()) }
            if let m = modrm { bytes[prefixes.count + (op >= 0x100 ? 2 : 1)] = m }
            let (r, d) = decoder.decode(bytes, code32: bits32)
            guard r == .ok else { continue }
            if previousWasWait && (bytes[0] & 0xF8 == 0xD8 || d.prefixCount > 0) { continue }
            previousWasWait = d.opcode == 0x9B
            return Array(bytes[0..<Int(d.length)])
        }
    }
}
