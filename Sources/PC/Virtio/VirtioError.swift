/// Why a device stopped trusting its driver: a ring or buffer the guest
/// built breaks the virtio rules (an index past the queue, an address
/// outside RAM, a descriptor loop). The transport answers by setting
/// DEVICE_NEEDS_RESET and ignoring the device's queues until a reset.
public struct VirtioError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
