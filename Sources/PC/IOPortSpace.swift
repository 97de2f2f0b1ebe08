import X86

/// A device reachable through I/O ports. `width` is 1, 2 or 4 bytes.
public protocol PortDevice: AnyObject {
    func portRead(_ port: UInt16, width: Int) -> UInt32
    func portWrite(_ port: UInt16, width: Int, value: UInt32)
}

/// The 64 Ki I/O ports. Each port is owned by at most one device; a port
/// nobody owns reads as all ones and drops writes, like an undecoded ISA
/// cycle, and is reported once through `log`.
public final class IOPortSpace: IOPortHandler {
    private var owner = [UInt8](repeating: 0, count: 65536)
    private var devices: [PortDevice] = []
    private var reported = Set<UInt16>()
    /// Receives one line per unclaimed port the first time it is touched.
    public var log: ((String) -> Void)?

    public init() {}

    /// Gives `device` the ports in `range`.
    public func register(_ device: PortDevice, ports range: ClosedRange<UInt16>) {
        var index = devices.firstIndex { $0 === device }
        if index == nil {
            devices.append(device)
            index = devices.count - 1
        }
        precondition(devices.count < 255, "too many port devices")
        for p in range { owner[Int(p)] = UInt8(index! + 1) }
    }

    /// Gives `device` the ports in `range` only if none of them belongs to
    /// another device (a PCI BAR the guest programs must not steal COM1).
    /// Returns whether the claim succeeded.
    public func claim(_ device: PortDevice, ports range: ClosedRange<UInt16>) -> Bool {
        let mine = devices.firstIndex { $0 === device }.map { UInt8($0 + 1) }
        for p in range where owner[Int(p)] != 0 && owner[Int(p)] != mine { return false }
        register(device, ports: range)
        return true
    }

    /// Gives back the ports in `range` that `device` owns (a BAR moved).
    public func release(_ device: PortDevice, ports range: ClosedRange<UInt16>) {
        guard let i = devices.firstIndex(where: { $0 === device }) else { return }
        for p in range where owner[Int(p)] == UInt8(i + 1) { owner[Int(p)] = 0 }
    }

    public func ioRead(port: UInt16, width: Int) -> UInt32 {
        let o = Int(owner[Int(port)])
        if o == 0 {
            unclaimed(port, "read")
            return width == 4 ? 0xFFFF_FFFF : (1 << (8 * UInt32(width))) - 1
        }
        return devices[o - 1].portRead(port, width: width)
    }

    public func ioWrite(port: UInt16, width: Int, value: UInt32) {
        let o = Int(owner[Int(port)])
        if o == 0 {
            unclaimed(port, "write")
            return
        }
        devices[o - 1].portWrite(port, width: width, value: value)
    }

    private func unclaimed(_ port: UInt16, _ what: String) {
        guard let log, !reported.contains(port) else { return }
        reported.insert(port)
        log("unimplemented I/O port 0x\(String(port, radix: 16)) (\(what)); reads 0xFF, writes dropped")
    }
}
