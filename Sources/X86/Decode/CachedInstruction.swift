/// One entry of the decode cache: the decoded instruction plus what the
/// executor would otherwise work out from ModRM/SIB on every execution —
/// which registers form the effective address and which segment it uses.
///
/// The address is `regs[eaBase] + regs[eaIndex] << eaScale + disp`, masked
/// to the address size; register number 8 is a register that always holds
/// zero, so every addressing form (16-bit pairs, SIB, absolute) is the same
/// three-term sum with no branches.
struct CachedInstruction {
    var decoded = DecodedInstruction()
    var eaBase: UInt8 = CPU.zeroRegister
    var eaIndex: UInt8 = CPU.zeroRegister
    var eaScale: UInt8 = 0
    /// Segment of the memory operand, override applied (CPU.segES...segGS).
    var eaSegment: UInt8 = UInt8(CPU.segDS)
    /// The hot form this instruction has, if any, and its operands
    /// (FastForm.swift): an operation or condition code, register indexes,
    /// and an immediate or displacement extended to 32 bits.
    var fast = FastForm.general
    var fastSub: UInt8 = 0
    var fastDst: UInt8 = 0
    var fastSrc: UInt8 = 0
    var fastImm: UInt32 = 0

    init() {}

    /// Fills the address fields from the decoded ModRM/SIB, and the fast
    /// form (`valid`: the decoder accepted the instruction).
    mutating func prepare(valid: Bool) {
        classifyFastForm(valid: valid)
        let d = decoded
        eaBase = CPU.zeroRegister
        eaIndex = CPU.zeroRegister
        eaScale = 0
        var seg = CPU.segDS
        if d.hasMemoryOperand {
            let mod = d.mod, rm = d.rm
            if d.addrsize32 {
                if d.hasSIB {
                    let base = d.sib & 7, index = (d.sib >> 3) & 7
                    if !(base == 5 && mod == 0) {
                        eaBase = base
                        if base == 4 || base == 5 { seg = CPU.segSS }
                    }
                    if index != 4 { eaIndex = index; eaScale = d.sib >> 6 }
                } else if !(rm == 5 && mod == 0) {
                    eaBase = rm
                    if rm == 5 { seg = CPU.segSS }
                }
            } else {
                switch rm {
                case 0: eaBase = 3; eaIndex = 6
                case 1: eaBase = 3; eaIndex = 7
                case 2: eaBase = 5; eaIndex = 6; seg = CPU.segSS
                case 3: eaBase = 5; eaIndex = 7; seg = CPU.segSS
                case 4: eaBase = 6
                case 5: eaBase = 7
                case 6: if mod != 0 { eaBase = 5; seg = CPU.segSS }
                default: eaBase = 3
                }
            }
        }
        eaSegment = UInt8(d.segOverride >= 0 ? Int(d.segOverride) : seg)
    }
}
