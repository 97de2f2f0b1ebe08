/// PCI configuration mechanism #1 of the host bridge: CONFADD at 0xCF8
/// (dword accesses only: bit 31 enable, bus 23–16, device 15–11,
/// function 10–8, register 7–2) and CONFDATA at 0xCFC–0xCFF (any width;
/// the port's low two bits select the byte lane). Only bus 0 exists.
/// A missing function, another bus, or a data access with the enable bit
/// clear reads all ones; such writes are dropped.
///
/// Register it for 0xCF8...0xCF8 and 0xCFC...0xCFF (0xCF9 belongs to
/// `SystemControl`'s reset control register; byte and word accesses to
/// 0xCF8 are not configuration cycles and are ignored here).
public final class PCIHost: PortDevice {
    public internal(set) var address: UInt32 = 0
    var functions = [PCIFunction?](repeating: nil, count: 32 * 8)

    public init() {}

    /// Places `fn` at bus 0, `device` (0–31), `function` (0–7).
    public func attach(_ fn: PCIFunction, device: Int, function: Int) {
        precondition(device >= 0 && device < 32 && function >= 0 && function < 8, "bad PCI address")
        functions[device * 8 + function] = fn
    }

    /// The function at bus 0, `device`, `function`, if any.
    public func function(device: Int, function: Int) -> PCIFunction? {
        functions[device * 8 + function]
    }

    /// The function CONFADD selects and the register's dword offset, if enabled and present.
    var selected: (PCIFunction, Int)? {
        guard address & 0x8000_0000 != 0, (address >> 16) & 0xFF == 0 else { return nil }
        let slot = Int((address >> 8) & 0xFF) // device << 3 | function
        guard let fn = functions[slot] else { return nil }
        return (fn, Int(address & 0xFC))
    }

    public func portRead(_ port: UInt16, width: Int) -> UInt32 {
        let ones: UInt32 = width == 4 ? 0xFFFF_FFFF : (1 << (8 * UInt32(width))) - 1
        if port == 0xCF8 { return width == 4 ? address : ones }
        guard port >= 0xCFC, port <= 0xCFF else { return ones }
        let lane = Int(port - 0xCFC)
        let w = min(width, 4 - lane)
        guard let (fn, reg) = selected else { return ones }
        var v = fn.configRead(offset: reg + lane, width: w)
        if w < width { v |= ones & ~((1 << (8 * UInt32(w))) - 1) } // beyond the dword
        return v
    }

    public func portWrite(_ port: UInt16, width: Int, value: UInt32) {
        if port == 0xCF8 {
            if width == 4 { address = value & 0x80FF_FFFC }
            return
        }
        guard port >= 0xCFC, port <= 0xCFF else { return }
        let lane = Int(port - 0xCFC)
        let w = min(width, 4 - lane)
        guard let (fn, reg) = selected else { return }
        let mask: UInt32 = w == 4 ? 0xFFFF_FFFF : (1 << (8 * UInt32(w))) - 1
        fn.configWrite(offset: reg + lane, width: w, value: value & mask)
    }

    public func reset() { address = 0 }

    public func saveState() -> [String: UInt64] { ["address": UInt64(address)] }
    public func restoreState(_ s: [String: UInt64]) { address = UInt32(truncatingIfNeeded: s["address"] ?? 0) }
}

/// Saves a configuration space's bytes (for the bridges below).
func saveConfig(_ c: PCIConfigSpace, into s: inout [String: UInt64]) {
    for i in stride(from: 0, to: 256, by: 8) {
        var v: UInt64 = 0
        for j in 0..<8 { v |= UInt64(c.bytes[i + j]) << (8 * UInt64(j)) }
        s["config.\(i)"] = v
    }
}

func restoreConfig(_ c: PCIConfigSpace, from s: [String: UInt64]) {
    for i in stride(from: 0, to: 256, by: 8) {
        guard let v = s["config.\(i)"] else { continue }
        for j in 0..<8 { c.bytes[i + j] = UInt8(truncatingIfNeeded: v >> (8 * UInt64(j))) }
    }
}

