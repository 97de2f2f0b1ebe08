import XCTest
import X86
@testable import PC

/// The virtio-pci transport and the balloon, driven through the board's
/// real configuration ports, I/O BAR and MMIO BAR the way Linux's legacy and
/// modern drivers do, with rings built by hand in guest RAM.
final class VirtioPCITests: XCTestCase {
    var m: Machine!
    var dev: VirtioPCI { m.balloonPCI! }
    let ioBase: UInt16 = 0xC000
    let mmioBase: UInt32 = 0xE000_0000

    override func setUp() {
        m = try! Machine(memorySize: 16 << 20, balloon: true)
    }

    func cfgWrite(_ reg: Int, _ v: UInt32, width: Int = 4) {
        m.pci.portWrite(0xCF8, width: 4, value: 0x8000_0000 | UInt32(Machine.balloonSlot) << 11 | UInt32(reg & ~3))
        m.pci.portWrite(0xCFC + UInt16(reg & 3), width: width, value: v)
    }

    func cfgRead(_ reg: Int, width: Int = 4) -> UInt32 {
        m.pci.portWrite(0xCF8, width: 4, value: 0x8000_0000 | UInt32(Machine.balloonSlot) << 11 | UInt32(reg & ~3))
        return m.pci.portRead(0xCFC + UInt16(reg & 3), width: width)
    }

    /// Routes PIRQB to IRQ 11 as the BIOS does and places both BARs.
    func programBARs() {
        m.southBridge.configWrite(offset: 0x61, width: 1, value: 11)
        m.ports.ioWrite(port: 0x4D1, width: 1, value: 0x08) // IRQ 11 level-triggered (ELCR)
        cfgWrite(0x10, UInt32(ioBase))
        cfgWrite(0x14, mmioBase)
        cfgWrite(0x04, 0x7, width: 2)
    }

    var irq11: Bool { m.pic.slave.irr & 0x08 != 0 }

    func io(_ off: UInt16, width: Int = 4) -> UInt32 { m.ports.ioRead(port: ioBase + off, width: width) }
    func io(_ off: UInt16, _ v: UInt32, width: Int = 4) { m.ports.ioWrite(port: ioBase + off, width: width, value: v) }
    func mmio(_ off: UInt32, width: Int = 4) -> UInt32 { m.memory.read(mmioBase + off, width: width) }
    func mmio(_ off: UInt32, _ v: UInt32, width: Int = 4) { m.memory.write(mmioBase + off, width: width, value: v) }

    func testIdentifiesAsATransitionalBalloon() {
        XCTAssertEqual(cfgRead(0x00), 0x1002_1AF4)
        XCTAssertEqual(cfgRead(0x2C), 0x0005_1AF4, "subsystem = virtio device type 5")
        XCTAssertEqual(cfgRead(0x08) >> 8, 0xFF_0000, "class: unclassified")
        XCTAssertEqual(cfgRead(0x3D, width: 1), 1, "INTA")
        XCTAssertNotEqual(cfgRead(0x06, width: 2) & 0x10, 0, "capabilities list")
        // BAR sizing: all ones reads back the size mask.
        cfgWrite(0x10, 0xFFFF_FFFF)
        XCTAssertEqual(cfgRead(0x10), 0xFFFF_FFC1)
        cfgWrite(0x14, 0xFFFF_FFFF)
        XCTAssertEqual(cfgRead(0x14), 0xFFFF_C000)
        // The vendor capabilities: common, ISR, device, notify, PCI cfg.
        var types: [UInt32] = []
        var p = Int(cfgRead(0x34, width: 1))
        while p != 0 {
            XCTAssertEqual(cfgRead(p, width: 1), 0x09)
            types.append(cfgRead(p + 3, width: 1))
            p = Int(cfgRead(p + 1, width: 1))
        }
        XCTAssertEqual(types, [1, 3, 4, 2, 5])
    }

    // MARK: - Legacy interface

