import X86

/// The IDE function of the Intel PIIX3 (82371SB, PCI 8086:7010, class
/// 01 01 80: mass storage, IDE, bus-master capable, both channels in
/// legacy mode).
///
/// Legacy ports: primary 1F0h–1F7h and 3F6h (IRQ 14), secondary 170h–177h
/// and 376h (IRQ 15). BAR4 holds the 16-byte bus-master block (SFF-8038i):
/// primary at +0, secondary at +8; its ports are registered in the
/// `IOPortSpace` when the guest programs BAR4 with I/O space enabled.
///
/// PIIX3 specific configuration registers: IDETIM 40h (primary) and 42h
/// (secondary), bit 15 "IDE decode enable" gates the legacy ports; SIDETIM
/// 44h. The timings themselves do not matter to an emulated drive. Both
/// decode enables start set, as the firmware would leave them, so a
/// guest that does not program the chipset still finds its disks; the
/// bus-master block, as on hardware, needs BAR4 and the PCI command
/// register (I/O space, bus master) programmed.
public final class IdeController: PCIFunction, PortDevice {
    public let config: PCIConfigSpace
    public let primary: IdeChannel
    public let secondary: IdeChannel
    private let ports: IOPortSpace?
    /// Base of the bus-master block currently decoded, nil when off.
    public private(set) var busMasterBase: UInt16?
    /// A bus-master transfer has been started and not yet stopped by the
    /// guest: the window between the start bit and the driver's cleanup.
    public var dmaInFlight: Bool { primary.busMaster.started || secondary.busMaster.started }
    private var registeredBases = Set<UInt16>()
    /// Configuration space at power-on (restored by `reset`).
    private var powerOnConfig: [UInt8] = []

    /// Interrupt outputs (legacy mode: ISA IRQ 14 and 15). Levels: true
    /// while the selected device of the channel requests an interrupt.
    public var irq14: ((Bool) -> Void)? {
        get { primary.irq }
        set { primary.irq = newValue }
    }
    public var irq15: ((Bool) -> Void)? {
        get { secondary.irq }
        set { secondary.irq = newValue }
    }

    /// Receives one line per unimplemented command or packet opcode (the
    /// first time each device sees it): what a guest wanted and did not get.
    public var log: ((String) -> Void)? {
        didSet {
            primary.log = log
            secondary.log = log
        }
    }

    /// `ports`: where the legacy ports are registered now and the
    /// bus-master ports when BAR4 is programmed (nil: the caller routes
    /// `portRead`/`portWrite` itself). `memory`: the target of bus-master
    /// DMA (nil: no DMA).
    public init(ports: IOPortSpace?, memory: PhysicalMemory?) {
        self.ports = ports
        config = PCIConfigSpace(vendor: 0x8086, device: 0x7010, classCode: 0x01_0180)
        config.writable[0x04] = 0x05 // I/O space, bus master (no memory space)
        config.writable[0x05] = 0x00
        config.set16(0x06, 0x0280) // status: fast back-to-back, medium DEVSEL
        config.writable[0x0D] = 0xF0 // latency timer
        config.defineIOBar(0x20, size: 16)
        // IDETIM primary/secondary (decode enable preset), SIDETIM.
        for o in 0x40...0x44 { config.writable[o] = 0xFF }
        config.set16(0x40, 0x8000)
        config.set16(0x42, 0x8000)
        powerOnConfig = config.bytes
        primary = IdeChannel(index: 0, memory: memory)
        secondary = IdeChannel(index: 1, memory: memory)
        let enabled: () -> Bool = { [unowned config] in config.busMasterEnabled }
        primary.busMaster.masterEnabled = enabled
        secondary.busMaster.masterEnabled = enabled
        if let ports {
            ports.register(self, ports: 0x1F0...0x1F7)
            ports.register(self, ports: 0x3F6...0x3F6)
            ports.register(self, ports: 0x170...0x177)
            ports.register(self, ports: 0x376...0x376)
        }
    }

    public func channel(_ index: Int) -> IdeChannel { index == 0 ? primary : secondary }

    // MARK: - Devices

    /// Attaches a hard disk at `channel` (0 primary, 1 secondary) and
    /// `position` (0 master, 1 slave).
    @discardableResult
    public func attachDisk(_ disk: BlockDevice, channel: Int, position: Int, model: String = "CAPSULE HARDDISK", serial: String? = nil) -> AtaDrive {
        let drive = AtaDrive(disk: disk, model: model, serial: serial ?? defaultSerial(channel, position))
        self.channel(channel).attach(drive, position: position)
        return drive
    }

