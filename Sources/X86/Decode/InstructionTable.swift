/// The instruction description, built once from the text maps
/// (`OneByteMap`, `TwoByteMap`, `GroupMaps`, `X87Map`) into the forms the
/// disassembler reads and the compact arrays the decoder reads.
///
/// The decoder's arrays live in one immortal allocation so that a lookup
/// is a load through a raw pointer, with no ARC or bounds checks.
public final class InstructionTable: @unchecked Sendable {
    /// The shared table, parsed on first use.
    public static let shared = InstructionTable()

    /// Every form; index 0 is the hole (undefined opcode, #UD).
    public let forms: [InstructionForm]

    // Per opcode (0x000–0x1FF): form or sub-table base, kind and flags.
    let opInfo: UnsafeMutablePointer<UInt32>
    // Group (16 entries: reg*2 + isRegister) and x87 (8 memory by reg, then
    // 64 register forms by ModRM & 0x3F) sub-tables, as form indices.
    let subForms: UnsafeMutablePointer<UInt16>
    // Per form: immediate kind and the decoder's flag bits.
    let formBits: UnsafeMutablePointer<UInt16>

    // opInfo layout.
    static let kindShift: UInt32 = 16
    static let kindDirect: UInt32 = 0
    static let kindGroup: UInt32 = 1
    static let kindX87: UInt32 = 2
    static let opHasModRM: UInt32 = 1 << 18
    static let opPrefix: UInt32 = 1 << 19

    // formBits layout (bits 0–2 are the ImmediateKind).
    static let fbValid: UInt16 = 1 << 3
    static let fbLockable: UInt16 = 1 << 4
    static let fbMemoryOnly: UInt16 = 1 << 5
    static let fbRegisterOnly: UInt16 = 1 << 6
    static let fbModIgnored: UInt16 = 1 << 7

    private init() {
        var builder = TableBuilder()
        for (name, text) in [("one-byte", OneByteMap.text), ("0F", TwoByteMap.text),
                             ("group", GroupMaps.text), ("x87", X87Map.text)] {
            builder.parse(text, mapName: name)
        }
        forms = builder.forms
        opInfo = .allocate(capacity: 512)
        opInfo.initialize(from: builder.opInfo, count: 512)
        subForms = .allocate(capacity: builder.subForms.count)
        subForms.initialize(from: builder.subForms, count: builder.subForms.count)
        formBits = .allocate(capacity: forms.count)
        for (i, f) in forms.enumerated() {
            var b = UInt16(f.immediate.rawValue)
            if f.isValid { b |= InstructionTable.fbValid }
            if f.flags.contains(.lockable) { b |= InstructionTable.fbLockable }
            if f.flags.contains(.memoryOnly) { b |= InstructionTable.fbMemoryOnly }
            if f.flags.contains(.registerOnly) { b |= InstructionTable.fbRegisterOnly }
            if f.flags.contains(.modIgnored) { b |= InstructionTable.fbModIgnored }
            (formBits + i).initialize(to: b)
        }
    }

    /// The form a decoded instruction refers to.
    public func form(of d: DecodedInstruction) -> InstructionForm { forms[Int(d.form)] }

    /// Whether `opcode` (0x000–0x1FF) is a prefix byte.
    public func isPrefix(_ opcode: Int) -> Bool { opInfo[opcode] & InstructionTable.opPrefix != 0 }

    /// The form for an opcode and ModRM byte (ignored where there is none),
    /// by the same selection the decoder uses.
    public func formIndex(opcode: Int, modrm: UInt8) -> Int {
        let info = opInfo[opcode]
        return Int(InstructionTable.select(info, modrm, subForms))
    }

    @inline(__always) static func select(_ info: UInt32, _ modrm: UInt8, _ sub: UnsafeMutablePointer<UInt16>) -> UInt16 {
        let base = Int(info & 0xFFFF)
        switch (info >> kindShift) & 3 {
        case kindDirect:
            return UInt16(base)
        case kindGroup:
            return sub[base + Int((modrm >> 2) & 0xE) + (modrm >= 0xC0 ? 1 : 0)]
        default:
            return modrm >= 0xC0 ? sub[base + 8 + Int(modrm & 0x3F)] : sub[base + Int((modrm >> 3) & 7)]
        }
    }
}