    /// The legacy driver's set-up of queue `q` at page frame `pfn`.
    func legacySetUp(queues: [(Int, UInt32)], features: UInt32) {
        io(0x12, 0, width: 1)
        io(0x12, 3, width: 1) // ACKNOWLEDGE | DRIVER
        io(0x04, features)
        for (q, pfn) in queues {
            io(0x0E, UInt32(q), width: 2)
            XCTAssertEqual(io(0x0C, width: 2), 128)
            io(0x08, pfn)
        }
        io(0x12, 7, width: 1)
    }

    /// Legacy ring of 128 at `pfn`: desc at pfn<<12, avail after 2048 bytes, used at the next page.
    func legacyRing(pfn: UInt32) -> (desc: UInt32, avail: UInt32, used: UInt32) {
        let d = pfn << 12
        return (d, d + 16 * 128, (d + 16 * 128 + 2 * (3 + 128) + 4095) & ~4095)
    }

    func putChain(desc: UInt32, avail: UInt32, slot: Int, head: Int, buffer: UInt32, length: UInt32, writable: Bool = false) {
        let d = desc + UInt32(16 * head)
        m.memory.write(d, width: 4, value: buffer)
        m.memory.write(d + 4, width: 4, value: 0)
        m.memory.write(d + 8, width: 4, value: length)
        m.memory.write(d + 12, width: 2, value: writable ? 2 : 0)
        m.memory.write(avail + 4 + UInt32(2 * slot), width: 2, value: UInt32(head))
        m.memory.write(avail + 2, width: 2, value: UInt32(slot + 1))
    }

    func testLegacyDriverInflatesAndDeflates() {
        programBARs()
        XCTAssertEqual(io(0x00) & 0x27, 0x27, "host features: tell host, stats, deflate on OOM, reporting")
        legacySetUp(queues: [(0, 0x100), (1, 0x110)], features: 1 << 0)
        XCTAssertEqual(dev.driverFeatures, 1)
        // Pages 0x800 and 0x801 hold data; the guest balloons them.
        m.memory.write(0x80_0000, width: 4, value: 0xDEAD_BEEF)
        m.memory.write(0x80_1FFC, width: 4, value: 0x1234_5678)
        m.memory.write(0x5000, width: 4, value: 0x800)
        m.memory.write(0x5004, width: 4, value: 0x801)
        m.memory.write(0x5008, width: 4, value: 0xFFFF_FFF0) // no such page: ignored
        let r = legacyRing(pfn: 0x100)
        putChain(desc: r.desc, avail: r.avail, slot: 0, head: 0, buffer: 0x5000, length: 12)
        XCTAssertFalse(irq11)
        io(0x10, 0, width: 2) // notify queue 0
        XCTAssertEqual(m.balloonInflatedPages, [0x800, 0x801])
        XCTAssertEqual(m.memory.read(0x80_0000, width: 4), 0, "ballooned page zeroed")
        XCTAssertEqual(m.memory.read(0x80_1FFC, width: 4), 0)
        XCTAssertEqual(m.balloonSkippablePages(), [0x800, 0x801])
        XCTAssertEqual(m.memory.read(r.used + 2, width: 2), 1, "used idx")
        XCTAssertTrue(irq11, "used-ring interrupt on PIRQB = IRQ 11")
        XCTAssertEqual(io(0x13, width: 1), 1, "ISR: queue interrupt")
        XCTAssertFalse(irq11, "reading the ISR releases INTx")
        XCTAssertEqual(io(0x13, width: 1), 0)
        // The driver reports `actual` byte by byte, as Linux's legacy accessors do.
        for (i, b) in [2, 0, 0, 0].enumerated() { io(0x18 + UInt16(i), UInt32(b), width: 1) }
        XCTAssertEqual(m.balloonActualPages, 2)

        let d = legacyRing(pfn: 0x110)
        m.memory.write(0x6000, width: 4, value: 0x801)
        putChain(desc: d.desc, avail: d.avail, slot: 0, head: 0, buffer: 0x6000, length: 4)
        io(0x10, 1, width: 2)
        XCTAssertEqual(m.balloonInflatedPages, [0x800])
    }

