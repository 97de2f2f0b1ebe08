import X86

/// Renders one decoded instruction: the prefixes objdump shows by name,
/// the mnemonic with the size suffixes of the syntax, and the operands in
/// the syntax's order.
struct InstructionRenderer {
    let d: DecodedInstruction
    let form: InstructionForm
    let syntax: Disassembler.Syntax
    let address: UInt32
    let bits32: Bool
    let prefixBytes: [UInt8]

    // Which prefixes the instruction consumed (the others are shown by name).
    var operandSizeUsed = false
    var addressUsed = false
    var segmentUsed = false

    init(d: DecodedInstruction, form: InstructionForm, syntax: Disassembler.Syntax, address: UInt32, bits32: Bool, prefixBytes: [UInt8]) {
        self.d = d
        self.form = form
        self.syntax = syntax
        self.address = address
        self.bits32 = bits32
        self.prefixBytes = prefixBytes
    }

    var isString: Bool {
        switch d.opcode {
        case 0x6C...0x6F, 0xA4...0xA7, 0xAA...0xAF: return true
        default: return false
        }
    }

    /// Branches that take 2E/3E as not-taken/taken hints in AT&T output.
    var isConditionalJump: Bool {
        (0x70...0x7F).contains(d.opcode) || (0xE0...0xE3).contains(d.opcode) || (0x180...0x18F).contains(d.opcode)
    }

    /// Size suffix letters: Intel `w`/`d`, AT&T `b`/`w`/`l`.
    func suffix(_ size: Int) -> String {
        switch size {
        case 1: return "b"
        case 2: return "w"
        default: return syntax == .att ? "l" : "d"
        }
    }

    mutating func render() -> String {
        // Operands first: they record which prefixes are used.
        var ops: [OperandText] = []
        for spec in form.operands {
            if let o = operand(spec) { ops.append(o) }
        }
        let codeSize32 = bits32
        let defaultSize = d.opsize32 == codeSize32
        var mnemonic: String
        var extraPrefixUnused = false
        if form.flags.contains(.byAddressSize) {
            addressUsed = true
            mnemonic = form.mnemonic(size32: d.addrsize32)
            if form.mnemonic16 == form.mnemonic32 && d.hasAddrsizePrefix {
                // LOOP with 67: objdump keeps the name and shows the prefix
                // (Intel) or a w/l suffix (AT&T).
                if syntax == .att { mnemonic += d.addrsize32 ? "l" : "w" } else { extraPrefixUnused = true }
            }
        } else {
            if form.mnemonic16 != form.mnemonic32 { operandSizeUsed = true }
            mnemonic = form.mnemonic(size32: d.opsize32)
        }
        if syntax == .att, let a = d.opsize32 ? form.attMnemonic32 : form.attMnemonic16 { mnemonic = a }

        // objdump's special names.
        var repUsedByName = false
        if d.opcode == 0x90 {
            if d.repPrefix == 0xF3 {
                mnemonic = "pause"; repUsedByName = true
            } else if d.hasOpsizePrefix {
                operandSizeUsed = true
                mnemonic = "xchg"
                let r = reg(v, 0)
                ops = [OperandText(text: r, sizesByRegister: true), OperandText(text: r, sizesByRegister: true)]
            }
        }

        // Size suffixes.
        if form.flags.contains(.sizeSuffixAlways) {
            operandSizeUsed = true
            mnemonic += suffix(v)
        } else if form.flags.contains(.sizeSuffix) {
            operandSizeUsed = true
            // Intel shows the size in a "... PTR" keyword or a far pointer instead.
            let explicit = form.operands.contains { $0 == .Ap || (d.modrm < 0xC0 && keyword($0) != nil) }
            // A register r/m (CALL EAX, POP DX) shows the size itself.
            let registerRM = d.modrm >= 0xC0 && form.operands.contains { $0 == .Ev }
            if !defaultSize && !registerRM && (syntax == .att || !explicit) {
                // The x87 environment forms say "short" in AT&T.
                mnemonic += syntax == .att && form.flags.contains(.x87) && v == 2 ? "s" : suffix(v)
            }
        } else if syntax == .att && form.attMnemonic16 == nil {
            // AT&T needs a suffix when nothing else says the size: a memory
            // r/m whose mnemonic exists in several sizes and no register.
            if ops.contains(where: { $0.isModRMMemory }) && !ops.contains(where: { $0.sizesByRegister }) {
                if form.operands.contains(.Ev) { mnemonic += suffix(v) }
                if form.operands.contains(.Eb) && !mnemonic.hasPrefix("set") { mnemonic += "b" }
            }
        }
        if syntax == .att && isConditionalJump && (d.segOverride == 1 || d.segOverride == 3) {
            mnemonic += d.segOverride == 1 ? ",pn" : ",pt"
            segmentUsed = true
        }
        if syntax == .att && (d.opcode == 0xFF) && (2...5).contains(d.reg) {
            ops = ops.map { var o = $0; o.text = "*" + o.text; return o }
        }

        var names = prefixNames(repUsedByName: repUsedByName, forceAddressUnused: extraPrefixUnused)
        names.append(mnemonic)
        let head = names.joined(separator: " ")
        if ops.isEmpty { return head }
        // AT&T puts the destination last; ENTER's two immediates and
        // BOUND's operands keep their order (as binutils prints them).
        let keepOrder = form.operands == [.Iw, .Ib] || d.opcode == 0x62
        let ordered = syntax == .att && !keepOrder ? ops.reversed() : ops
        let padded = head.count < 6 ? head + String(repeating: " ", count: 6 - head.count) : head
        return padded + " " + ordered.map(\.text).joined(separator: ",")
    }

    /// Names of the prefixes to show, in byte order: LOCK and REP always,
    /// others when the instruction did not use them (or a later prefix of
    /// the same kind replaced them).
    func prefixNames(repUsedByName: Bool, forceAddressUnused: Bool) -> [String] {
        var names: [String] = []
        let lastSeg = prefixBytes.lastIndex { [0x26, 0x2E, 0x36, 0x3E, 0x64, 0x65].contains($0) }
        let last66 = prefixBytes.lastIndex(of: 0x66)
        let last67 = prefixBytes.lastIndex(of: 0x67)
        let lastRep = prefixBytes.lastIndex { $0 == 0xF2 || $0 == 0xF3 }
        for (i, b) in prefixBytes.enumerated() {
            switch b {
            case 0xF0: names.append("lock")
            case 0xF2, 0xF3:
                if i == lastRep && repUsedByName { continue }
                if i == lastRep && isString {
                    let compares = (0xA6...0xA7).contains(d.opcode) || (0xAE...0xAF).contains(d.opcode)
                    names.append(b == 0xF2 ? "repnz" : (compares ? "repz" : "rep"))
                } else {
                    names.append(b == 0xF2 ? "repnz" : "repz")
                }
            case 0x66:
                if i != last66 || !operandSizeUsed { names.append(bits32 ? "data16" : "data32") }
            case 0x67:
                if i != last67 || !addressUsed || forceAddressUnused { names.append(bits32 ? "addr16" : "addr32") }
            default:
                if i != lastSeg || !segmentUsed {
                    names.append(RegisterNames.seg[[0x26, 0x2E, 0x36, 0x3E, 0x64, 0x65].firstIndex(of: b)!])
                }
            }
        }
        return names
    }
}
