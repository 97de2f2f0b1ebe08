import X86

/// One Intel 8259A programmable interrupt controller, as the PC wires it
/// (8086/88 mode, the PIIX3's ELCR instead of the LTIM bit).
///
/// Request latching: an input in edge mode sets its IRR bit on a rising
/// edge and the bit stays set until the request is acknowledged (a pulse
/// shorter than the CPU's reaction is not lost); an input in level mode
/// (ELCR bit set) has its IRR bit follow the input level.
public final class Pic8259 {
    // MARK: Registers (plain stored state, saved and restored as is)

    public internal(set) var irr: UInt8 = 0
    public internal(set) var isr: UInt8 = 0
    public internal(set) var imr: UInt8 = 0
    /// Current level of the eight IR inputs.
    public internal(set) var inputs: UInt8 = 0
    /// Edge/level control (PIIX ELCR): bit set = level triggered.
    public internal(set) var elcr: UInt8 = 0
    /// Bits of `elcr` software may change.
    let elcrWritable: UInt8
    /// ICW2: vector base (low three bits are the IR number).
    public internal(set) var vectorBase: UInt8 = 0
    var icw1: UInt8 = 0
    var icw3: UInt8 = 0
    var icw4: UInt8 = 0
    /// 0 = initialised (OCWs); 2, 3, 4 = expecting that ICW next.
    var initStep = 0
    /// The IR of lowest priority (priority rotates from it): 7 after init.
    var lowestPriority: UInt8 = 7
    var autoEOI = false
    var rotateOnAutoEOI = false
    var specialMask = false
    var specialFullyNested = false
    /// OCW3 RIS: the command port reads ISR instead of IRR.
    var readISR = false
    /// OCW3 P: the next command-port read is a poll.
    var pollPending = false

    init(elcrWritable: UInt8) {
        self.elcrWritable = elcrWritable
    }

    // MARK: Priority resolution

    /// Priority rank of `ir` (0 = highest).
    @inline(__always) func rank(_ ir: Int) -> Int { (ir - Int(lowestPriority) - 1) & 7 }

    /// The highest-priority IR among `bits`, if any.
    func highest(_ bits: UInt8) -> Int? {
        guard bits != 0 else { return nil }
        for r in 0..<8 {
            let ir = (r + Int(lowestPriority) + 1) & 7
            if bits & (1 << ir) != 0 { return ir }
        }
        return nil
    }

    /// The request the chip would present to the CPU now, if any: the
    /// highest-priority unmasked request that outranks everything in service.
    func pendingRequest() -> Int? {
        guard initStep == 0, let req = highest(irr & ~imr) else { return nil }
        // In special mask mode masked in-service levels do not block.
        let inService = specialMask ? isr & ~imr : isr
        guard let busy = highest(inService) else { return req }
        if rank(req) < rank(busy) { return req }
        // Special fully nested mode: a slave's cascade input may interrupt
        // its own in-service level (a higher request on the slave).
        if specialFullyNested && req == busy && icw3 & (1 << req) != 0 && icw1 & 0x02 == 0 { return req }
        return nil
    }

    /// Level of the INT output.
    var intOutput: Bool { pendingRequest() != nil }

    // MARK: Inputs

    func setInput(_ ir: Int, _ level: Bool) {
        let bit = UInt8(1) << ir
        let old = inputs & bit != 0
        if level { inputs |= bit } else { inputs &= ~bit }
        if elcr & bit != 0 {
            if level { irr |= bit } else { irr &= ~bit }
        } else if level && !old {
            irr |= bit
        }
    }

    /// First half of an interrupt acknowledge: returns the IR being
    /// serviced, or nil for a spurious request (IR7 vector, no ISR bit).
    func acknowledge() -> Int? {
        guard let ir = pendingRequest() else { return nil }
        let bit = UInt8(1) << ir
        // Edge requests are consumed; level requests stay while the input is high.
        if elcr & bit == 0 { irr &= ~bit } else if inputs & bit == 0 { irr &= ~bit }
        if autoEOI {
            if rotateOnAutoEOI { lowestPriority = UInt8(ir) }
        } else {
            isr |= bit
        }
        return ir
    }

    func vector(for ir: Int) -> UInt8 { (vectorBase & 0xF8) | UInt8(ir) }

    // MARK: Registers

    func readCommand() -> UInt8 {
        if pollPending {
            pollPending = false
            if let ir = acknowledge() { return 0x80 | UInt8(ir) }
            return 0
        }
        return readISR ? isr : irr
    }

