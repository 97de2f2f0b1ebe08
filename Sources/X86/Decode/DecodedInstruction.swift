/// One instruction as the decoder sees it, before execution: which bytes
/// are prefixes, opcode, ModRM, SIB, displacement and immediates.
///
/// This is the contract between the instruction description table, the
/// decoder built from it, the per-page decoded-instruction cache, the
/// executor and the disassembler: they all read these fields, so the CPU and
/// the debugger cannot disagree on where an instruction ends or what its
/// operands are.
public struct DecodedInstruction: Equatable, Sendable {
    /// Total length in bytes, prefixes included (1...15).
    public var length: UInt8 = 0
    /// 0x000–0x0FF for one-byte opcodes, 0x100–0x1FF for 0F xx.
    public var opcode: UInt16 = 0
    /// Effective operand and address size after 66/67 against the code size.
    public var opsize32 = false
    public var addrsize32 = false
    /// Whether 66 / 67 appeared (for the disassembler and teaching views).
    public var hasOpsizePrefix = false
    public var hasAddrsizePrefix = false
    /// Segment override register index (CPU.segES...segGS), or -1.
    public var segOverride: Int8 = -1
    /// 0, 0xF2 (REPNE) or 0xF3 (REP/REPE): the last of the two seen.
    public var repPrefix: UInt8 = 0
    public var lockPrefix = false
    /// Number of prefix bytes before the opcode.
    public var prefixCount: UInt8 = 0
    public var hasModRM = false
    public var modrm: UInt8 = 0
    public var hasSIB = false
    public var sib: UInt8 = 0
    /// Displacement, sign-extended to 32 bits; `dispSize` is 0, 1, 2 or 4.
    public var disp: UInt32 = 0
    public var dispSize: UInt8 = 0
    /// First immediate (zero-extended as stored in the bytes); 0, 1, 2 or 4.
    public var imm: UInt32 = 0
    public var immSize: UInt8 = 0
    /// Second immediate: ENTER's nesting level, a far pointer's selector.
    public var imm2: UInt32 = 0
    public var imm2Size: UInt8 = 0
    /// Index of the instruction form in `InstructionTable.shared.forms`
    /// (0: an undefined opcode). Filled by `InstructionDecoder`.
    public var form: UInt16 = 0

    public init() {}

    @inline(__always) public var isTwoByte: Bool { opcode >= 0x100 }
    @inline(__always) public var mod: UInt8 { modrm >> 6 }
    @inline(__always) public var reg: UInt8 { (modrm >> 3) & 7 }
    @inline(__always) public var rm: UInt8 { modrm & 7 }
    @inline(__always) public var hasMemoryOperand: Bool { hasModRM && modrm < 0xC0 }
}
