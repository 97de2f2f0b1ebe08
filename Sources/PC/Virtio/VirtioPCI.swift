import X86

/// A transitional virtio-pci function (virtio 1.x §4.1): one device behind
/// both interfaces Linux's `virtio_pci` accepts.
///
/// - Legacy (virtio 0.9.5): BAR0, 64 bytes of I/O ports — host features,
///   guest features, queue PFN, queue size/select/notify, status, ISR,
///   then the device configuration at 0x14 (no MSI-X).
/// - Modern (virtio 1.x): vendor capabilities (ID 09h) in configuration
///   space point into BAR1, a 16 KiB memory BAR: common configuration at
///   0x0000, ISR at 0x1000, device configuration at 0x2000, notifications
///   at 0x3000 (queue N at 4·N). A VIRTIO_PCI_CAP_PCI_CFG capability gives
///   the window into the BARs through configuration space.
///
/// Which interface the driver uses is its choice; the device behaves the
/// same. Interrupts are INTx (pin A) only: the line is high while the ISR
/// is non-zero (bit 0 used-ring update, bit 1 configuration change) and the
/// PCI command register does not disable it; reading the ISR clears it.
/// A guest that breaks the ring rules gets DEVICE_NEEDS_RESET and its
/// queues are ignored until it resets the device.
public final class VirtioPCI: PCIFunction, PortDevice, MMIOHandler {
    public let config: PCIConfigSpace
    public let device: VirtioDevice
    public let guestMemory: VirtioGuestMemory
    private let ports: IOPortSpace?
    private let memory: PhysicalMemory
    private var powerOnConfig: [UInt8] = []

    /// Drives the INTx pin (wire to the PIIX3's PIRQ line for the slot).
    public var setINTx: ((Bool) -> Void)?
    /// Receives a line whenever the guest breaks the rules (why the device needs a reset).
    public var log: ((String) -> Void)?

    // Transport registers.
    public internal(set) var status: UInt8 = 0
    var deviceFeatureSelect: UInt32 = 0
    var driverFeatureSelect: UInt32 = 0
    public internal(set) var driverFeatures: UInt64 = 0
    var queueSelect: UInt16 = 0
    public internal(set) var configGeneration: UInt8 = 0
    public internal(set) var isr: UInt8 = 0
    var msixConfig: UInt16 = 0xFFFF
    var queueMSIX: [UInt16]
    public internal(set) var queues: [Virtqueue]
    /// Legacy queue page frame numbers (0 = queue not set up through the legacy interface).
    var legacyPFN: [UInt32]
    /// Set when the guest broke the rules; cleared by a device reset.
    public internal(set) var broken = false
    public internal(set) var irqLevel = false

    /// Where the BARs are decoded now (nil: not decoded).
    public private(set) var ioBase: UInt16?
    public private(set) var mmioBase: UInt32?

    static let ioBarSize: UInt32 = 64
    static let mmioBarSize: UInt32 = 0x4000
    static let legacyConfigOffset = 0x14
    static let commonOffset: UInt32 = 0x0000, isrOffset: UInt32 = 0x1000
    static let deviceConfigOffset: UInt32 = 0x2000, notifyOffset: UInt32 = 0x3000
    static let notifyMultiplier: UInt32 = 4
    /// Offset of the VIRTIO_PCI_CAP_PCI_CFG capability and its data window.
    static let pciCfgCap = 0x84

    /// `ports`/`memory`: where the BARs are decoded and what the queues address.
    public init(device: VirtioDevice, ports: IOPortSpace?, memory: PhysicalMemory) {
        self.device = device
        self.ports = ports
        self.memory = memory
        guestMemory = VirtioGuestMemory(memory)
        queues = device.queueMaxSizes.map { Virtqueue(size: $0) }
        queueMSIX = device.queueMaxSizes.map { _ in 0xFFFF }
        legacyPFN = device.queueMaxSizes.map { _ in 0 }
        config = PCIConfigSpace(vendor: 0x1AF4, device: device.transitionalPCIDeviceID, classCode: device.pciClassCode)
        config.set16(0x2C, 0x1AF4) // subsystem vendor
        config.set16(0x2E, device.deviceType) // subsystem ID = virtio device type (legacy drivers match on it)
        config.bytes[0x3D] = 1 // INTA
        config.set16(0x06, 0x0010) // status: capabilities list
        config.defineIOBar(0x10, size: VirtioPCI.ioBarSize)
        config.defineMemoryBar(0x14, size: VirtioPCI.mmioBarSize)
        buildCapabilities()
        powerOnConfig = config.bytes
        device.transport = self
    }