    func readData() -> UInt8 {
        if pollPending {
            return readCommand()
        }
        return imr
    }

    func writeCommand(_ v: UInt8) {
        if v & 0x10 != 0 {
            // ICW1
            icw1 = v
            initStep = 2
            imr = 0
            isr = 0
            // The edge sense latches are reset: edge inputs need a new rising edge.
            irr = inputs & elcr
            lowestPriority = 7
            specialMask = false
            readISR = false
            pollPending = false
            if v & 0x01 == 0 {
                icw4 = 0
                autoEOI = false
                specialFullyNested = false
            }
            rotateOnAutoEOI = false
            return
        }
        if v & 0x08 != 0 {
            // OCW3
            if v & 0x04 != 0 { pollPending = true }
            if v & 0x02 != 0 { readISR = v & 0x01 != 0 }
            if v & 0x40 != 0 { specialMask = v & 0x20 != 0 }
            return
        }
        // OCW2
        let level = Int(v & 7)
        switch v >> 5 {
        case 0b001: // non-specific EOI
            if let ir = highest(isr) { isr &= ~(1 << ir) }
        case 0b011: // specific EOI
            isr &= ~(1 << level)
        case 0b101: // rotate on non-specific EOI
            if let ir = highest(isr) {
                isr &= ~(1 << ir)
                lowestPriority = UInt8(ir)
            }
        case 0b100: rotateOnAutoEOI = true
        case 0b000: rotateOnAutoEOI = false
        case 0b111: // rotate on specific EOI
            isr &= ~(1 << level)
            lowestPriority = UInt8(level)
        case 0b110: // set priority
            lowestPriority = UInt8(level)
        default: break // 0b010: no operation
        }
    }

    func writeData(_ v: UInt8) {
        switch initStep {
        case 2:
            vectorBase = v & 0xF8
            if icw1 & 0x02 == 0 { initStep = 3 } else { initStep = icw1 & 0x01 != 0 ? 4 : 0 }
        case 3:
            icw3 = v
            initStep = icw1 & 0x01 != 0 ? 4 : 0
        case 4:
            icw4 = v
            autoEOI = v & 0x02 != 0
            specialFullyNested = v & 0x10 != 0
            initStep = 0
        default:
            imr = v
        }
    }

    func writeELCR(_ v: UInt8) {
        elcr = v & elcrWritable
        // Level inputs follow their pins at once.
        irr = (irr & ~elcr) | (inputs & elcr)
    }

    func reset() {
        irr = 0; isr = 0; imr = 0; inputs = 0; elcr = 0
        vectorBase = 0; icw1 = 0; icw3 = 0; icw4 = 0; initStep = 0
        lowestPriority = 7; autoEOI = false; rotateOnAutoEOI = false
        specialMask = false; specialFullyNested = false; readISR = false; pollPending = false
    }

    // MARK: State

    func saveState(prefix p: String, into s: inout [String: UInt64]) {
        s[p + "irr"] = UInt64(irr); s[p + "isr"] = UInt64(isr); s[p + "imr"] = UInt64(imr)
        s[p + "inputs"] = UInt64(inputs); s[p + "elcr"] = UInt64(elcr)
        s[p + "vectorBase"] = UInt64(vectorBase); s[p + "icw1"] = UInt64(icw1)
        s[p + "icw3"] = UInt64(icw3); s[p + "icw4"] = UInt64(icw4)
        s[p + "initStep"] = UInt64(initStep); s[p + "lowestPriority"] = UInt64(lowestPriority)
        var flags: UInt64 = 0
        if autoEOI { flags |= 1 }
        if rotateOnAutoEOI { flags |= 2 }
        if specialMask { flags |= 4 }
        if specialFullyNested { flags |= 8 }
        if readISR { flags |= 16 }
        if pollPending { flags |= 32 }
        s[p + "flags"] = flags
    }

    func restoreState(prefix p: String, from s: [String: UInt64]) {
        func b(_ k: String) -> UInt8 { UInt8(truncatingIfNeeded: s[p + k] ?? 0) }
        irr = b("irr"); isr = b("isr"); imr = b("imr"); inputs = b("inputs"); elcr = b("elcr")
        vectorBase = b("vectorBase"); icw1 = b("icw1"); icw3 = b("icw3"); icw4 = b("icw4")
        initStep = Int(b("initStep")); lowestPriority = b("lowestPriority") & 7
        let f = s[p + "flags"] ?? 0
        autoEOI = f & 1 != 0; rotateOnAutoEOI = f & 2 != 0; specialMask = f & 4 != 0
        specialFullyNested = f & 8 != 0; readISR = f & 16 != 0; pollPending = f & 32 != 0
    }
}