/// Parses the description lines (format in `OneByteMap`). A malformed line
/// is a bug in the maps, caught by the table's unit tests at first use.
struct TableBuilder {
    var forms: [InstructionForm] = [InstructionForm(hole: ())]
    var opInfo = [UInt32](repeating: 0, count: 512)
    var subForms: [UInt16] = []
    var formIndexByLine: [String: UInt16] = [:]

    static let conditions = ["o", "no", "b", "ae", "e", "ne", "be", "a", "s", "ns", "p", "np", "l", "ge", "le", "g"]

    mutating func parse(_ text: String, mapName: String) {
        for raw in text.split(separator: "\n") {
            let line = String(raw).trimmingSpaces()
            if line.isEmpty { continue }
            parseLine(line, mapName: mapName)
        }
    }

    private func fail(_ line: String, _ why: String) -> Never {
        fatalError("instruction table: \(why) in line '\(line)'")
    }

    mutating func parseLine(_ line: String, mapName: String) {
        let tokens = line.split(separator: " ").map(String.init)
        guard tokens.count >= 3 else { fail(line, "expected KEY MNEMONIC OPERANDS") }
        var key = tokens[0]
        // Key shape.
        var restrict: Character? = nil
        if let last = key.last, last == "m" || last == "r" { restrict = last; key.removeLast() }
        var groupReg: Int? = nil
        var x87ModRM: Int? = nil
        var x87Eight = false
        var count = 1
        var conditional = false
        var rangeEnd: Int? = nil
        if let slash = key.firstIndex(of: "/") {
            guard let r = Int(key[key.index(after: slash)...]), r < 8 else { fail(line, "bad group reg") }
            groupReg = r
            key = String(key[..<slash])
        } else if let colon = key.firstIndex(of: ":") {
            var m = String(key[key.index(after: colon)...])
            if m.hasSuffix("+") { x87Eight = true; m.removeLast() }
            guard let v = Int(m, radix: 16), v >= 0xC0, v <= 0xFF else { fail(line, "bad x87 ModRM") }
            x87ModRM = v
            key = String(key[..<colon])
        } else if key.hasSuffix("+cc") {
            count = 16; conditional = true; key.removeLast(3)
        } else if key.hasSuffix("+") {
            count = 8; key.removeLast()
        } else if let dash = key.firstIndex(of: "-") {
            rangeEnd = TableBuilder.opcodeValue(String(key[key.index(after: dash)...]))
            key = String(key[..<dash])
        }
        guard let opcode = TableBuilder.opcodeValue(key) else { fail(line, "bad opcode '\(key)'") }
        if let e = rangeEnd {
            guard e > opcode, e >> 8 == opcode >> 8 else { fail(line, "bad range") }
            count = e - opcode + 1
        }
        // Mnemonic, operands, flags.
        let names = tokens[1].replacing("_", with: " ").split(separator: "|").map(String.init)
        guard names.count == 1 || names.count == 2 else { fail(line, "bad mnemonic") }
        var operands: [OperandSpec] = []
        if tokens[2] != "-" {
            for o in tokens[2].split(separator: ",") {
                guard let spec = OperandSpec(rawValue: String(o)) else { fail(line, "unknown operand '\(o)'") }
                operands.append(spec)
            }
        }
        var flags: InstructionForm.Flags = [.valid]
        var att: [String]? = nil
        for f in tokens.dropFirst(3) {
            switch f {
            case "L": flags.insert(.lockable)
            case "UD": flags.insert(.undefined)
            case "nomod": flags.insert(.modIgnored)
            case "A": flags.insert(.byAddressSize)
            case "S": flags.insert(.sizeSuffix)
            case "SA": flags.insert(.sizeSuffixAlways)
            case "prefix": flags.insert(.prefix)
            default:
                guard f.hasPrefix("att=") else { fail(line, "unknown flag '\(f)'") }
                att = f.dropFirst(4).split(separator: "|").map(String.init)
            }
        }
        if restrict == "m" { flags.insert(.memoryOnly) }
        if restrict == "r" { flags.insert(.registerOnly) }
        if opcode & 0xF8 == 0xD8 && opcode < 0x100 { flags.insert(.x87) }
        let hasModRM = operands.contains { $0.usesModRM } || groupReg != nil || x87ModRM != nil
        if restrict != nil && !hasModRM { fail(line, "m/r restriction without ModRM") }
        var imm = ImmediateKind.none
        for o in operands where o.immediateKind != .none {
            if imm == .word && o.immediateKind == .byte { imm = .enter; continue }
            guard imm == .none else { fail(line, "two immediates") }
            imm = o.immediateKind
        }

        for k in 0..<count {
            let op = opcode + k
            var m = names
            var a = att
            if conditional {
                m = m.map { $0.replacing("{cc}", with: TableBuilder.conditions[k]) }
                a = a.map { $0.map { $0.replacing("{cc}", with: TableBuilder.conditions[k]) } }
            }
            let form = InstructionForm(mnemonic16: m[0], mnemonic32: m.count > 1 ? m[1] : m[0],
                                       attMnemonic16: a?[0], attMnemonic32: a.map { $0.count > 1 ? $0[1] : $0[0] },
                                       operands: operands, flags: flags, immediate: imm, source: line)
            // Forms that are the same line and opcode-independent are shared.
            let shareKey = conditional ? "\(line)#\(k)" : line
            let index: UInt16
            if let existing = formIndexByLine[shareKey] {
                index = existing
            } else {
                index = UInt16(forms.count)
                forms.append(form)
                formIndexByLine[shareKey] = index
            }
            place(op, index, groupReg: groupReg, x87ModRM: x87ModRM, x87Eight: x87Eight,
                  restrict: restrict, hasModRM: hasModRM, prefix: flags.contains(.prefix), line: line)
        }
    }