/// The Intel 82441FX PCI and memory controller (host bridge of the
/// 440FX), bus 0 device 0: 8086:1237, revision 2, class 06 00 00.
///
/// Registers kept: PMCCFG (0x50–0x51), DRAM control and timing (0x57,
/// 0x58), PAM0–PAM6 (0x59–0x5F), DRB0–7 (0x60–0x67), FDHC (0x68),
/// SMRAM (0x72), plus the other 0x50–0x7F bytes as plain storage. Their
/// values are stored only; the board applies PAM through `onPAMChange`.
///
/// PAM: register 0x59 bits 5:4 govern 0xF0000–0xFFFFF; registers
/// 0x5A–0x5F hold two 16 KiB segments each (bits 1:0 the lower, 5:4 the
/// upper) from 0xC0000 to 0xEFFFF. In each pair bit 0 = reads go to DRAM
/// (else to PCI/ROM), bit 1 = writes go to DRAM.
public final class I440FXHostBridge: PCIConfigSpace, PCIFunction {
    /// Called after a PAM register changes (the board re-maps 0xC0000–0xFFFFF).
    public var onPAMChange: (() -> Void)?
    /// Called after SMRAM (0x72) changes.
    public var onSMRAMChange: (() -> Void)?

    public init() {
        super.init(vendor: 0x8086, device: 0x1237, classCode: 0x06_0000, revision: 0x02, headerType: 0x00)
        // Command: memory and bus master always on; status: fast back-to-back, medium DEVSEL.
        bytes[0x04] = 0x06
        writable[0x04] = 0
        writable[0x05] = 0
        writable[0x3C] = 0
        set16(0x06, 0x0280)
        bytes[0x0D] = 0x00 // latency timer
        for i in 0x50...0x7F { writable[i] = 0xFF }
        bytes[0x50] = 0x00
        bytes[0x51] = 0x01
        bytes[0x58] = 0x10
        writable[0x59] = 0x30
        for i in 0x5A...0x5F { writable[i] = 0x33 }
        for i in 0x60...0x67 { bytes[i] = 0x01 }
        bytes[0x72] = 0x02
        writable[0x72] = 0x78 // D_OPEN, D_CLS, D_LCK, G_SMRAME; C_BASE_SEG fixed at 010
    }

    /// Reads and writes of one 16 KiB (or the 64 KiB F segment) PAM region:
    /// true = DRAM, false = the PCI bus (the BIOS ROM).
    public func pam(forAddress a: UInt32) -> (readRAM: Bool, writeRAM: Bool) {
        let bits: UInt8
        if a >= 0xF0000 {
            bits = bytes[0x59] >> 4
        } else if a >= 0xC0000 {
            let seg = Int((a - 0xC0000) >> 14) // 0..11
            let r = bytes[0x5A + seg / 2]
            bits = seg & 1 == 0 ? r : r >> 4
        } else {
            return (true, true)
        }
        return (bits & 1 != 0, bits & 2 != 0)
    }

    public func configRead(offset: Int, width: Int) -> UInt32 { read(offset: offset, width: width) }

    public func configWrite(offset: Int, width: Int, value: UInt32) {
        let oldPAM = Array(bytes[0x59...0x5F])
        let oldSMRAM = bytes[0x72]
        // D_LCK makes D_OPEN and itself read only (until reset).
        if oldSMRAM & 0x10 != 0 { writable[0x72] = 0x28 }
        write(offset: offset, width: width, value: value)
        if bytes[0x72] & 0x10 != 0 { bytes[0x72] &= ~0x40 }
        if Array(bytes[0x59...0x5F]) != oldPAM { onPAMChange?() }
        if bytes[0x72] != oldSMRAM { onSMRAMChange?() }
    }

    /// Power-on register values (calls `onPAMChange`).
    public func reset() { restoreState(I440FXHostBridge().saveState()) }

    public func saveState() -> [String: UInt64] {
        var s: [String: UInt64] = [:]
        saveConfig(self, into: &s)
        return s
    }

    /// Restores the registers and calls `onPAMChange` so the board re-maps.
    public func restoreState(_ s: [String: UInt64]) {
        restoreConfig(self, from: s)
        writable[0x72] = bytes[0x72] & 0x10 != 0 ? 0x28 : 0x78
        onPAMChange?()
    }
}

/// The Intel 82371SB PIIX3 PCI-to-ISA bridge, function 0 of its device:
/// 8086:7000, class 06 01 00, header type 0x80 (multi-function: IDE and
/// USB are functions 1 and 2).
///
/// PIRQRC[A–D] (0x60–0x63): bit 7 disables routing, bits 3:0 pick the ISA
/// IRQ (3–7, 9–12, 14, 15 are valid). The bridge also ORs the PCI INTx
/// levels that reach each PIRQ line and drives the routed ISA IRQ through
/// `setIRQ` (so a route change moves an asserted level). The ELCR lives in
/// `Pic8259Pair`. Other registers (0x4C IORT, 0x4E XBCS, 0x69 TOM,
/// 0x6A MSTAT, 0x70 MBIRQ0, 0x76–0x77 MBDMA, 0x80 APICBASE, 0x82 DLC,
/// 0xA0–0xAF SMI/power management) are stored with their reset defaults.
public final class Piix3ISABridge: PCIConfigSpace, PCIFunction {
    /// Drives an ISA IRQ line from the PCI interrupts (wire to `Pic8259Pair.setIRQ`).
    public var setIRQ: ((_ irq: Int, _ level: Bool) -> Void)?
    /// Called after a PIRQ route register changes.
    public var onPIRQRouteChange: (() -> Void)?

