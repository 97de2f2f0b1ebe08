/// A PCI function's configuration space, as the host bridge's
/// configuration mechanism #1 (ports 0xCF8/0xCFC) reaches it.
///
/// `offset` is the byte offset into the 256-byte space and `width` 1, 2 or
/// 4; accesses are naturally aligned. A function owns its BARs: when the
/// guest programs one, the function (re)registers its ports or MMIO itself.
public protocol PCIFunction: AnyObject {
    func configRead(offset: Int, width: Int) -> UInt32
    func configWrite(offset: Int, width: Int, value: UInt32)
}

/// A plain 256-byte configuration space with a write mask, which most
/// functions build on: identification registers are read-only, BARs keep
/// their size bits, and the function reacts in `didWrite`.
open class PCIConfigSpace {
    public var bytes = [UInt8](repeating: 0, count: 256)
    /// Bits software may change, per byte.
    public var writable = [UInt8](repeating: 0, count: 256)

    public init(vendor: UInt16, device: UInt16, classCode: UInt32, revision: UInt8 = 0, headerType: UInt8 = 0) {
        set16(0x00, vendor)
        set16(0x02, device)
        bytes[0x08] = revision
        bytes[0x09] = UInt8(classCode & 0xFF)
        bytes[0x0A] = UInt8((classCode >> 8) & 0xFF)
        bytes[0x0B] = UInt8((classCode >> 16) & 0xFF)
        bytes[0x0E] = headerType
        // Command register: I/O, memory, bus master, interrupt disable.
        writable[0x04] = 0x07
        writable[0x05] = 0x04
        writable[0x3C] = 0xFF // interrupt line
    }

    public func get8(_ o: Int) -> UInt8 { bytes[o] }
    public func get16(_ o: Int) -> UInt16 { UInt16(bytes[o]) | UInt16(bytes[o + 1]) << 8 }
    public func get32(_ o: Int) -> UInt32 { UInt32(get16(o)) | UInt32(get16(o + 2)) << 16 }
    public func set16(_ o: Int, _ v: UInt16) { bytes[o] = UInt8(v & 0xFF); bytes[o + 1] = UInt8(v >> 8) }
    public func set32(_ o: Int, _ v: UInt32) { set16(o, UInt16(v & 0xFFFF)); set16(o + 2, UInt16(v >> 16)) }

    public func read(offset: Int, width: Int) -> UInt32 {
        var v: UInt32 = 0
        for i in 0..<width where offset + i < 256 { v |= UInt32(bytes[offset + i]) << (8 * UInt32(i)) }
        return v
    }

    /// Applies the write mask; returns true if anything changed.
    @discardableResult
    public func write(offset: Int, width: Int, value: UInt32) -> Bool {
        var changed = false
        for i in 0..<width where offset + i < 256 {
            let b = UInt8(truncatingIfNeeded: value >> (8 * UInt32(i)))
            let m = writable[offset + i]
            let n = (bytes[offset + i] & ~m) | (b & m)
            if n != bytes[offset + i] { changed = true }
            bytes[offset + i] = n
        }
        return changed
    }

    /// Declares an I/O BAR of `size` bytes (a power of two ≥ 4) at config offset `bar`.
    public func defineIOBar(_ bar: Int, size: UInt32) {
        let mask = ~(size - 1)
        set32(bar, 1)
        for i in 0..<4 { writable[bar + i] = UInt8(truncatingIfNeeded: (mask & 0xFFFF_FFFC) >> (8 * UInt32(i))) }
    }

    /// Declares a 32-bit memory BAR of `size` bytes (power of two ≥ 16).
    public func defineMemoryBar(_ bar: Int, size: UInt32) {
        let mask = ~(size - 1)
        set32(bar, 0)
        for i in 0..<4 { writable[bar + i] = UInt8(truncatingIfNeeded: (mask & 0xFFFF_FFF0) >> (8 * UInt32(i))) }
    }

    public var ioSpaceEnabled: Bool { bytes[0x04] & 1 != 0 }
    public var memorySpaceEnabled: Bool { bytes[0x04] & 2 != 0 }
    public var busMasterEnabled: Bool { bytes[0x04] & 4 != 0 }
}
