import X86

/// Turns machine code into text, Intel syntax (the default) or AT&T, for
/// 16- and 32-bit code, following GNU objdump's conventions so that its
/// output can be compared with objdump's (docs/disassembler.md).
///
/// There is no opcode table here: the length and fields come from the
/// CPU's `InstructionDecoder` and the names and operands from the
/// `InstructionTable` it is built from, so the disassembler shows exactly
/// the instruction the CPU executes.
public struct Disassembler: Sendable {
    public enum Syntax: Sendable { case intel, att }

    public let syntax: Syntax
    let decoder = InstructionDecoder()

    public init(syntax: Syntax = .intel) {
        self.syntax = syntax
    }

    /// Disassembles the instruction at the start of `bytes`, which sits at
    /// `address` (for branch targets). Undefined or truncated bytes give
    /// `(bad)` with the length the CPU would see (at least 1).
    public func disassemble(bytes: UnsafeRawBufferPointer, address: UInt32, bits32: Bool) -> (length: Int, text: String) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return (0, "") }
        let p = base.assumingMemoryBound(to: UInt8.self)
        var d = DecodedInstruction()
        let r = decoder.decode(p, count: bytes.count, code32: bits32, into: &d)
        switch r {
        case .ok:
            let raw = UnsafeBufferPointer(start: p, count: Int(d.length))
            return (Int(d.length), text(of: d, prefixBytes: Array(raw.prefix(Int(d.prefixCount))), address: address, bits32: bits32))
        case .invalidOpcode:
            return (max(1, Int(d.length)), "(bad)")
        case .tooLong, .needBytes:
            return (min(bytes.count, 15), "(bad)")
        }
    }

    public func disassemble(bytes: [UInt8], address: UInt32, bits32: Bool) -> (length: Int, text: String) {
        bytes.withUnsafeBytes { disassemble(bytes: $0, address: address, bits32: bits32) }
    }

    /// The text of an already decoded instruction (the teaching view shows
    /// it next to the fields). `prefixBytes` are its first `prefixCount`
    /// bytes, whose order decides how unused prefixes are shown.
    public func text(of d: DecodedInstruction, prefixBytes: [UInt8], address: UInt32, bits32: Bool) -> String {
        var r = InstructionRenderer(d: d, form: InstructionTable.shared.form(of: d), syntax: syntax,
                                    address: address, bits32: bits32, prefixBytes: prefixBytes)
        return r.render()
    }
}