    /// Asserting sources per PIRQ line (bit per source id 0–63).
    var pirqSources: [UInt64] = [0, 0, 0, 0]
    /// Level currently driven on each ISA IRQ by this bridge.
    var driven: UInt16 = 0

    public init() {
        super.init(vendor: 0x8086, device: 0x7000, classCode: 0x06_0100, revision: 0x00, headerType: 0x80)
        bytes[0x04] = 0x07
        writable[0x04] = 0x08 // special cycle enable; I/O, memory, master are hardwired on
        writable[0x05] = 0x00
        writable[0x3C] = 0x00
        set16(0x06, 0x0200) // medium DEVSEL
        for i in 0x4C...0xFF { writable[i] = 0xFF }
        bytes[0x4C] = 0x4D
        bytes[0x4E] = 0x03
        bytes[0x4F] = 0x00
        for i in 0x60...0x63 { bytes[i] = 0x80; writable[i] = 0x8F }
        bytes[0x69] = 0x02
        bytes[0x6A] = 0x00
        bytes[0x70] = 0x80
        bytes[0x76] = 0x0C
        bytes[0x77] = 0x0C
        bytes[0x78] = 0x02
        bytes[0x80] = 0x00
        bytes[0x82] = 0x00
        bytes[0xA0] = 0x08
        bytes[0xA8] = 0x0F
    }

    static let validIRQs: Set<Int> = [3, 4, 5, 6, 7, 9, 10, 11, 12, 14, 15]

    /// The ISA IRQ PIRQ line `pirq` (0 = PIRQA … 3 = PIRQD) is routed to, or nil if disabled.
    public func irq(forPIRQ pirq: Int) -> Int? {
        let r = bytes[0x60 + pirq]
        guard r & 0x80 == 0 else { return nil }
        let irq = Int(r & 0x0F)
        return Piix3ISABridge.validIRQs.contains(irq) ? irq : nil
    }

    /// A PCI interrupt pin asserted (`level` true) or released by `source`
    /// (any id 0–63 unique per pin on the board) on PIRQ line `pirq`.
    public func setPCIInterrupt(pirq: Int, source: Int, level: Bool) {
        if level { pirqSources[pirq] |= 1 << UInt64(source) } else { pirqSources[pirq] &= ~(1 << UInt64(source)) }
        updateIRQs()
    }

    /// Recomputes the ISA IRQ levels driven by the PIRQ lines.
    func updateIRQs() {
        var want: UInt16 = 0
        for p in 0..<4 where pirqSources[p] != 0 {
            if let irq = irq(forPIRQ: p) { want |= 1 << UInt16(irq) }
        }
        let changed = want ^ driven
        driven = want
        guard changed != 0 else { return }
        // Release old lines before asserting new ones.
        for irq in 0..<16 where changed & ~want & (1 << UInt16(irq)) != 0 { setIRQ?(irq, false) }
        for irq in 0..<16 where changed & want & (1 << UInt16(irq)) != 0 { setIRQ?(irq, true) }
    }

    public func configRead(offset: Int, width: Int) -> UInt32 { read(offset: offset, width: width) }

    public func configWrite(offset: Int, width: Int, value: UInt32) {
        let old = Array(bytes[0x60...0x63])
        write(offset: offset, width: width, value: value)
        if Array(bytes[0x60...0x63]) != old {
            updateIRQs()
            onPIRQRouteChange?()
        }
    }

    /// Power-on register values; PCI interrupt levels already asserted stay
    /// (they belong to the devices) but are unrouted until software routes them.
    public func reset() {
        restoreConfig(self, from: Piix3ISABridge().saveState())
        updateIRQs()
        onPIRQRouteChange?()
    }

    public func saveState() -> [String: UInt64] {
        var s: [String: UInt64] = [:]
        saveConfig(self, into: &s)
        for p in 0..<4 { s["pirqSources.\(p)"] = pirqSources[p] }
        s["driven"] = UInt64(driven)
        return s
    }

    public func restoreState(_ s: [String: UInt64]) {
        restoreConfig(self, from: s)
        for p in 0..<4 { pirqSources[p] = s["pirqSources.\(p)"] ?? 0 }
        driven = UInt16(truncatingIfNeeded: s["driven"] ?? 0)
    }
}
