/// The POST diagnostic port (0x80): firmware writes progress codes here.
public final class PostCodePort: PortDevice {
    public var onCode: ((UInt8) -> Void)?
    public internal(set) var lastCode: UInt8 = 0

    public init() {}

    public func portRead(_ port: UInt16, width: Int) -> UInt32 { UInt32(lastCode) }

    public func portWrite(_ port: UInt16, width: Int, value: UInt32) {
        lastCode = UInt8(truncatingIfNeeded: value)
        onCode?(lastCode)
    }
}
