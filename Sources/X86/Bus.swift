/// How the CPU reaches the world outside its own registers and RAM. The PC
/// board implements these; the CPU knows nothing of which device answers.

/// The I/O port space (IN/OUT/INS/OUTS). `width` is 1, 2 or 4 bytes.
public protocol IOPortHandler: AnyObject {
    func ioRead(port: UInt16, width: Int) -> UInt32
    func ioWrite(port: UInt16, width: Int, value: UInt32)
}

/// A memory-mapped device region. `width` is 1, 2 or 4 bytes; the address is
/// physical.
public protocol MMIOHandler: AnyObject {
    func mmioRead(address: UInt32, width: Int) -> UInt32
    func mmioWrite(address: UInt32, width: Int, value: UInt32)
}

/// The port space of a machine with no devices: reads float high, writes are
/// dropped, as on a real bus with nothing decoding the address.
public final class EmptyIOBus: IOPortHandler {
    public init() {}
    public func ioRead(port: UInt16, width: Int) -> UInt32 { width == 4 ? 0xFFFF_FFFF : (1 << (8 * UInt32(width))) - 1 }
    public func ioWrite(port: UInt16, width: Int, value: UInt32) {}
}