    /// The vendor capabilities that describe the modern interface.
    private func buildCapabilities() {
        config.bytes[0x34] = 0x40
        func cap(_ at: Int, next: Int, length: Int, type: UInt8, offset: UInt32, size: UInt32) {
            config.bytes[at] = 0x09
            config.bytes[at + 1] = UInt8(next)
            config.bytes[at + 2] = UInt8(length)
            config.bytes[at + 3] = type
            config.bytes[at + 4] = 1 // BAR1
            config.set32(at + 8, offset)
            config.set32(at + 12, size)
        }
        cap(0x40, next: 0x50, length: 16, type: 1, offset: VirtioPCI.commonOffset, size: 0x40)
        cap(0x50, next: 0x60, length: 16, type: 3, offset: VirtioPCI.isrOffset, size: 4)
        cap(0x60, next: 0x70, length: 16, type: 4, offset: VirtioPCI.deviceConfigOffset, size: UInt32(max(device.configSize, 4)))
        cap(0x70, next: VirtioPCI.pciCfgCap, length: 20, type: 2, offset: VirtioPCI.notifyOffset,
            size: VirtioPCI.notifyMultiplier * UInt32(max(queues.count, 1)))
        config.set32(0x80, VirtioPCI.notifyMultiplier)
        let c = VirtioPCI.pciCfgCap
        cap(c, next: 0, length: 20, type: 5, offset: 0, size: 0)
        config.bytes[c + 4] = 0
        // The driver picks the BAR, offset and width of the window.
        config.writable[c + 4] = 0xFF
        for i in 8..<16 { config.writable[c + i] = 0xFF }
    }

    // MARK: - PCI configuration

    public func configRead(offset: Int, width: Int) -> UInt32 {
        let data = VirtioPCI.pciCfgCap + 16
        if offset >= data, offset < data + 4 { return pciCfgWindow(read: true, value: 0) }
        return config.read(offset: offset, width: width)
    }

    public func configWrite(offset: Int, width: Int, value: UInt32) {
        let data = VirtioPCI.pciCfgCap + 16
        if offset >= data, offset < data + 4 {
            _ = pciCfgWindow(read: false, value: value)
            return
        }
        config.write(offset: offset, width: width, value: value)
        updateBARs()
        updateIRQ()
    }

    /// VIRTIO_PCI_CAP_PCI_CFG: an access to `pci_cfg_data` reaches BAR
    /// `bar` at `offset`, `length` (1, 2 or 4) bytes wide.
    private func pciCfgWindow(read: Bool, value: UInt32) -> UInt32 {
        let c = VirtioPCI.pciCfgCap
        let bar = config.bytes[c + 4], off = config.get32(c + 8), len = Int(config.get32(c + 12))
        guard len == 1 || len == 2 || len == 4 else { return read ? 0xFFFF_FFFF : 0 }
        switch bar {
        case 0 where off < VirtioPCI.ioBarSize:
            if read { return legacyRead(Int(off), width: len) }
            legacyWrite(Int(off), width: len, value: value)
        case 1 where off < VirtioPCI.mmioBarSize:
            if read { return modernRead(off, width: len) }
            modernWrite(off, width: len, value: value)
        default:
            return read ? 0xFFFF_FFFF : 0
        }
        return 0
    }

    /// Decodes the BARs where the guest put them, when their space is
    /// enabled and the range collides with nothing else on the board.
    func updateBARs() {
        var wantIO: UInt16?
        let io = config.get32(0x10) & 0xFFFF_FFFC
        if config.ioSpaceEnabled, io != 0, io + VirtioPCI.ioBarSize - 1 <= 0xFFFF { wantIO = UInt16(io) }
        if wantIO != ioBase {
            if let old = ioBase { ports?.release(self, ports: old...(old + UInt16(VirtioPCI.ioBarSize - 1))) }
            ioBase = nil
            if let new = wantIO, let ports {
                if ports.claim(self, ports: new...(new + UInt16(VirtioPCI.ioBarSize - 1))) {
                    ioBase = new
                } else {
                    log?("virtio-pci: I/O BAR at 0x\(String(new, radix: 16)) overlaps another device; not decoded")
                }
            }
        }
        var wantMem: UInt32?
        let mem = config.get32(0x14) & 0xFFFF_FFF0
        if config.memorySpaceEnabled, mem != 0, UInt64(mem) + UInt64(VirtioPCI.mmioBarSize) <= 1 << 32 { wantMem = mem }
        if wantMem != mmioBase {
            if let old = mmioBase { memory.unmapMMIO(base: old, size: VirtioPCI.mmioBarSize, handler: self) }
            mmioBase = nil
            if let new = wantMem {
                if memory.isUnmapped(base: new, size: VirtioPCI.mmioBarSize) {
                    memory.mapMMIO(base: new, size: VirtioPCI.mmioBarSize, handler: self)
                    mmioBase = new
                } else {
                    log?("virtio-pci: memory BAR at 0x\(String(new, radix: 16)) overlaps RAM, ROM or a device; not decoded")
                }
            }
        }
    }

    // MARK: - Ports and MMIO

    public func portRead(_ port: UInt16, width: Int) -> UInt32 {
        guard let base = ioBase, port >= base, port - base < UInt16(VirtioPCI.ioBarSize) else { return ones(width) }
        return legacyRead(Int(port - base), width: width)
    }

