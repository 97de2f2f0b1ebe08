/// x87 register file and control state. The arithmetic lives in the FPU
/// module files; this is what the CPU checkpoints and what FNINIT resets.
public struct FPUState: Equatable {
    /// ST registers by physical index (0...7): sign+exponent and significand.
    public var exponents = [UInt16](repeating: 0, count: 8)
    public var significands = [UInt64](repeating: 0, count: 8)
    public var control: UInt16 = 0x037F
    public var status: UInt16 = 0
    /// Full 16-bit tag word (2 bits per physical register; 3 = empty).
    public var tag: UInt16 = 0xFFFF
    public var lastIP: UInt32 = 0
    public var lastCS: UInt16 = 0
    public var lastOpcode: UInt16 = 0
    public var lastDP: UInt32 = 0
    public var lastDS: UInt16 = 0

    public init() {}

    mutating func reset() {
        self = FPUState()
        control = 0x0040 // power-on value; FNINIT sets 0x037F
    }

    mutating func initialize() {
        control = 0x037F
        status = 0
        tag = 0xFFFF
        lastIP = 0; lastCS = 0; lastOpcode = 0; lastDP = 0; lastDS = 0
    }
}

extension CPU {
    /// WAIT/FWAIT: #NM when CR0.MP and CR0.TS, pending unmasked x87
    /// exceptions are reported here too.
    func fpuWait() throws(CPUFault) {
        if cr0 & CR0.mp != 0 && cr0 & CR0.ts != 0 { throw CPUFault.nm() }
        try reportPendingFPUException()
    }

    func reportPendingFPUException() throws(CPUFault) {
        // The error summary bit (ES) with CR0.NE gives #MF; the legacy
        // FERR# path is the board's business.
        if fpu.status & 0x80 != 0 && cr0 & CR0.ne != 0 { throw CPUFault(.floatingPoint) }
    }

    /// D8–DF escape opcodes.
    func fpuEscape(_ op: UInt8) throws(CPUFault) {
        if cr0 & (CR0.em | CR0.ts) != 0 { throw CPUFault.nm() }
        let modrm = try fetch8()
        if modrm < 0xC0 { try decodeEA(modrm) }
        try executeX87(op, modrm)
    }
}