    mutating func place(_ op: Int, _ index: UInt16, groupReg: Int?, x87ModRM: Int?, x87Eight: Bool,
                        restrict: Character?, hasModRM: Bool, prefix: Bool, line: String) {
        let used = opInfo[op] != 0
        if let r = groupReg {
            if op & 0x1F8 == 0xD8 {
                // x87 memory form.
                let base = subTable(op, kind: InstructionTable.kindX87, size: 72, line: line)
                setSub(base + r, index, line)
            } else {
                let base = subTable(op, kind: InstructionTable.kindGroup, size: 16, line: line)
                if restrict != "r" { setSub(base + r * 2, index, line) }
                if restrict != "m" { setSub(base + r * 2 + 1, index, line) }
            }
        } else if let m = x87ModRM {
            let base = subTable(op, kind: InstructionTable.kindX87, size: 72, line: line)
            for k in 0..<(x87Eight ? 8 : 1) { setSub(base + 8 + (m & 0x3F) + k, index, line) }
        } else {
            if used { fail(line, "opcode defined twice") }
            var info = UInt32(index) | InstructionTable.kindDirect << InstructionTable.kindShift
            if hasModRM { info |= InstructionTable.opHasModRM }
            if prefix { info |= InstructionTable.opPrefix }
            opInfo[op] = info
        }
    }

    /// The base of `op`'s sub-table, created on first use.
    mutating func subTable(_ op: Int, kind: UInt32, size: Int, line: String) -> Int {
        let info = opInfo[op]
        if info != 0 {
            if (info >> InstructionTable.kindShift) & 3 != kind { fail(line, "opcode used as two kinds") }
            return Int(info & 0xFFFF)
        }
        let base = subForms.count
        subForms += [UInt16](repeating: 0, count: size)
        opInfo[op] = UInt32(base) | kind << InstructionTable.kindShift | InstructionTable.opHasModRM
        return base
    }

    mutating func setSub(_ i: Int, _ index: UInt16, _ line: String) {
        if subForms[i] != 0 { fail(line, "form defined twice") }
        subForms[i] = index
    }

    /// `XX` → 0x0XX, `0FXX` → 0x1XX.
    static func opcodeValue(_ s: String) -> Int? {
        if s.count == 2, let v = Int(s, radix: 16) { return v }
        if s.count == 4, s.hasPrefix("0F"), let v = Int(s.dropFirst(2), radix: 16) { return 0x100 + v }
        return nil
    }
}

extension InstructionForm {
    /// The hole at index 0: any opcode or ModRM the table does not define.
    init(hole: ()) {
        self.init(mnemonic16: "(bad)", mnemonic32: "(bad)", attMnemonic16: nil, attMnemonic32: nil,
                  operands: [], flags: [], immediate: .none, source: "")
    }
}

private extension String {
    func trimmingSpaces() -> String {
        var s = Substring(self)
        while s.first == " " { s.removeFirst() }
        while s.last == " " { s.removeLast() }
        return String(s)
    }
}