    public func portWrite(_ port: UInt16, width: Int, value: UInt32) {
        guard let base = ioBase, port >= base, port - base < UInt16(VirtioPCI.ioBarSize) else { return }
        legacyWrite(Int(port - base), width: width, value: value)
    }

    public func mmioRead(address: UInt32, width: Int) -> UInt32 {
        guard let base = mmioBase, address >= base, address - base < VirtioPCI.mmioBarSize else { return ones(width) }
        return modernRead(address - base, width: width)
    }

    public func mmioWrite(address: UInt32, width: Int, value: UInt32) {
        guard let base = mmioBase, address >= base, address - base < VirtioPCI.mmioBarSize else { return }
        modernWrite(address - base, width: width, value: value)
    }

    func ones(_ width: Int) -> UInt32 { width >= 4 ? 0xFFFF_FFFF : (1 << (8 * UInt32(width))) - 1 }

    // MARK: - Features, status, reset

    /// Everything offered: the device's bits and VERSION_1.
    public var offeredFeatures: UInt64 { device.offeredFeatures | VirtioFeature.version1 }

    /// Whether the driver accepted feature `bit` (for the device's use).
    public func negotiated(_ bit: Int) -> Bool { driverFeatures & (1 << UInt64(bit)) != 0 }

    /// A status write from either interface: 0 resets; FEATURES_OK is
    /// refused (left clear) when the driver asked for a feature not offered.
    func writeStatus(_ value: UInt8, modern: Bool) {
        if value == 0 {
            resetDevice()
            return
        }
        var v = value
        if modern, v & VirtioStatus.featuresOK != 0, status & VirtioStatus.featuresOK == 0 {
            let ok = driverFeatures & ~offeredFeatures == 0 && driverFeatures & VirtioFeature.version1 != 0
            if !ok { v &= ~VirtioStatus.featuresOK }
        }
        // NEEDS_RESET is the device's to set, not the driver's.
        status = (v & ~VirtioStatus.needsReset) | (status & VirtioStatus.needsReset)
    }

    /// Device reset: every transport register and the device's own state.
    public func resetDevice() {
        status = 0
        deviceFeatureSelect = 0
        driverFeatureSelect = 0
        driverFeatures = 0
        queueSelect = 0
        msixConfig = 0xFFFF
        queues = device.queueMaxSizes.map { Virtqueue(size: $0) }
        queueMSIX = device.queueMaxSizes.map { _ in 0xFFFF }
        legacyPFN = device.queueMaxSizes.map { _ in 0 }
        broken = false
        isr = 0
        device.reset()
        updateIRQ()
    }

    /// Board reset: power-on configuration space and a device reset.
    public func reset() {
        config.bytes = powerOnConfig
        updateBARs()
        resetDevice()
        configGeneration = 0
    }

    // MARK: - Queues and interrupts

    /// Enables queue `q` after checking the driver's set-up.
    func enableQueue(_ q: Int) {
        do {
            try queues[q].validate(maxSize: device.queueMaxSizes[q], memory: guestMemory)
            queues[q].enabled = true
        } catch {
            markBroken(error)
        }
    }

    /// The driver notified queue `q`.
    func notify(_ q: Int) {
        guard !broken, q >= 0, q < queues.count, queues[q].enabled else { return }
        do { try device.queueNotified(q) } catch { markBroken(error) }
    }

    /// The next chain on queue `q` (nil when empty or disabled).
    public func pop(_ q: Int) throws(VirtioError) -> Virtqueue.Chain? {
        guard !broken else { return nil }
        return try queues[q].pop(guestMemory)
    }

    /// Returns a chain to the driver (call `interruptIfNeeded` after a batch).
    public func push(_ q: Int, head: UInt16, written: UInt32) throws(VirtioError) {
        try queues[q].push(guestMemory, head: head, written: written)
    }

    /// Raises the used-ring interrupt for queue `q` unless the driver suppressed it.
    public func interruptIfNeeded(_ q: Int) {
        guard !queues[q].interruptSuppressed(guestMemory) else { return }
        isr |= 1
        updateIRQ()
    }

    /// The device changed its configuration: new generation, and an
    /// interrupt once a driver is running.
    public func configChanged() {
        configGeneration &+= 1
        guard status & VirtioStatus.driverOK != 0 else { return }
        isr |= 2
        updateIRQ()
    }

    func markBroken(_ error: VirtioError) {
        broken = true
        status |= VirtioStatus.needsReset
        log?("virtio-pci \(String(device.transitionalPCIDeviceID, radix: 16)): \(error.description); the device needs a reset")
        configChanged()
    }

    /// Reading the ISR returns it and clears it (and so releases INTx).
    func readAndClearISR() -> UInt8 {
        let v = isr
        isr = 0
        updateIRQ()
        return v
    }

    func updateIRQ() {
        let level = isr != 0 && config.bytes[0x05] & 0x04 == 0
        // PCI status bit 3 mirrors the interrupt request.
        if level { config.bytes[0x06] |= 0x08 } else { config.bytes[0x06] &= ~0x08 }
        guard level != irqLevel else { return }
        irqLevel = level
        setINTx?(level)
    }
}
