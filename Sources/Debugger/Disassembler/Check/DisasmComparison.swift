import X86

/// The disassembler against GNU objdump on random instructions: same
/// length and the same text after normalization (docs/disassembler.md).
///
/// Instructions are concatenated into one file per objdump run. When a
/// length differs, objdump's next instruction no longer starts where ours
/// does; the comparison skips to the next instruction both agree starts
/// somewhere, and the skipped ones are tried again in a later batch, so
/// one mismatch costs one count, not a cascade.
public struct DisasmComparison {
    public struct Mismatch: CustomStringConvertible, Sendable {
        public let bytes: [UInt8]
        public let bits32: Bool
        public let syntax: Disassembler.Syntax
        public let ours: String
        public let oursLength: Int
        public let objdump: String
        public let objdumpLength: Int
        public var description: String {
            let b = bytes.map { String(format: "%02x", $0) }.joined(separator: " ")
            return "\(bits32 ? 32 : 16)-bit \(syntax == .intel ? "intel" : "att  ") \(b): ours [\(oursLength)] '\(ours)' objdump [\(objdumpLength)] '\(objdump)'"
        }
    }

    public struct Summary: Sendable {
        public var cases = 0
        public var mismatches = 0
        /// Forms the CPU executes but objdump calls (bad) (listed in the doc).
        public var deliberate = 0
        public var deliberateByReason: [String: Int] = [:]
        public var examples: [Mismatch] = []
        public var perConfiguration: [String: (cases: Int, mismatches: Int)] = [:]
        /// Distinct table forms compared, of the ones the generator can
        /// produce (every defined form except the prefixes).
        public var formsSeen: Set<UInt16> = []
        public var formsDefined = InstructionGenerator(seed: 0, bits32: true).formCount

        public init() {}

        public var report: String {
            var s = "cases: \(cases)  mismatches: \(mismatches)  deliberate differences: \(deliberate)  forms covered: \(formsSeen.count) of \(formsDefined)\n"
            for k in deliberateByReason.keys.sorted() { s += "  deliberate, \(k): \(deliberateByReason[k]!)\n" }
            for k in perConfiguration.keys.sorted() {
                let v = perConfiguration[k]!
                s += "  \(k): \(v.cases) cases, \(v.mismatches) mismatches\n"
            }
            for m in examples { s += "  \(m)\n" }
            return s
        }
    }

    /// Where the i686 the CPU implements and objdump (which decodes for
    /// every later x86) deliberately differ; nil when they should agree.
    public static func deliberateDifference(bytes: [UInt8], ours: String, objdump: String) -> String? {
        let theirs = mnemonic(of: objdump)
        if objdump.contains("(bad)") && objdumpUnnamed.contains(mnemonic(of: ours)) {
            return "SALC and x87 aliases objdump calls (bad)"
        }
        if mnemonic(of: ours).hasPrefix("nop") && ["bndldx", "bndstx", "bndmov", "bndcl", "bndcu", "bndcn", "bndmk", "cldemote"].contains(theirs) {
            return "0F 1A-1C hint NOPs objdump decodes as MPX/CLDEMOTE"
        }
        if objdump.hasPrefix("notrack ") || objdump.contains(" notrack ") {
            return "3E on an indirect CALL/JMP objdump shows as CET notrack"
        }
        if objdump.contains("(bad)") && bytes.contains(0x66) && bytes.count > 1 && ours.contains("wbinvd") {
            return "66 0F 09: objdump reserves it for a later prefixed opcode, i686 ignores 66"
        }
        if let (a, restA) = lastHex(ours), let (b, restB) = lastHex(objdump), a != b, a & 0xFFFF == b & 0xFFFF,
           restA == restB, mnemonic(of: ours).hasPrefix("j") || mnemonic(of: ours).hasPrefix("loop") {
            return "short branch with a 16-bit operand size: the CPU wraps IP at 64 KiB, objdump does not"
        }
        return nil
    }

    /// The value of the last `0x...` in a text, and the text before it.
    static func lastHex(_ s: String) -> (UInt64, String)? {
        let chars = Array(s.utf8)
        var i = chars.count - 2
        while i >= 0 && !(chars[i] == UInt8(ascii: "0") && chars[i + 1] == UInt8(ascii: "x")) { i -= 1 }
        guard i >= 0 else { return nil }
        let digits = chars[(i + 2)...].prefix { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains($0) }
        guard let v = UInt64(String(decoding: digits, as: UTF8.self), radix: 16) else { return nil }
        return (v, String(decoding: chars[0..<i], as: UTF8.self))
    }

