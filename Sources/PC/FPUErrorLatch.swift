/// The PC/AT's coprocessor error path (CR0.NE = 0): the x87's FERR# output
/// raises IRQ 13 through a latch that software clears by writing port 0xF0.
public final class FPUErrorLatch: PortDevice {
    public var irq: ((Bool) -> Void)?
    public internal(set) var asserted = false

    public init() {}

    /// FERR# from the CPU.
    public func set(_ level: Bool) {
        if level && !asserted {
            asserted = true
            irq?(true)
        }
    }

    public func portRead(_ port: UInt16, width: Int) -> UInt32 { 0xFF }

    public func portWrite(_ port: UInt16, width: Int, value: UInt32) {
        if port == 0xF0 && asserted {
            asserted = false
            irq?(false)
        }
    }
}