    func testTargetChangeInterruptsARunningDriver() {
        programBARs()
        try! m.setBalloonTarget(pages: 1000)
        XCTAssertFalse(irq11, "no driver yet: no interrupt")
        XCTAssertEqual(io(0x14), 1000, "num_pages at legacy config offset 0x14")
        legacySetUp(queues: [(0, 0x100), (1, 0x110)], features: 0)
        try! m.setBalloonTarget(pages: 2000)
        XCTAssertTrue(irq11)
        XCTAssertEqual(io(0x13, width: 1), 2, "ISR: configuration change")
        XCTAssertEqual(io(0x14), 2000)
        try! m.setBalloonTarget(pages: 1 << 30)
        XCTAssertEqual(m.balloonTargetPages, 4096, "clamped to RAM")
    }

    func testHostileRingNeedsReset() {
        programBARs()
        legacySetUp(queues: [(0, 0x100)], features: 0)
        let r = legacyRing(pfn: 0x100)
        m.memory.write(r.avail + 2, width: 2, value: 500) // far ahead of a 128-entry queue
        io(0x10, 0, width: 2)
        XCTAssertTrue(dev.broken)
        XCTAssertNotEqual(io(0x12, width: 1) & 0x40, 0, "DEVICE_NEEDS_RESET")
        XCTAssertTrue(irq11, "configuration-change interrupt")
        // Further kicks are ignored until the driver resets the device.
        m.memory.write(r.avail + 2, width: 2, value: 1)
        io(0x10, 0, width: 2)
        XCTAssertEqual(m.memory.read(r.used + 2, width: 2), 0)
        io(0x12, 0, width: 1)
        XCTAssertFalse(dev.broken)
        XCTAssertEqual(io(0x12, width: 1), 0)
        // A queue placed outside RAM is refused when it is set up.
        legacySetUp(queues: [(0, 0xFFFF_F)], features: 0)
        XCTAssertTrue(dev.broken)
    }

    func testBARsNeverShadowRAMOrOtherDevices() {
        cfgWrite(0x10, 0x3F8 & ~0x3F) // over COM1
        cfgWrite(0x14, 0x0010_0000) // over RAM
        cfgWrite(0x04, 0x3, width: 2)
        XCTAssertNil(dev.ioBase)
        XCTAssertNil(dev.mmioBase)
        m.memory.write(0x10_0000, width: 4, value: 0xAABB_CCDD)
        XCTAssertEqual(m.memory.read(0x10_0000, width: 4), 0xAABB_CCDD, "RAM still RAM")
        try! m.loadFirmware(Machine.embeddedBIOS())
        cfgWrite(0x14, 0xFFFF_C000) // over the BIOS ROM at the top of 4 GiB
        XCTAssertNil(dev.mmioBase)
        programBARs()
        XCTAssertEqual(dev.ioBase, ioBase)
        XCTAssertEqual(dev.mmioBase, mmioBase)
        // Moving the memory BAR unmaps the old window.
        cfgWrite(0x14, 0xE010_0000)
        XCTAssertEqual(m.memory.read(mmioBase + 0x12, width: 2), 0xFFFF, "old window unmapped")
        XCTAssertEqual(m.memory.read(0xE010_0012, width: 2), 4, "num_queues at the new place")
    }

    // MARK: - Modern interface

    /// The modern driver's negotiation; returns whether FEATURES_OK stuck.
    func modernNegotiate(_ features: UInt64) -> Bool {
        mmio(0x14, 0, width: 1)
        mmio(0x14, 3, width: 1)
        mmio(0x00, 1)
        XCTAssertEqual(mmio(0x04), 1, "VERSION_1 offered in the high word")
        mmio(0x08, 0)
        mmio(0x0C, UInt32(truncatingIfNeeded: features))
        mmio(0x08, 1)
        mmio(0x0C, UInt32(truncatingIfNeeded: features >> 32))
        mmio(0x14, 0x0B, width: 1)
        return mmio(0x14, width: 1) & 8 != 0
    }