    /// Forms the CPU implements that objdump does not name: SALC and the
    /// undocumented x87 aliases.
    public static let objdumpUnnamed: Set<String> = ["salc", "fstp1", "fcom2", "fcomp3", "fxch4", "fcomp5", "fxch7", "fstp8", "fstp9"]

    static let prefixNames: Set<Substring> = ["lock", "rep", "repz", "repnz", "data16", "data32", "addr16", "addr32",
                                              "es", "cs", "ss", "ds", "fs", "gs"]

    /// The mnemonic of a normalized text: its first word after prefix names.
    static func mnemonic(of text: String) -> String {
        String(text.split(separator: " ").first { !prefixNames.contains($0) } ?? "")
    }

    /// objdump's text with whitespace runs collapsed to one space.
    public static func normalize(_ s: String) -> String {
        s.split(whereSeparator: { $0 == " " || $0 == "\t" }).joined(separator: " ")
    }

    let runner: ObjdumpRunner
    public var keepExamples = 50

    public init(runner: ObjdumpRunner) {
        self.runner = runner
    }

    /// Compares `cases` random instructions, split evenly over the four
    /// configurations (16/32-bit code × Intel/AT&T syntax); each
    /// configuration draws from its own seeded generator.
    public func run(cases: Int, seed: UInt64, batchSize: Int = 25_000,
                    progress: ((Summary) -> Void)? = nil) throws -> Summary {
        var summary = Summary()
        let configurations: [(Bool, Disassembler.Syntax)] = [(true, .intel), (true, .att), (false, .intel), (false, .att)]
        for (k, (bits32, syntax)) in configurations.enumerated() {
            let share = cases / 4 + (k < cases % 4 ? 1 : 0)
            var generator = InstructionGenerator(seed: seed &+ UInt64(k) &* 0x1000_0000_01, bits32: bits32)
            var done = 0
            var retry: [[UInt8]] = []
            while done < share {
                var batch = retry
                retry = []
                while batch.count < min(batchSize, share - done) { batch.append(generator.next()) }
                let n = try compareBatch(batch, bits32: bits32, syntax: syntax, into: &summary, retry: &retry)
                done += n
                progress?(summary)
            }
        }
        return summary
    }

    /// Compares one batch; returns how many instructions were decided and
    /// leaves the ones skipped after a length mismatch in `retry`.
    public func compareBatch(_ batch: [[UInt8]], bits32: Bool, syntax: Disassembler.Syntax,
                 into summary: inout Summary, retry: inout [[UInt8]]) throws -> Int {
        var code: [UInt8] = []
        var offsets: [Int] = []
        for b in batch { offsets.append(code.count); code += b }
        let theirs = try runner.disassemble(code, bits32: bits32, intel: syntax == .intel)
        let dis = Disassembler(syntax: syntax)
        let decoder = InstructionDecoder()
        let key = "\(bits32 ? 32 : 16)-bit \(syntax == .intel ? "intel" : "att")"
        var decided = 0
        var j = 0
        for (i, bytes) in batch.enumerated() {
            let at = offsets[i]
            while j < theirs.count && theirs[j].offset < at { j += 1 }
            guard j < theirs.count, theirs[j].offset == at else {
                // objdump is out of step after a mismatch: try again later.
                retry.append(bytes)
                continue
            }
            let ours = dis.disassemble(bytes: bytes, address: UInt32(truncatingIfNeeded: at), bits32: bits32)
            summary.formsSeen.insert(decoder.decode(bytes, code32: bits32).1.form)
            let their = theirs[j]
            let theirText = DisasmComparison.normalize(their.text)
            let ourText = DisasmComparison.normalize(ours.text)
            decided += 1
            summary.cases += 1
            summary.perConfiguration[key, default: (0, 0)].cases += 1
            if let reason = DisasmComparison.deliberateDifference(bytes: bytes, ours: ourText, objdump: theirText) {
                summary.deliberate += 1
                summary.deliberateByReason[reason, default: 0] += 1
                continue
            }
            if their.length != ours.length || theirText != ourText {
                summary.mismatches += 1
                summary.perConfiguration[key, default: (0, 0)].mismatches += 1
                if summary.examples.count < keepExamples {
                    summary.examples.append(Mismatch(bytes: bytes, bits32: bits32, syntax: syntax, ours: ourText,
                                                     oursLength: ours.length, objdump: theirText, objdumpLength: their.length))
                }
            }
        }
        return decided
    }
}
