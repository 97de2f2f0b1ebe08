/// The hot instruction forms of 32-bit code, picked out once at decode time
/// so the run loop can execute them without the opcode map: operand size 4
/// is known, register operands are plain indexes, and immediates and branch
/// displacements are already extended to 32 bits.
///
/// A switch over this enum compiles to one jump table, where the opcode
/// maps' switches on opcode values compile to chains of compares. Each form
/// does exactly what its opcode-map case does (ExecuteFast.swift calls the
/// same helpers), so the choice never changes what the guest sees; anything
/// else — 8/16-bit operands, LOCK, memory forms other than MOV and LEA — is
/// `.general` and goes to the opcode maps.
enum FastForm: UInt8 {
    case general
    /// ALU op `sub` (0...7, as in the opcode map): reg[dst] op= reg[src]; CMP writes nothing.
    case aluRR
    /// ALU op `sub` with an immediate: reg[dst] op= imm.
    case aluRI
    /// TEST reg[dst], reg[src].
    case testRR
    case incR, decR
    case movRR, movRI
    /// MOV reg[dst], [ea] and MOV [ea], reg[src].
    case movLoad, movStore
    case lea
    /// Shift/rotate op `sub` of reg[dst] by the count in imm (already masked).
    case shiftRI
    /// SHL, SHR, SAR of reg[dst] by imm (1...31).
    case shlRI, shrRI, sarRI
    /// IMUL reg[dst], reg[src].
    case imulRR
    /// Jcc with condition `sub`; JMP; CALL; imm is the displacement.
    case jcc, jmp, call
    case ret
    case pushR, popR
}

extension CachedInstruction {
    /// Picks the fast form of the decoded instruction (`.general` when it has
    /// none). `valid` is false when the decoder reported the instruction as
    /// invalid: the opcode map raises #UD for those.
    mutating func classifyFastForm(valid: Bool) {
        fast = .general
        let d = decoded
        guard valid, d.opsize32, !d.lockPrefix else { return }
        let op = d.opcode
        let reg = d.reg, rm = d.rm
        let regForm = d.hasModRM && d.modrm >= 0xC0
        func set(_ f: FastForm, sub: UInt8 = 0, dst: UInt8 = 0, src: UInt8 = 0, imm: UInt32 = 0) {
            fast = f; fastSub = sub; fastDst = dst; fastSrc = src; fastImm = imm
        }
        switch op {
        case 0x00..<0x40 where op & 7 == 1 && regForm: // op r/m32, r32
            set(.aluRR, sub: UInt8(op >> 3), dst: rm, src: reg)
        case 0x00..<0x40 where op & 7 == 3 && regForm: // op r32, r/m32
            set(.aluRR, sub: UInt8(op >> 3), dst: reg, src: rm)
        case 0x00..<0x40 where op & 7 == 5: // op eAX, imm32
            set(.aluRI, sub: UInt8(op >> 3), dst: 0, imm: d.imm)
        case 0x81 where regForm:
            set(.aluRI, sub: reg, dst: rm, imm: d.imm)
        case 0x83 where regForm:
            set(.aluRI, sub: reg, dst: rm, imm: UInt32(bitPattern: Int32(Int8(truncatingIfNeeded: d.imm))))
        case 0x85 where regForm:
            set(.testRR, dst: rm, src: reg)
        case 0x40..<0x48: set(.incR, dst: UInt8(op & 7))
        case 0x48..<0x50: set(.decR, dst: UInt8(op & 7))
        case 0x50..<0x58: set(.pushR, src: UInt8(op & 7))
        case 0x58..<0x60: set(.popR, dst: UInt8(op & 7))
        case 0x89: regForm ? set(.movRR, dst: rm, src: reg) : set(.movStore, src: reg)
        case 0x8B: regForm ? set(.movRR, dst: reg, src: rm) : set(.movLoad, dst: reg)
        case 0x8D where !regForm: set(.lea, dst: reg)
        case 0xB8..<0xC0: set(.movRI, dst: UInt8(op & 7), imm: d.imm)
        case 0xC1 where regForm, 0xD1 where regForm:
            let count = op == 0xD1 ? 1 : d.imm & 0x1F
            var form = FastForm.shiftRI
            // A zero count changes nothing, flags included: shiftRotate handles it.
            if count != 0 {
                switch reg {
                case 4, 6: form = .shlRI
                case 5: form = .shrRI
                case 7: form = .sarRI
                default: break
                }
            }
            set(form, sub: reg, dst: rm, imm: count)
        case 0x70..<0x80:
            set(.jcc, sub: UInt8(op & 0xF), imm: UInt32(bitPattern: Int32(Int8(truncatingIfNeeded: d.imm))))
        case 0x180..<0x190: set(.jcc, sub: UInt8(op & 0xF), imm: d.imm)
        case 0xEB: set(.jmp, imm: UInt32(bitPattern: Int32(Int8(truncatingIfNeeded: d.imm))))
        case 0xE9: set(.jmp, imm: d.imm)
        case 0xE8: set(.call, imm: d.imm)
        case 0xC3: set(.ret)
        case 0x1AF where regForm: set(.imulRR, dst: reg, src: rm)
        default: break
        }
    }
}
