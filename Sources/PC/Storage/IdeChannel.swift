import X86

/// One IDE channel (cable): up to two devices sharing the command block
/// registers (base+0…7), the control block (device control / alternate
/// status), one interrupt line and one bus-master DMA engine.
///
/// Writes to the command block registers reach both devices, as on the
/// cable; reads, data transfers and commands go to the device selected by
/// the DEV bit of the device register. A selected device that is absent
/// reads as 00h in every register (so drivers see it as missing), and a
/// channel with no device at all reads as FFh (a floating bus).
public final class IdeChannel {
    public let index: Int
    public private(set) var devices: [IdeDevice?] = [nil, nil]
    /// Level of the channel's interrupt line (IRQ 14 or 15 in legacy mode).
    public var irq: ((Bool) -> Void)?
    public let busMaster: IdeBusMaster
    /// Receives one line per unimplemented command or packet opcode, the
    /// first time a device sees it.
    var log: ((String) -> Void)?

    var selected = 0
    /// Device control register: bit 1 nIEN, bit 2 SRST, bit 7 HOB.
    var deviceControl: UInt8 = 0
    var irqLevel = false

    init(index: Int, memory: PhysicalMemory?) {
        self.index = index
        busMaster = IdeBusMaster(memory: memory)
        busMaster.channel = self
    }

    func attach(_ device: IdeDevice, position: Int) {
        precondition(position == 0 || position == 1, "IDE device position is 0 (master) or 1 (slave)")
        precondition(devices[position] == nil, "IDE channel \(index) position \(position) is taken")
        device.channel = self
        device.position = position
        devices[position] = device
        device.reset()
        busMaster.status |= position == 0 ? 0x20 : 0x40
    }

    var current: IdeDevice? { devices[selected] }
    var isEmpty: Bool { devices[0] == nil && devices[1] == nil }
    var nIEN: Bool { deviceControl & 0x02 != 0 }

    // MARK: - Registers

    /// Reads command block register `reg` (0…7), one byte (the data
    /// register goes through `readData`).
    func readRegister(_ reg: Int) -> UInt8 {
        if isEmpty { return 0xFF }
        guard let d = current else { return 0 }
        if deviceControl & 0x04 != 0 && reg == 7 { return AtaStatus.bsy }
        let v = d.readRegister(reg, hob: deviceControl & 0x80 != 0)
        if reg == 7 { d.clearInterrupt() }
        return v
    }

    func writeRegister(_ reg: Int, _ value: UInt8) {
        // Any command block write clears HOB.
        deviceControl &= 0x7F
        switch reg {
        case 1...6:
            for d in devices { d?.writeRegister(reg, value) }
            if reg == 6 {
                let old = selected
                selected = Int(value >> 4) & 1
                if old != selected { updateIRQ() }
            }
        case 7:
            guard deviceControl & 0x04 == 0 else { return }
            if value == 0x90 {
                executeDeviceDiagnostic()
                return
            }
            guard let d = current else { return }
            // A new command ends whatever the device was doing.
            d.phase = .idle
            d.clearInterrupt()
            if value == 0x08, d.isPacketDevice {
                // DEVICE RESET: reset the packet device, no interrupt.
                d.reset()
                updateIRQ()
                return
            }
            d.execute(command: value)
        default:
            break
        }
    }

    func readData(width: Int) -> UInt32 {
        guard let d = current, deviceControl & 0x04 == 0 else {
            return width == 4 ? 0xFFFF_FFFF : (width == 2 ? 0xFFFF : 0xFF)
        }
        return d.readData(width: width)
    }

    func writeData(width: Int, value: UInt32) {
        guard let d = current, deviceControl & 0x04 == 0 else { return }
        d.writeData(width: width, value: value)
    }

    /// Alternate status: status without clearing the interrupt.
    func readAltStatus() -> UInt8 {
        if isEmpty { return 0xFF }
        guard let d = current else { return 0 }
        if deviceControl & 0x04 != 0 { return AtaStatus.bsy }
        return d.status
    }

    func writeDeviceControl(_ value: UInt8) {
        let wasReset = deviceControl & 0x04 != 0
        deviceControl = value & 0x86
        let inReset = value & 0x04 != 0
        if wasReset && !inReset {
            // Software reset done: signatures, device 0 selected.
            for d in devices { d?.reset() }
            selected = 0
        } else if inReset && !wasReset {
            for d in devices {
                d?.phase = .idle
                d?.intrq = false
            }
        }
        updateIRQ()
    }

    /// EXECUTE DEVICE DIAGNOSTIC: both devices run it and post their
    /// signatures; device 0 reports the result with an interrupt.
    func executeDeviceDiagnostic() {
        for d in devices {
            guard let d else { continue }
            d.reset()
        }
        selected = 0
        if let d0 = devices[0] {
            d0.raiseInterrupt()
        } else if let d1 = devices[1] {
            d1.raiseInterrupt()
        }
    }

    /// Power-on / hardware reset of the channel.
    func hardwareReset() {
        deviceControl = 0
        selected = 0
        for d in devices {
            d?.powerOnDefaults()
            d?.reset()
        }
        busMaster.reset()
        updateIRQ()
    }

    // MARK: - Interrupts and DMA

    func interruptChanged(from device: IdeDevice) {
        // The bus master's interrupt bit follows every interrupt the
        // selected device posts, even while the line is already high.
        if device.intrq, device === current, !nIEN { busMaster.interruptRaised() }
        updateIRQ()
    }

    func updateIRQ() {
        let level = (current?.intrq ?? false) && !nIEN
        if level != irqLevel {
            irqLevel = level
            if level { busMaster.interruptRaised() }
            irq?(level)
        }
    }

    /// A device has data for (or wants data from) the bus master.
    func dmaRequest() {
        busMaster.run()
    }

    /// The device with a DMA transfer waiting, if any.
    var dmaDevice: IdeDevice? {
        for d in devices {
            if let d, d.phase == .dmaIn || d.phase == .dmaOut { return d }
        }
        return nil
    }
}