    func modernQueue(_ q: Int, desc: UInt64, avail: UInt64, used: UInt64, size: UInt16 = 64) {
        mmio(0x16, UInt32(q), width: 2)
        XCTAssertEqual(mmio(0x18, width: 2), 128)
        XCTAssertEqual(mmio(0x1C, width: 2), 0)
        mmio(0x18, UInt32(size), width: 2)
        for (o, a) in [(0x20, desc), (0x28, avail), (0x30, used)] as [(UInt32, UInt64)] {
            mmio(o, UInt32(truncatingIfNeeded: a))
            mmio(o + 4, UInt32(truncatingIfNeeded: a >> 32))
        }
        mmio(0x1A, 0xFFFF, width: 2)
        mmio(0x1C, 1, width: 2)
    }

    func testModernNegotiationNeedsVersion1() {
        programBARs()
        XCTAssertFalse(modernNegotiate(1 << 5), "no VERSION_1: FEATURES_OK refused")
        XCTAssertFalse(modernNegotiate(VirtioFeature.version1 | 1 << 3), "free page hint was not offered")
        XCTAssertTrue(modernNegotiate(VirtioFeature.version1 | 1 << 5))
        XCTAssertEqual(mmio(0x12, width: 2), 4, "num_queues")
    }

    func testModernDriverReportsFreePages() {
        programBARs()
        // Without STATS_VQ, Linux numbers the reporting queue 2.
        XCTAssertTrue(modernNegotiate(VirtioFeature.version1 | 1 << 5))
        modernQueue(2, desc: 0x20000, avail: 0x21000, used: 0x22000)
        XCTAssertEqual(mmio(0x1C, width: 2), 1)
        XCTAssertEqual(mmio(0x1E, width: 2), 2, "queue_notify_off")
        mmio(0x14, 0x0F, width: 1)
        XCTAssertEqual(m.balloon!.role(ofQueue: 2), .reporting)
        // One free 16 KiB block at 0x40_0000 with data in it.
        m.memory.write(0x40_3000, width: 4, value: 0x5555_AAAA)
        let d: UInt32 = 0x20000
        m.memory.write(d, width: 4, value: 0x40_0000)
        m.memory.write(d + 8, width: 4, value: 0x4000)
        m.memory.write(d + 12, width: 2, value: 2)
        m.memory.write(0x21004, width: 2, value: 0)
        m.memory.write(0x21002, width: 2, value: 1)
        mmio(0x3000 + 2 * 4, 2, width: 2) // notify queue 2
        XCTAssertEqual(m.balloonReportedPages, [0x400, 0x401, 0x402, 0x403])
        XCTAssertEqual(m.memory.read(0x40_3000, width: 4), 0)
        XCTAssertEqual(m.memory.read(0x22002, width: 2), 1)
        XCTAssertTrue(irq11)
        XCTAssertEqual(mmio(0x1000, width: 1), 1, "ISR read")
        XCTAssertFalse(irq11)
        // Device config through the modern window: actual written as a dword.
        mmio(0x2004, 77)
        XCTAssertEqual(m.balloonActualPages, 77)
        // The guest reuses one reported page: it is no longer skippable.
        m.memory.write(0x40_1000, width: 4, value: 1)
        XCTAssertEqual(m.balloonSkippablePages(), [0x400, 0x402, 0x403])
    }

    func testStatsBufferIsHeldUntilTheHostAsks() {
        programBARs()
        XCTAssertTrue(modernNegotiate(VirtioFeature.version1 | 1 << 1 | 1 << 5))
        XCTAssertEqual(m.balloon!.role(ofQueue: 2), .stats)
        XCTAssertEqual(m.balloon!.role(ofQueue: 3), .reporting)
        modernQueue(2, desc: 0x20000, avail: 0x21000, used: 0x22000)
        mmio(0x14, 0x0F, width: 1)
        // Two stats: tag 4 (free memory) = 0x1000, tag 5 (total) = 0x2000.
        var b: [UInt8] = []
        for (t, v) in [(UInt16(4), UInt64(0x1000)), (5, 0x2000)] {
            b += [UInt8(t & 0xFF), UInt8(t >> 8)]
            for j in 0..<8 { b.append(UInt8(truncatingIfNeeded: v >> (8 * UInt64(j)))) }
        }
        m.memory.write(b, at: 0x30000)
        m.memory.write(0x20000, width: 4, value: 0x30000)
        m.memory.write(0x20008, width: 4, value: UInt32(b.count))
        m.memory.write(0x21002, width: 2, value: 1)
        mmio(0x3008, 2, width: 2)
        XCTAssertEqual(m.balloon!.stats, [4: 0x1000, 5: 0x2000])
        XCTAssertEqual(m.memory.read(0x22002, width: 2), 0, "buffer held")
        m.balloon!.requestStats()
        XCTAssertEqual(m.memory.read(0x22002, width: 2), 1, "returned when the host asks")
    }

