/// x87 register file and control state: what the CPU checkpoints and what
/// FNINIT resets. Values are kept in the register format (80 bits) by
/// physical register; the stack top lives in the status word as on the
/// chip. Arithmetic is in FPU/ (pure functions on `X87Float`).
public struct FPUState: Equatable {
    /// Physical registers R0–R7.
    public var registers = [X87Float](repeating: .zero, count: 8)
    public var control: UInt16 = 0x037F
    /// Status word including TOP (bits 11–13).
    public var status: UInt16 = 0
    /// Full tag word (2 bits per physical register; 3 = empty). Only
    /// "empty or not" is authoritative; the other encodings are derived
    /// from the contents when software reads the tag word.
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

    var top: Int {
        get { Int((status >> 11) & 7) }
        set { status = (status & ~0x3800) | UInt16(newValue & 7) << 11 }
    }

    /// Physical index of ST(i).
    @inline(__always) func physical(_ i: Int) -> Int { (top + i) & 7 }
    @inline(__always) func isEmpty(_ i: Int) -> Bool { (tag >> UInt16(physical(i) * 2)) & 3 == 3 }
    @inline(__always) func st(_ i: Int) -> X87Float { registers[physical(i)] }

    mutating func setST(_ i: Int, _ v: X87Float) {
        let p = physical(i)
        registers[p] = v
        tag &= ~(3 << UInt16(p * 2))
    }

    mutating func free(_ i: Int) {
        tag |= 3 << UInt16(physical(i) * 2)
    }

    mutating func pop() {
        free(0)
        top = top + 1
    }

    /// The tag word as FSTENV/FSAVE store it: valid, zero, special, empty.
    var architecturalTag: UInt16 {
        var t: UInt16 = 0
        for p in 0..<8 {
            var v: UInt16
            if (tag >> UInt16(p * 2)) & 3 == 3 {
                v = 3
            } else {
                switch registers[p].kind {
                case .zero: v = 1
                case .normal: v = 0
                default: v = 2
                }
            }
            t |= v << UInt16(p * 2)
        }
        return t
    }
}

extension CPU {
    /// WAIT/FWAIT: #NM when CR0.MP and CR0.TS; pending unmasked x87
    /// exceptions are reported here too.
    func fpuWait() throws(CPUFault) {
        if cr0 & CR0.mp != 0 && cr0 & CR0.ts != 0 { throw CPUFault.nm() }
        try reportPendingFPUException()
    }

    /// An unmasked x87 exception (ES set) is reported at the next waiting
    /// x87 instruction: #MF with CR0.NE, otherwise the board's FERR#/IRQ 13
    /// path, which was signalled when ES was set.
    func reportPendingFPUException() throws(CPUFault) {
        if fpu.status & 0x80 != 0 && cr0 & CR0.ne != 0 { throw CPUFault(.floatingPoint) }
    }

    /// D8–DF escape opcodes.
    func fpuEscape(_ op: UInt8) throws(CPUFault) {
        if cr0 & (CR0.em | CR0.ts) != 0 { throw CPUFault.nm() }
        let modrm = instModRM
        if modrm < 0xC0 { decodeEA() }
        try executeX87(op, modrm)
    }
}
