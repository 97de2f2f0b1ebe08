/// The device-type half of a virtio device (balloon, …): what it offers and
/// what it does with its queues. The transport (`VirtioPCI`) owns the
/// queues, feature negotiation, status and interrupts; the device sees
/// only its own feature bits and configuration bytes.
public protocol VirtioDevice: AnyObject {
    /// Virtio device type (5 = memory balloon); also the PCI subsystem ID.
    var deviceType: UInt16 { get }
    /// PCI device ID of the transitional (legacy + modern) device (0x1000–0x103F).
    var transitionalPCIDeviceID: UInt16 { get }
    /// PCI class code (class, subclass, programming interface).
    var pciClassCode: UInt32 { get }
    /// Device-specific feature bits offered (the transport adds VERSION_1).
    var offeredFeatures: UInt64 { get }
    /// Maximum size of each queue; the count is the number of queues.
    var queueMaxSizes: [UInt16] { get }
    /// Bytes of device-specific configuration space.
    var configSize: Int { get }
    /// Set by the transport when the device is attached.
    var transport: VirtioPCI? { get set }

    func configRead(_ offset: Int) -> UInt8
    func configWrite(_ offset: Int, _ value: UInt8)
    /// The driver notified `queue` (or the device is asked to look again).
    /// Pop and push through `transport`; throw when the guest broke the rules.
    func queueNotified(_ queue: Int) throws(VirtioError)
    /// Device reset (status 0 written, or the board reset).
    func reset()
    func saveState(into s: inout [String: UInt64])
    func restoreState(_ s: [String: UInt64])
}

/// Device status bits (virtio 1.x §2.1).
public enum VirtioStatus {
    public static let acknowledge: UInt8 = 1
    public static let driver: UInt8 = 2
    public static let driverOK: UInt8 = 4
    public static let featuresOK: UInt8 = 8
    public static let needsReset: UInt8 = 0x40
    public static let failed: UInt8 = 0x80
}

/// Transport-level feature bits.
public enum VirtioFeature {
    public static let version1: UInt64 = 1 << 32
}