    /// Attaches a CD-ROM drive, with `medium` (an ISO image, read in
    /// 2048-byte blocks) loaded or the tray empty.
    @discardableResult
    public func attachCDROM(_ medium: BlockDevice?, channel: Int, position: Int, serial: String? = nil) -> AtapiDrive {
        let drive = AtapiDrive(medium: medium, serial: serial ?? defaultSerial(channel, position))
        self.channel(channel).attach(drive, position: position)
        return drive
    }

    private func defaultSerial(_ channel: Int, _ position: Int) -> String {
        "CPSL\(channel)\(position)0000000000001"
    }

    /// Hardware reset (power-on state): configuration space, both
    /// channels, their devices and bus masters. Devices keep their media
    /// and their drive-side settings that survive a reset.
    public func reset() {
        config.bytes = powerOnConfig
        configChanged()
        primary.hardwareReset()
        secondary.hardwareReset()
    }

    // MARK: - PCI configuration

    public func configRead(offset: Int, width: Int) -> UInt32 {
        config.read(offset: offset, width: width)
    }

    public func configWrite(offset: Int, width: Int, value: UInt32) {
        config.write(offset: offset, width: width, value: value)
        configChanged()
    }

    /// Applies the configuration space: BAR4 decoding, bus mastering.
    func configChanged() {
        updateBusMasterDecode()
        // A newly enabled master may unblock a waiting transfer.
        if config.busMasterEnabled {
            primary.busMaster.run()
            secondary.busMaster.run()
        }
    }

    private func updateBusMasterDecode() {
        let bar = config.get32(0x20)
        let base = bar & 0xFFFF_FFF0
        guard config.ioSpaceEnabled, base != 0, base <= 0xFFF0 else {
            busMasterBase = nil
            return
        }
        let b = UInt16(base)
        busMasterBase = b
        if let ports, !registeredBases.contains(b) {
            registeredBases.insert(b)
            ports.register(self, ports: b...(b + 15))
        }
    }

    private var primaryDecoded: Bool { config.bytes[0x41] & 0x80 != 0 }
    private var secondaryDecoded: Bool { config.bytes[0x43] & 0x80 != 0 }

    // MARK: - Ports

    public func portRead(_ port: UInt16, width: Int) -> UInt32 {
        if let (ch, reg) = commandBlock(port) {
            if reg == 0 { return ch.readData(width: width) }
            return composeRead(width) { i in reg + i <= 7 ? ch.readRegister(reg + i) : 0xFF }
        }
        if let ch = controlBlock(port) {
            return composeRead(width) { i in i == 0 ? ch.readAltStatus() : 0xFF }
        }
        if let base = busMasterBase, port >= base, port < base &+ 16 {
            let off = Int(port - base)
            return composeRead(width) { i in
                let o = off + i
                guard o < 16 else { return 0xFF }
                return self.channel(o >> 3).busMaster.readByte(o & 7)
            }
        }
        return width == 4 ? 0xFFFF_FFFF : (1 << (8 * UInt32(width))) - 1
    }

    public func portWrite(_ port: UInt16, width: Int, value: UInt32) {
        if let (ch, reg) = commandBlock(port) {
            if reg == 0 {
                ch.writeData(width: width, value: value)
                return
            }
            for i in 0..<width where reg + i <= 7 {
                ch.writeRegister(reg + i, UInt8(truncatingIfNeeded: value >> (8 * UInt32(i))))
            }
            return
        }
        if let ch = controlBlock(port) {
            ch.writeDeviceControl(UInt8(truncatingIfNeeded: value))
            return
        }
        if let base = busMasterBase, port >= base, port < base &+ 16 {
            let off = Int(port - base)
            for i in 0..<width where off + i < 16 {
                let o = off + i
                channel(o >> 3).busMaster.writeByte(o & 7, UInt8(truncatingIfNeeded: value >> (8 * UInt32(i))))
            }
        }
    }

    private func composeRead(_ width: Int, _ byte: (Int) -> UInt8) -> UInt32 {
        var v: UInt32 = 0
        for i in 0..<width { v |= UInt32(byte(i)) << (8 * UInt32(i)) }
        return v
    }

    private func commandBlock(_ port: UInt16) -> (IdeChannel, Int)? {
        if port >= 0x1F0 && port <= 0x1F7 && primaryDecoded { return (primary, Int(port - 0x1F0)) }
        if port >= 0x170 && port <= 0x177 && secondaryDecoded { return (secondary, Int(port - 0x170)) }
        return nil
    }

    private func controlBlock(_ port: UInt16) -> IdeChannel? {
        if port == 0x3F6 && primaryDecoded { return primary }
        if port == 0x376 && secondaryDecoded { return secondary }
        return nil
    }
}