/// The PC/AT pair of 8259As: master at 0x20/0x21 (IRQ 0–7), slave at
/// 0xA0/0xA1 (IRQ 8–15) cascaded on master IR2, and the PIIX3 edge/level
/// control registers at 0x4D0/0x4D1.
///
/// Register it for ports 0x20...0x21, 0xA0...0xA1 and 0x4D0...0x4D1, set
/// `intr` to drive the CPU's INTR line and make it the CPU's
/// `interruptController`.
public final class Pic8259Pair: PortDevice, InterruptAcknowledging {
    public let master = Pic8259(elcrWritable: 0xF8) // IRQ 0, 1, 2 are always edge
    public let slave = Pic8259(elcrWritable: 0xDE)  // IRQ 8 and 13 are always edge
    /// Called with the new level of the master's INT output (the CPU's INTR).
    public var intr: ((Bool) -> Void)?
    /// Last level passed to `intr`.
    public private(set) var intrLevel = false

    public init() {}

    /// Drives IRQ line `irq` (0–15). IRQ 2 is the cascade and is ignored.
    public func setIRQ(_ irq: Int, level: Bool) {
        precondition(irq >= 0 && irq < 16, "IRQ out of range")
        if irq < 8 {
            if irq == 2 { return }
            master.setInput(irq, level)
        } else {
            slave.setInput(irq - 8, level)
        }
        update()
    }

    /// Propagates the slave's INT to master IR2 and the master's INT to the CPU.
    func update() {
        master.setInput(2, slave.intOutput)
        let level = master.intOutput
        if level != intrLevel {
            intrLevel = level
            intr?(level)
        }
    }

    /// The INTA cycle: the vector of the highest-priority request. With no
    /// request left (it went away, or was masked, after INTR rose) the
    /// 8259A answers with its IR7 vector and sets no ISR bit: IRQ 7, or
    /// IRQ 15 from the slave (then the master's IR2 *is* in service).
    public func acknowledgeInterrupt() -> UInt8 {
        let vector: UInt8
        if let ir = master.acknowledge() {
            if ir == 2 && master.icw1 & 0x02 == 0 && master.icw3 & 0x04 != 0 {
                if let sir = slave.acknowledge() {
                    vector = slave.vector(for: sir)
                } else {
                    vector = slave.vector(for: 7)
                }
            } else {
                vector = master.vector(for: ir)
            }
        } else {
            vector = master.vector(for: 7)
        }
        update()
        return vector
    }

    public func portRead(_ port: UInt16, width: Int) -> UInt32 {
        let v: UInt8
        switch port {
        case 0x20: v = master.readCommand()
        case 0x21: v = master.readData()
        case 0xA0: v = slave.readCommand()
        case 0xA1: v = slave.readData()
        case 0x4D0: v = master.elcr
        case 0x4D1: v = slave.elcr
        default: return 0xFF
        }
        update()
        if width == 2 && port == 0x4D0 { return UInt32(v) | UInt32(slave.elcr) << 8 }
        return UInt32(v)
    }

    public func portWrite(_ port: UInt16, width: Int, value: UInt32) {
        let v = UInt8(truncatingIfNeeded: value)
        switch port {
        case 0x20: master.writeCommand(v)
        case 0x21: master.writeData(v)
        case 0xA0: slave.writeCommand(v)
        case 0xA1: slave.writeData(v)
        case 0x4D0:
            master.writeELCR(v)
            if width == 2 { slave.writeELCR(UInt8(truncatingIfNeeded: value >> 8)) }
        case 0x4D1: slave.writeELCR(v)
        default: return
        }
        update()
    }

    /// Power-on state (all registers zero, uninitialised).
    public func reset() {
        master.reset()
        slave.reset()
        update()
    }

    public func saveState() -> [String: UInt64] {
        var s: [String: UInt64] = [:]
        master.saveState(prefix: "master.", into: &s)
        slave.saveState(prefix: "slave.", into: &s)
        s["intrLevel"] = intrLevel ? 1 : 0
        return s
    }

    /// Restores registers; `intr` is called if the output level differs.
    public func restoreState(_ s: [String: UInt64]) {
        master.restoreState(prefix: "master.", from: s)
        slave.restoreState(prefix: "slave.", from: s)
        intrLevel = (s["intrLevel"] ?? 0) != 0
        update()
    }
}
