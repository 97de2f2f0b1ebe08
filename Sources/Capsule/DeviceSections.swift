import PC

/// The board devices' state sections. Each device keeps its registers as
/// a name/value table (`saveState() -> [String: UInt64]` in PC); here each
/// device gets its own section type, tag and version, so the versioning
/// rules of `Stateful` apply per device. Keys of the form `part.rest`
/// for a device's listed `parts` (the PIC's master and slave, the PIT's
/// three counters, the virtio function's device) go into a sub-section per
/// part, so a later build can version or add one part without touching
/// the rest.
protocol DeviceTableSection: Stateful {
    var table: [String: UInt64] { get set }
    init(table: [String: UInt64])
    /// Key prefixes (before the first dot) stored as sub-sections.
    static var parts: [String] { get }
}

extension DeviceTableSection {
    static var parts: [String] { [] }

    func saveState(into w: inout StateWriter) {
        var top = table
        for part in Self.parts {
            let prefix = part + "."
            var sub: [String: UInt64] = [:]
            for (k, v) in table where k.hasPrefix(prefix) {
                sub[String(k.dropFirst(prefix.count))] = v
                top[k] = nil
            }
            w.subsection(part) { $0.write(sub) }
        }
        w.write(top)
    }

    mutating func loadState(from r: inout StateReader, version: Int) throws {
        var t = try r.readDictionary()
        for part in Self.parts {
            // A part missing from the section is a damaged or foreign section:
            // the device would silently come back with zeroed registers.
            guard var s = try r.subsection(part) else {
                throw CapsuleError.badSection("\(r.path) version \(version): sub-section '\(part)' is missing")
            }
            for (k, v) in try s.readDictionary() { t[part + "." + k] = v }
            try s.finish()
        }
        table = t
    }
}

// One type per device: its tag and the version of its layout. Bump a
// version when the device's table changes meaning (docs/capsule-format.md).

struct PICSection: DeviceTableSection {
    static let stateTag = "pic"; static let stateVersion = 1
    static let parts = ["master", "slave"]
    var table: [String: UInt64]
}

struct PITSection: DeviceTableSection {
    static let stateTag = "pit"; static let stateVersion = 1
    static let parts = ["ch0", "ch1", "ch2"]
    var table: [String: UInt64]
}

/// Port 0x61 (speaker gate, refresh toggle).
struct PortBSection: DeviceTableSection {
    static let stateTag = "portB"; static let stateVersion = 1
    var table: [String: UInt64]
}

struct RTCSection: DeviceTableSection {
    static let stateTag = "rtc"; static let stateVersion = 1
    var table: [String: UInt64]
}

struct I8042Section: DeviceTableSection {
    static let stateTag = "i8042"; static let stateVersion = 1
    var table: [String: UInt64]
}

/// Port 0x92 and the reset control register.
struct SystemControlSection: DeviceTableSection {
    static let stateTag = "sysctl"; static let stateVersion = 1
    var table: [String: UInt64]
}

/// The PCI configuration mechanism #1 address latch.
struct PCIHostSection: DeviceTableSection {
    static let stateTag = "pci"; static let stateVersion = 1
    var table: [String: UInt64]
}

/// A PCI function's configuration space (the i440FX host bridge, the PIIX3).
struct PCIFunctionSection: DeviceTableSection {
    static let stateTag = "pci-function"; static let stateVersion = 1
    var table: [String: UInt64]
}

/// A 16550 UART; saved once per port (ids `com1`, `com2`).
struct UARTSection: DeviceTableSection {
    static let stateTag = "uart"; static let stateVersion = 1
    var table: [String: UInt64]
}

struct VGASection: DeviceTableSection {
    static let stateTag = "vga"; static let stateVersion = 1
    var table: [String: UInt64]
}

/// The FERR# latch (IRQ 13 for x87 errors).
struct FPUErrorSection: DeviceTableSection {
    static let stateTag = "ferr"; static let stateVersion = 1
    var table: [String: UInt64]
}

/// Port 0x80's last POST code.
struct PostCodeSection: DeviceTableSection {
    static let stateTag = "post"; static let stateVersion = 1
    var table: [String: UInt64]
}

/// The virtio-pci function (transport registers, queues) with the balloon
/// device's own state in sub-section `dev`.
struct VirtioBalloonSection: DeviceTableSection {
    static let stateTag = "virtio-balloon"; static let stateVersion = 1
    static let parts = ["dev"]
    var table: [String: UInt64]
}

/// Which section type stores each entry of `MachineState.devices`, and
/// under which id (the section tag in the capsule).
enum DeviceSections {
    struct Entry {
        var device: String
        var id: String
        var save: ([String: UInt64]) -> StateSection
        var load: (StateSection) throws -> [String: UInt64]
    }

    static func entry<T: DeviceTableSection>(_ device: String, _ type: T.Type, id: String? = nil) -> Entry {
        Entry(device: device, id: id ?? T.stateTag,
              save: { T(table: $0).stateSection(id: id) },
              load: { s in
                  var c = T(table: [:])
                  try c.restore(from: s)
                  return c.table
              })
    }

    /// In `Machine.stateDevices` order.
    static let all: [Entry] = [
        entry("pic", PICSection.self),
        entry("pit", PITSection.self),
        entry("portB", PortBSection.self),
        entry("rtc", RTCSection.self),
        entry("i8042", I8042Section.self),
        entry("sysctl", SystemControlSection.self),
        entry("pci", PCIHostSection.self),
        entry("i440fx", PCIFunctionSection.self, id: "i440fx"),
        entry("piix3", PCIFunctionSection.self, id: "piix3"),
        entry("com1", UARTSection.self, id: "com1"),
        entry("com2", UARTSection.self, id: "com2"),
        entry("vga", VGASection.self),
        entry("ferr", FPUErrorSection.self),
        entry("post", PostCodeSection.self),
        entry("virtio-balloon", VirtioBalloonSection.self),
    ]
}
