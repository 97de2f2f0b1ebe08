/// One row of the instruction description: what a particular opcode (and,
/// for groups, ModRM.reg or the whole ModRM of an x87 register form) means.
/// The decoder reads its immediate kind and flags; the disassembler reads
/// the mnemonics and operands.
public struct InstructionForm: Sendable {
    /// Intel-syntax mnemonic for a 16-bit and a 32-bit operand size (the
    /// same unless the name changes, as CBW/CWDE). For `.byAddressSize`
    /// forms (JCXZ/JECXZ) the pair is indexed by address size instead.
    public let mnemonic16: String
    public let mnemonic32: String
    /// AT&T mnemonics where they are not the Intel one plus a size suffix
    /// (CBTW/CWTL, LCALL, LRET, MOVZB...); nil otherwise.
    public let attMnemonic16: String?
    public let attMnemonic32: String?
    public let operands: [OperandSpec]
    public let flags: Flags
    public let immediate: ImmediateKind
    /// The description line it came from, for error messages and tests.
    public let source: String

    public struct Flags: OptionSet, Sendable {
        public let rawValue: UInt16
        public init(rawValue: UInt16) { self.rawValue = rawValue }
        /// Defined by the table; otherwise the form is a hole (#UD).
        public static let valid = Flags(rawValue: 1 << 0)
        /// LOCK is allowed (with a memory destination).
        public static let lockable = Flags(rawValue: 1 << 1)
        /// Raises #UD by definition (UD2, UD1, UD0) though it has a name.
        public static let undefined = Flags(rawValue: 1 << 2)
        /// Only the memory form (mod != 3) exists; mod = 3 is #UD.
        public static let memoryOnly = Flags(rawValue: 1 << 3)
        /// Only the register form (mod = 3) exists.
        public static let registerOnly = Flags(rawValue: 1 << 4)
        /// ModRM.mod is ignored and r/m is always a register (MOV CRn/DRn).
        public static let modIgnored = Flags(rawValue: 1 << 5)
        /// The mnemonic pair is chosen by address size, not operand size.
        public static let byAddressSize = Flags(rawValue: 1 << 6)
        /// A prefix byte (the decoder consumes it before the opcode).
        public static let prefix = Flags(rawValue: 1 << 7)
        /// An x87 escape (D8–DF): #NM from CR0.EM/TS comes before #UD.
        public static let x87 = Flags(rawValue: 1 << 8)
        /// Objdump-style name changes: a `w`/`d` suffix on the Intel
        /// mnemonic when 66 makes the operand size differ from the code
        /// size (PUSHA, PUSHF, IRET, RETF, LEAVE, PUSH imm...).
        public static let sizeSuffix = Flags(rawValue: 1 << 9)
        /// A `w`/`d` size suffix whatever the size (SGDT, SIDT, LGDT, LIDT:
        /// the operand size decides how much of the base is stored).
        public static let sizeSuffixAlways = Flags(rawValue: 1 << 10)
    }

    public var isValid: Bool { flags.contains(.valid) && !flags.contains(.undefined) }

    /// The Intel mnemonic for the given size (operand size, or address size
    /// for `.byAddressSize` forms).
    public func mnemonic(size32: Bool) -> String { size32 ? mnemonic32 : mnemonic16 }
}
