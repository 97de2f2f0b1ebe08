import X86

/// Register names and the formatting of register, immediate and memory
/// operands in both syntaxes.
enum RegisterNames {
    static let r8 = ["al", "cl", "dl", "bl", "ah", "ch", "dh", "bh"]
    static let r16 = ["ax", "cx", "dx", "bx", "sp", "bp", "si", "di"]
    static let r32 = ["eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi"]
    static let seg = ["es", "cs", "ss", "ds", "fs", "gs", "?", "?"]
    /// 16-bit ModRM r/m: base and index registers, nil for none.
    static let rm16: [(String, String?)] = [("bx", "si"), ("bx", "di"), ("bp", "si"), ("bp", "di"),
                                             ("si", nil), ("di", nil), ("bp", nil), ("bx", nil)]
}

func hex(_ v: UInt32) -> String { "0x" + String(v, radix: 16) }

/// A rendered operand plus what the mnemonic rules need to know about it.
struct OperandText {
    var text: String
    /// A register that fixes the operand size (AT&T omits the suffix then).
    var sizesByRegister = false
    /// A memory operand reached through ModRM.
    var isModRMMemory = false
}

extension InstructionRenderer {
    func reg(_ size: Int, _ n: Int) -> String {
        let name = size == 1 ? RegisterNames.r8[n] : (size == 2 ? RegisterNames.r16[n] : RegisterNames.r32[n])
        return syntax == .att ? "%" + name : name
    }

    func named(_ s: String) -> String { syntax == .att ? "%" + s : s }

    func immediate(_ v: UInt32) -> String { syntax == .att ? "$" + hex(v) : hex(v) }

    var v: Int { d.opsize32 ? 4 : 2 }

    /// Signed displacement text: "+0x10" / "-0x10" (Intel), "0x10" / "-0x10" (AT&T).
    func signedDisp(_ value: Int64, intelSign: Bool) -> String {
        let mag = UInt32(truncatingIfNeeded: value < 0 ? -value : value)
        if value < 0 { return "-" + hex(mag) }
        return (intelSign ? "+" : "") + hex(mag)
    }

    var dispValue: Int64 {
        switch d.dispSize {
        case 1: return Int64(Int8(truncatingIfNeeded: d.disp))
        case 2: return Int64(Int16(truncatingIfNeeded: d.disp))
        default: return Int64(Int32(bitPattern: d.disp))
        }
    }

    /// The segment override's name, if any (it is then "used").
    mutating func overrideName() -> String? {
        guard d.segOverride >= 0 else { return nil }
        segmentUsed = true
        return RegisterNames.seg[Int(d.segOverride)]
    }

    /// A ModRM memory operand; `size` is the Intel "... PTR " keyword.
    mutating func memory(_ size: String?) -> String {
        let seg = overrideName()
        var base: String?
        var index: String?
        var scale = 1
        var absolute = false
        if d.addrsize32 {
            if d.hasSIB {
                let b = Int(d.sib & 7), i = Int((d.sib >> 3) & 7)
                scale = 1 << Int(d.sib >> 6)
                if !(b == 5 && d.mod == 0) { base = RegisterNames.r32[b] }
                if i != 4 {
                    index = RegisterNames.r32[i]
                } else if scale != 1 || (base != nil && b != 4) || (base == nil && bits32) {
                    // objdump names the "no index" SIB as eiz unless it adds
                    // nothing: [esp], or (16-bit code with 67) a bare disp32.
                    index = "eiz"
                }
                if base == nil && index == nil { absolute = true }
            } else if d.mod == 0 && d.rm == 5 {
                absolute = true
            } else {
                base = RegisterNames.r32[Int(d.rm)]
            }
        } else {
            if d.mod == 0 && d.rm == 6 {
                absolute = true
            } else {
                (base, index) = RegisterNames.rm16[Int(d.rm)]
            }
        }
        // objdump counts 67 as used by a memory operand unless it is a
        // 32-bit address without a base or a real index register.
        if !(d.addrsize32 && base == nil && (index == nil || index == "eiz")) { addressUsed = true }
        let keyword = size.map { $0 + " PTR " } ?? ""
        if syntax == .intel {
            if absolute {
                let a = d.addrsize32 ? d.disp : d.disp & 0xFFFF
                return keyword + (seg ?? "ds") + ":" + hex(a)
            }
            var s = keyword + (seg.map { $0 + ":" } ?? "") + "["
            if let b = base { s += b }
            if let i = index {
                if base != nil { s += "+" }
                s += i + (d.addrsize32 ? "*\(scale)" : "")
            }
            if d.dispSize != 0 { s += signedDisp(dispValue, intelSign: true) }
            return s + "]"
        }
        var s = seg.map { "%" + $0 + ":" } ?? ""
        if absolute {
            return s + (d.addrsize32 ? hex(d.disp) : signedDisp(dispValue, intelSign: false))
        }
        if d.dispSize != 0 { s += signedDisp(dispValue, intelSign: false) }
        s += "("
        if let b = base { s += "%" + b }
        if let i = index { s += ",%" + i + (d.addrsize32 ? ",\(scale)" : "") }
        return s + ")"
    }

