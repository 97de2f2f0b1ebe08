/// A 16550A UART (National Semiconductor data sheet register set): divisor
/// latch, line and modem control, 16-byte receive FIFO, interrupt
/// identification by priority, scratch register, loopback.
///
/// Transmission is instantaneous (the line is the host's stdout or a
/// file), so THR is always empty; received bytes come from `receive`.
public final class Uart16550: PortDevice {
    public let base: UInt16
    /// Where transmitted bytes go.
    public var transmit: ((UInt8) -> Void)?
    /// Bytes sent so far and the last of them: observation only (not
    /// machine state), for "suspend during serial output".
    public private(set) var transmittedCount: UInt64 = 0
    public private(set) var lastTransmitted: UInt8 = 0
    /// Called with the new level of the UART's interrupt output.
    public var irq: ((Bool) -> Void)?

    var rbrFIFO: [UInt8] = []
    var ier: UInt8 = 0
    var lcr: UInt8 = 0
    var mcr: UInt8 = 0
    var scr: UInt8 = 0
    var dll: UInt8 = 0x0C
    var dlm: UInt8 = 0
    var fifoEnabled = false
    var overrun = false
    /// THR-empty interrupt pending (cleared by reading IIR or writing THR).
    var threInterrupt = false
    var irqLevel = false

    public init(base: UInt16) { self.base = base }

    public var pendingInput: Int { rbrFIFO.count }

    /// Bytes arriving on the serial line.
    public func receive(_ byte: UInt8) {
        if !canReceive {
            overrun = true
            return
        }
        rbrFIFO.append(byte)
        updateIRQ()
    }

    /// Room in the receive FIFO (the console feeds input no faster).
    public var canReceive: Bool { rbrFIFO.count < (fifoEnabled ? 16 : 1) }

    var dlab: Bool { lcr & 0x80 != 0 }

    var lsr: UInt8 {
        var v: UInt8 = 0x60 // THR empty, transmitter empty
        if !rbrFIFO.isEmpty { v |= 0x01 }
        if overrun { v |= 0x02 }
        return v
    }

    var iir: UInt8 {
        let fifoBits: UInt8 = fifoEnabled ? 0xC0 : 0
        if ier & 0x01 != 0 && !rbrFIFO.isEmpty { return fifoBits | 0x04 }
        if ier & 0x02 != 0 && threInterrupt { return fifoBits | 0x02 }
        return fifoBits | 0x01
    }

    func updateIRQ() {
        // OUT2 gates the interrupt line to the PIC on PC serial cards.
        let level = iir & 1 == 0 && mcr & 0x08 != 0
        if level != irqLevel {
            irqLevel = level
            irq?(level)
        }
    }

    public func portRead(_ port: UInt16, width: Int) -> UInt32 {
        let r: UInt8
        switch port &- base {
        case 0:
            if dlab { r = dll } else {
                r = rbrFIFO.isEmpty ? 0 : rbrFIFO.removeFirst()
            }
        case 1: r = dlab ? dlm : ier
        case 2:
            r = iir
            if r & 0x0F == 0x02 { threInterrupt = false }
        case 3: r = lcr
        case 4: r = mcr
        case 5:
            r = lsr
            overrun = false
        case 6:
            // Loopback reflects MCR; otherwise report a connected modem (CTS DSR DCD).
            r = mcr & 0x10 != 0 ? (mcr & 0x0F) << 4 : 0xB0
        default: r = scr
        }
        updateIRQ()
        return UInt32(r)
    }

    public func portWrite(_ port: UInt16, width: Int, value: UInt32) {
        let v = UInt8(truncatingIfNeeded: value)
        switch port &- base {
        case 0:
            if dlab { dll = v } else {
                if mcr & 0x10 != 0 { receive(v) } else {
                    transmittedCount &+= 1
                    lastTransmitted = v
                    transmit?(v)
                }
                threInterrupt = true
            }
        case 1:
            if dlab { dlm = v } else {
                let enablingTHRE = v & 0x02 != 0 && ier & 0x02 == 0
                ier = v & 0x0F
                if enablingTHRE { threInterrupt = true }
            }
        case 2:
            fifoEnabled = v & 0x01 != 0
            if v & 0x02 != 0 { rbrFIFO.removeAll() }
        case 3: lcr = v
        case 4: mcr = v & 0x1F
        case 7: scr = v
        default: break
        }
        updateIRQ()
    }
}
