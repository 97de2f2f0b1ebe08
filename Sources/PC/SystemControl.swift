/// The board's reset and A20 controls outside the keyboard controller:
///
/// - port 0x92, "system control port A" (PS/2 fast A20): bit 0 fast
///   reset (a 0→1 write resets the CPU; reads back 0 afterwards), bit 1
///   A20 gate; the other bits are stored and read back.
/// - port 0xCF9, the PIIX3 reset control register: bit 1 SRST (the kind
///   of reset: 1 = hard, 0 = soft/CPU only), bit 2 RCPU (a 0→1 write
///   performs the reset); only bits 1–2 are kept.
///
/// Power-off: without ACPI or APM (acpi=off, no APM BIOS) Linux 6.1 has no
/// power-off handler, so `reboot(POWER_OFF)` (what `poweroff -f` calls)
/// is turned into HALT: the kernel prints "reboot: System halted" and
/// every CPU ends in `cli; hlt` forever (stop_this_cpu). There is no
/// shutdown port to write; the board's run loop treats "CPU halted with
/// IF = 0 and no NMI pending" as the machine switching itself off.
public final class SystemControl: PortDevice {
    /// A reset was requested; `hard` is true for a full board reset
    /// (0xCF9 with SRST), false for a CPU-only reset (0x92 bit 0, 0xCF9
    /// without SRST).
    public var onReset: ((_ hard: Bool) -> Void)?
    /// Port 0x92 bit 1 changed.
    public var onA20Change: ((Bool) -> Void)?

    public internal(set) var portA: UInt8 = 0
    public internal(set) var resetControl: UInt8 = 0

    public init() {}

    /// A20 as port 0x92 gates it (the board ORs it with the i8042's).
    public var a20: Bool { portA & 0x02 != 0 }

    public func portRead(_ port: UInt16, width: Int) -> UInt32 {
        switch port {
        case 0x92: return UInt32(portA)
        case 0xCF9: return UInt32(resetControl)
        default: return 0xFF
        }
    }

    public func portWrite(_ port: UInt16, width: Int, value: UInt32) {
        let v = UInt8(truncatingIfNeeded: value)
        switch port {
        case 0x92:
            let old = portA
            portA = v & ~0x01
            if (old ^ v) & 0x02 != 0 { onA20Change?(v & 0x02 != 0) }
            if v & 0x01 != 0 && old & 0x01 == 0 { onReset?(false) }
        case 0xCF9:
            let old = resetControl
            resetControl = v & 0x06
            if v & 0x04 != 0 && old & 0x04 == 0 {
                resetControl &= ~0x04
                onReset?(v & 0x02 != 0)
            }
        default: break
        }
    }

    /// Power-on values (A20 gate off: the board's A20 is then the i8042's).
    public func reset() {
        portA = 0
        resetControl = 0
    }

    public func saveState() -> [String: UInt64] {
        ["portA": UInt64(portA), "resetControl": UInt64(resetControl)]
    }

    public func restoreState(_ s: [String: UInt64]) {
        portA = UInt8(truncatingIfNeeded: s["portA"] ?? 0)
        resetControl = UInt8(truncatingIfNeeded: s["resetControl"] ?? 0)
    }
}