    /// DS:rSI (overridable), ES:rDI, DS:[rBX] for the string instructions and XLAT.
    mutating func stringOperand(_ size: Int?, segment: String, register: Int) -> String {
        addressUsed = true
        let r = d.addrsize32 ? RegisterNames.r32[register] : RegisterNames.r16[register]
        if syntax == .intel {
            let kw = size.map { ($0 == 1 ? "BYTE" : ($0 == 2 ? "WORD" : "DWORD")) + " PTR " } ?? ""
            return kw + segment + ":[" + r + "]"
        }
        return "%" + segment + ":(%" + r + ")"
    }

    /// The size keyword of an r/m operand in memory.
    func keyword(_ spec: OperandSpec) -> String? {
        switch spec {
        case .Eb, .Mb: return "BYTE"
        case .Ew, .EwRv, .Mw: return "WORD"
        case .Ev: return d.opsize32 ? "DWORD" : "WORD"
        case .Md: return "DWORD"
        case .Mq: return "QWORD"
        case .Mt: return "TBYTE"
        case .Mp: return d.opsize32 ? "FWORD" : "DWORD"
        case .Ma: return d.opsize32 ? "QWORD" : "DWORD"
        default: return nil
        }
    }

    mutating func operand(_ spec: OperandSpec) -> OperandText? {
        let regForm = d.modrm >= 0xC0
        switch spec {
        case .Eb, .Ew, .Ev, .EwRv, .M, .Mp, .Ma, .Mb, .Mw, .Md, .Mq, .Mt:
            if regForm {
                let size = spec == .Eb ? 1 : (spec == .Ew ? 2 : v)
                if spec == .Ev || spec == .EwRv { operandSizeUsed = true }
                return OperandText(text: reg(size, Int(d.rm)), sizesByRegister: true)
            }
            if spec == .Ev || spec == .Mp || spec == .Ma { operandSizeUsed = true }
            return OperandText(text: memory(keyword(spec)), isModRMMemory: true)
        case .Gb: return OperandText(text: reg(1, Int(d.reg)), sizesByRegister: true)
        case .Gw: return OperandText(text: reg(2, Int(d.reg)), sizesByRegister: true)
        case .Gv:
            operandSizeUsed = true
            return OperandText(text: reg(v, Int(d.reg)), sizesByRegister: true)
        case .Rd: return OperandText(text: reg(4, Int(d.rm)), sizesByRegister: true)
        case .Cd: return OperandText(text: named("cr\(d.reg)"), sizesByRegister: true)
        case .Dd: return OperandText(text: syntax == .att ? "%db\(d.reg)" : "dr\(d.reg)", sizesByRegister: true)
        case .Sw: return OperandText(text: named(RegisterNames.seg[Int(d.reg)]), sizesByRegister: true)
        case .Ib:
            // ENTER's Ib is the second immediate.
            return OperandText(text: immediate(form.immediate == .enter ? d.imm2 : d.imm))
        case .Ibs:
            operandSizeUsed = true
            let x = UInt32(bitPattern: Int32(Int8(truncatingIfNeeded: d.imm)))
            return OperandText(text: immediate(d.opsize32 ? x : x & 0xFFFF))
        case .Iw: return OperandText(text: immediate(d.imm))
        case .Iz:
            operandSizeUsed = true
            return OperandText(text: immediate(d.imm))
        case .Jb, .Jz:
            if spec == .Jz { operandSizeUsed = true }
            let rel = d.immSize == 1 ? UInt32(bitPattern: Int32(Int8(truncatingIfNeeded: d.imm)))
                : (d.immSize == 2 ? UInt32(bitPattern: Int32(Int16(truncatingIfNeeded: d.imm))) : d.imm)
            // With a 16-bit operand size the new IP wraps at 64 KiB: in
            // 16-bit code within the 64 KiB the address is in (objdump's
            // convention for addresses beyond 64 KiB), in 32-bit code with 66
            // to 0–FFFF, as the CPU masks EIP.
            let next = address &+ UInt32(d.length)
            var target = next &+ rel
            if !d.opsize32 {
                target = (target & 0xFFFF) | (bits32 ? 0 : next & 0xFFFF_0000)
            }
            return OperandText(text: hex(target))
        case .Ap:
            operandSizeUsed = true
            if syntax == .intel { return OperandText(text: hex(d.imm2) + ":" + hex(d.imm)) }
            return OperandText(text: "$" + hex(d.imm2) + ",$" + hex(d.imm))
        case .Ob, .Ov:
            if spec == .Ov { operandSizeUsed = true }
            let seg = overrideName()
            if syntax == .intel { return OperandText(text: (seg ?? "ds") + ":" + hex(d.imm)) }
            return OperandText(text: (seg.map { "%" + $0 + ":" } ?? "") + hex(d.imm))
        case .AL: return OperandText(text: named("al"), sizesByRegister: true)
        case .CL: return OperandText(text: named("cl"))
        case .DX: return OperandText(text: syntax == .att ? "(%dx)" : "dx")
        case .AX: return OperandText(text: named("ax"), sizesByRegister: true)
        case .rAX:
            operandSizeUsed = true
            return OperandText(text: reg(v, 0), sizesByRegister: true)
        case .ES, .CS, .SS, .DS, .FS, .GS:
            let i = [OperandSpec.ES, .CS, .SS, .DS, .FS, .GS].firstIndex(of: spec)!
            return OperandText(text: named(RegisterNames.seg[i]), sizesByRegister: true)
        case .Zb: return OperandText(text: reg(1, Int(d.opcode & 7)), sizesByRegister: true)
        case .Zv:
            operandSizeUsed = true
            return OperandText(text: reg(v, Int(d.opcode & 7)), sizesByRegister: true)
        case .One:
            return syntax == .att ? nil : OperandText(text: "1")
        case .Xb, .Xv:
            if spec == .Xv { operandSizeUsed = true }
            let seg = overrideName() ?? "ds"
            return OperandText(text: stringOperand(spec == .Xb ? 1 : v, segment: seg, register: 6))
        case .Yb, .Yv:
            if spec == .Yv { operandSizeUsed = true }
            return OperandText(text: stringOperand(spec == .Yb ? 1 : v, segment: "es", register: 7))
        case .XL:
            let seg = overrideName() ?? "ds"
            return OperandText(text: stringOperand(1, segment: seg, register: 3))
        case .ST: return OperandText(text: named("st"), sizesByRegister: true)
        case .STi: return OperandText(text: named("st(\(d.rm))"), sizesByRegister: true)
        }
    }
}