    func testPCIConfigWindowReachesTheBARs() {
        programBARs()
        let c = VirtioPCI.pciCfgCap
        cfgWrite(c + 4, 1, width: 1) // BAR1
        cfgWrite(c + 8, 0x12) // num_queues
        cfgWrite(c + 12, 2)
        XCTAssertEqual(cfgRead(c + 16, width: 2), 4)
        cfgWrite(c + 4, 0, width: 1) // BAR0, host features
        cfgWrite(c + 8, 0)
        cfgWrite(c + 12, 4)
        XCTAssertEqual(cfgRead(c + 16) & 0x27, 0x27)
    }

    func testStateRoundTripsAndContinues() throws {
        programBARs()
        legacySetUp(queues: [(0, 0x100), (1, 0x110)], features: 1)
        m.memory.write(0x5000, width: 4, value: 0x900)
        let r = legacyRing(pfn: 0x100)
        putChain(desc: r.desc, avail: r.avail, slot: 0, head: 0, buffer: 0x5000, length: 4)
        io(0x10, 0, width: 2)
        try m.setBalloonTarget(pages: 300)
        let saved = m.saveState()
        XCTAssertNotNil(saved.devices["virtio-balloon"])

        let n = try Machine(memorySize: 16 << 20, balloon: true)
        // RAM travels separately (the capsule layer); copy it here.
        n.memory.ram.update(from: m.memory.ram, count: m.memory.ramSize)
        try n.restoreState(saved)
        XCTAssertEqual(n.saveState(), saved)
        XCTAssertEqual(n.balloonInflatedPages, [0x900])
        XCTAssertEqual(n.balloonTargetPages, 300)
        XCTAssertEqual(n.balloonPCI!.ioBase, ioBase)
        // The restored queue continues where it was: the next chain lands in used slot 1.
        n.memory.write(0x5000, width: 4, value: 0x901)
        let d = r.desc + 16
        n.memory.write(d, width: 4, value: 0x5000)
        n.memory.write(d + 8, width: 4, value: 4)
        n.memory.write(r.avail + 6, width: 2, value: 1)
        n.memory.write(r.avail + 2, width: 2, value: 2)
        n.ports.ioWrite(port: ioBase + 0x10, width: 2, value: 0)
        XCTAssertEqual(n.balloonInflatedPages, [0x900, 0x901])
        XCTAssertEqual(n.memory.read(r.used + 2, width: 2), 2)

        // A machine without the device refuses the state.
        let plain = try Machine(memorySize: 16 << 20)
        XCTAssertNil(plain.saveState().devices["virtio-balloon"])
    }

    func testBoardResetEmptiesTheBalloon() throws {
        programBARs()
        legacySetUp(queues: [(0, 0x100)], features: 0)
        m.memory.write(0x5000, width: 4, value: 0x900)
        let r = legacyRing(pfn: 0x100)
        putChain(desc: r.desc, avail: r.avail, slot: 0, head: 0, buffer: 0x5000, length: 4)
        io(0x10, 0, width: 2)
        try m.setBalloonTarget(pages: 10)
        m.reset()
        XCTAssertEqual(m.balloonInflatedPages, [])
        XCTAssertEqual(m.balloonTargetPages, 10, "the host's target survives")
        XCTAssertNil(dev.ioBase, "BARs back to power-on")
        XCTAssertEqual(dev.status, 0)
    }
}
