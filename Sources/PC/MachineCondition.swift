import X86

/// Moments a test or a user can ask the machine to stop at: "suspend while
/// an interrupt handler runs", "... in the middle of a REP MOVS", "... while
/// a disk DMA transfer is in flight", "... when the guest prints login:".
/// The capsule equivalence proof splits runs at exactly these moments,
/// because they are where a save that forgot a piece of state would show.
public enum MachineCondition: Equatable, Sendable {
    /// An interrupt is in service at the PIC (the handler has not sent EOI).
    case interruptHandler
    /// The CPU is between two iterations of a REP string instruction.
    case repString
    /// An IDE bus-master transfer is started and not yet stopped.
    case diskDMA
    /// The guest is in the middle of a line of serial output.
    case serialOutput
    /// A user-mode program has live values in the x87 registers.
    case fpuInUse
    /// COM1's output has just ended with these bytes.
    case serialText([UInt8])

    public static let specHelp = "irq, rep, dma, serial, fpu or text:STRING"

    /// Parses the command-line form (`irq`, `text:login:`...).
    public init?(spec: String) {
        switch spec {
        case "irq": self = .interruptHandler
        case "rep": self = .repString
        case "dma": self = .diskDMA
        case "serial": self = .serialOutput
        case "fpu": self = .fpuInUse
        default:
            guard spec.hasPrefix("text:"), spec.count > 5 else { return nil }
            self = .serialText(Array(spec.dropFirst(5).utf8))
        }
    }

    public var spec: String {
        switch self {
        case .interruptHandler: return "irq"
        case .repString: return "rep"
        case .diskDMA: return "dma"
        case .serialOutput: return "serial"
        case .fpuInUse: return "fpu"
        case .serialText(let t): return "text:" + String(decoding: t, as: UTF8.self)
        }
    }
}

extension Machine {
    /// Runs until `condition` holds at an instruction boundary, for at most
    /// `budget` instructions. Returns the stop reason if the machine stopped
    /// for another reason first (`.instructionLimit` when the budget ran
    /// out), `nil` when the condition was met.
    ///
    /// State conditions are checked every few instructions, which is slower
    /// than a free run but, like every run, deterministic: the stop point
    /// depends only on the machine's state. Serial text is watched byte by
    /// byte at full speed.
    public func run(until condition: MachineCondition, budget: UInt64) -> StopReason? {
        if case .serialText(let pattern) = condition { return run(untilSerialText: pattern, budget: budget) }
        let start = cpu.instructionCount
        while cpu.instructionCount &- start < budget {
            if holds(condition) { return nil }
            let tx = com1.transmittedCount
            let r = run(instructions: Machine.conditionChunk)
            if r != .instructionLimit { return r }
            switch condition {
            case .repString:
                // On a REP string instruction with iterations to go: run one
                // more; if EIP stayed and the count moved, we are between two.
                guard cpu.gpr(1) != 0, atRepStringInstruction() else { break }
                let before = (eip: cpu.eip, ecx: cpu.gpr(1))
                let r = run(instructions: 1)
                if r != .instructionLimit { return r }
                if cpu.eip == before.eip && cpu.gpr(1) != before.ecx { return nil }
            case .serialOutput:
                // A byte went out in the last few instructions and it did not end a line.
                if com1.transmittedCount != tx && com1.lastTransmitted != 10 { return nil }
            default:
                break
            }
        }
        return .instructionLimit
    }

    /// How far the machine runs between checks: short enough that a
    /// condition lasting a few dozen instructions is seen.
    static let conditionChunk: UInt64 = 16

    private func run(untilSerialText pattern: [UInt8], budget: UInt64) -> StopReason? {
        let downstream = com1.transmit
        var tail: [UInt8] = []
        var matched = false
        com1.transmit = { [cpu] b in
            downstream?(b)
            tail.append(b)
            if tail.count > pattern.count { tail.removeFirst() }
            if tail == pattern {
                matched = true
                cpu.requestStop()
            }
        }
        defer { com1.transmit = downstream }
        let r = run(instructions: budget)
        return matched ? nil : r
    }

    func holds(_ condition: MachineCondition) -> Bool {
        switch condition {
        case .interruptHandler: return pic.master.isr != 0 || pic.slave.isr != 0
        case .diskDMA: return ide.dmaInFlight
        case .fpuInUse: return cpu.cpl == 3 && cpu.cr0 & 0x8 == 0 && cpu.fpu.tag != 0xFFFF
        case .repString, .serialOutput, .serialText: return false
        }
    }

    /// Whether CS:EIP holds a REP/REPNE-prefixed string instruction.
    private func atRepStringInstruction() -> Bool {
        let lin = cpu.segment(1).base &+ cpu.eip
        guard let bytes = cpu.debugRead(linear: lin, count: 15) else { return false }
        var rep = false
        for b in bytes {
            switch b {
            case 0xF2, 0xF3: rep = true
            case 0x26, 0x2E, 0x36, 0x3E, 0x64, 0x65, 0x66, 0x67, 0xF0: continue
            case 0xA4...0xA7, 0xAA...0xAF, 0x6C...0x6F: return rep
            default: return false
            }
        }
        return false
    }
}
