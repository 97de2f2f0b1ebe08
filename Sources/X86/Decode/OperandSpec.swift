/// One operand of an instruction form, in the notation of the Intel SDM's
/// opcode maps (vol. 2, appendix A.2): the letter says where the operand
/// comes from, the lower-case letters its size.
///
/// `b` byte, `w` word, `d` doubleword, `q` quadword, `t` ten bytes,
/// `v` word or doubleword by operand size, `z` like `v` for immediates,
/// `p` a far pointer (offset of size v plus a 16-bit selector).
public enum OperandSpec: String, Sendable, CaseIterable {
    // ModRM r/m (register or memory) and ModRM reg.
    case Eb, Ew, Ev
    case Gb, Gw, Gv
    /// r/m that is a word in memory but a v-sized register (SLDT, STR,
    /// SMSW, MOV from a segment register).
    case EwRv
    /// Memory only: `M` without a size (LEA, SGDT, FLDENV...), `Mp` a far
    /// pointer, `Ma` BOUND's pair, and sized memory for the x87 and
    /// CMPXCHG8B / INVLPG.
    case M, Mp, Ma, Mb, Mw, Md, Mq, Mt
    /// ModRM r/m as a 32-bit register whatever the mod bits (MOV CRn/DRn).
    case Rd
    /// ModRM reg as a control / debug / segment register.
    case Cd, Dd, Sw
    // Immediates. `Ibs` is a byte sign-extended to the operand size.
    case Ib, Ibs, Iw, Iz
    /// Relative branch targets.
    case Jb, Jz
    /// Direct far pointer (CALL/JMP ptr16:16/32).
    case Ap
    /// Memory offset of the address size, no ModRM (MOV A0–A3).
    case Ob, Ov
    /// Fixed registers.
    case AL, CL, DX, AX, rAX
    case ES, CS, SS, DS, FS, GS
    /// The register in the low three bits of the opcode (40+r, B0+r...).
    case Zb, Zv
    /// The constant 1 of the shift-by-one forms.
    case One = "1"
    /// String operands: DS:rSI (X, segment overridable) and ES:rDI (Y).
    case Xb, Xv, Yb, Yv
    /// XLAT's implicit DS:[rBX + AL].
    case XL
    /// x87 stack top and ST(i) from ModRM rm.
    case ST, STi

    /// Immediate bytes this operand contributes to the encoding.
    var immediateKind: ImmediateKind {
        switch self {
        case .Ib, .Ibs, .Jb: return .byte
        case .Iw: return .word
        case .Iz, .Jz: return .operandSize
        case .Ap: return .farPointer
        case .Ob, .Ov: return .memoryOffset
        default: return .none
        }
    }

    /// Whether the operand is encoded by a ModRM byte.
    var usesModRM: Bool {
        switch self {
        case .Eb, .Ew, .Ev, .Gb, .Gw, .Gv, .EwRv, .M, .Mp, .Ma, .Mb, .Mw, .Md, .Mq, .Mt,
             .Rd, .Cd, .Dd, .Sw, .STi:
            return true
        default:
            return false
        }
    }
}

/// What follows the ModRM/SIB/displacement bytes.
public enum ImmediateKind: UInt8, Sendable {
    case none = 0
    case byte = 1
    case word = 2
    /// 2 or 4 bytes by operand size (Iz, Jz).
    case operandSize = 3
    /// Offset of the operand size, then a 16-bit selector (9A, EA).
    case farPointer = 4
    /// 2 or 4 bytes by address size (A0–A3), stored in `imm`.
    case memoryOffset = 5
    /// ENTER: a 16-bit frame size, then an 8-bit nesting level.
    case enter = 6
}
