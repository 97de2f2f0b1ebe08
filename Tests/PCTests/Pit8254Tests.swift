import XCTest
@testable import PC

final class Pit8254Tests: XCTestCase {
    var clock: TestClock!
    var pit: Pit8254!
    var portB: SystemControlPortB!
    /// (tick at which the callback ran, level)
    var edges: [(UInt64, Bool)] = []

    override func setUp() {
        clock = TestClock()
        pit = Pit8254(scheduler: clock.scheduler)
        portB = SystemControlPortB(pit: pit)
        edges = []
        pit.irq0 = { [unowned self] level in
            self.edges.append((Pit8254.tick(atNanoseconds: self.clock.ns), level))
        }
    }

    func out(_ port: UInt16, _ v: UInt8) { pit.portWrite(port, width: 1, value: UInt32(v)) }
    func inp(_ port: UInt16) -> UInt8 { UInt8(pit.portRead(port, width: 1)) }
    func ns(_ tick: UInt64) -> UInt64 { Pit8254.nanoseconds(atTick: tick) }

    /// Latches channel `c` and reads its 16-bit count (LSB, MSB access).
    func latchedCount(_ c: Int) -> UInt16 {
        out(0x43, UInt8(c << 6))
        let lo = UInt16(inp(0x40 + UInt16(c)))
        let hi = UInt16(inp(0x40 + UInt16(c)))
        return hi << 8 | lo
    }

    func testTickConversionIsExactAndMonotonic() {
        XCTAssertEqual(Pit8254.tick(atNanoseconds: 1_000_000_000), 1_193_182)
        for k: UInt64 in [0, 1, 2, 838, 1193, 65536, 1_193_182, 123_456_789_012] {
            let t = ns(k)
            XCTAssertEqual(Pit8254.tick(atNanoseconds: t), k)
            if t > 0 { XCTAssertEqual(Pit8254.tick(atNanoseconds: t - 1), k - 1) }
        }
        // No overflow after a year of virtual time.
        let year: UInt64 = 365 * 86400 * 1_000_000_000
        XCTAssertEqual(Pit8254.tick(atNanoseconds: year), 365 * 86400 * 1_193_182)
    }

    func testMode2PeriodAndCount() {
        out(0x43, 0x34) // channel 0, LSB/MSB, mode 2, binary
        out(0x40, 0xA9); out(0x40, 0x04) // 1193
        XCTAssertEqual(edges.map { $0.1 }, [true], "the control word sets OUT high")
        edges = []
        // Count loads on the first clock after the write (tick 1).
        clock.ns = ns(101)
        XCTAssertEqual(latchedCount(0), 1193 - 100)
        clock.ns = ns(1 + 1192)
        XCTAssertEqual(latchedCount(0), 1)
        clock.advance(to: ns(1 + 10 * 1193) + 1, step: 50_000)
        // Ten periods: OUT low for one clock at count 1, high again at reload.
        let rises = edges.filter { $0.1 }.map { $0.0 }
        let falls = edges.filter { !$0.1 }.map { $0.0 }
        XCTAssertEqual(rises, (1...10).map { 1 + UInt64($0) * 1193 })
        XCTAssertEqual(falls, (1...10).map { UInt64($0) * 1193 })
    }

    func testEventsRunLateLoseNoEdges() {
        out(0x43, 0x34)
        out(0x40, 0xA9); out(0x40, 0x04)
        clock.ns = 100_000_000 // jump 100 ms at once
        clock.scheduler.runDue()
        // 119318 ticks: 100 periods of 1193, plus the control word's rising edge.
        XCTAssertEqual(edges.filter { $0.1 }.count, 101)
        XCTAssertEqual(edges.filter { !$0.1 }.count, 100)
    }

    func testMode3SquareWave() {
        out(0x43, 0x36) // channel 0, mode 3, count 0 = 65536
        out(0x40, 0); out(0x40, 0)
        edges = []
        clock.ns = ns(1 + 10)
        XCTAssertEqual(latchedCount(0), UInt16(truncatingIfNeeded: 65536 - 20), "mode 3 counts by two")
        clock.advance(to: ns(1 + 3 * 65536) + 1, step: 1_000_000)
        XCTAssertEqual(edges.map { $0.1 }, [false, true, false, true, false, true])
        let expected: [UInt64] = (1...6).map { 1 + UInt64($0) * 32768 }
        XCTAssertEqual(edges.map { $0.0 }, expected)
    }

    func testMode3OddCount() {
        out(0x43, 0x36)
        out(0x40, 5); out(0x40, 0)
        edges = []
        clock.advance(to: ns(1 + 10) + 1, step: 100)
        // High for 3 clocks, low for 2.
        XCTAssertEqual(edges.map { $0.0 }, [4, 6, 9, 11])
        XCTAssertEqual(edges.map { $0.1 }, [false, true, false, true])
    }

    func testMode0OneShotInterrupt() {
        out(0x43, 0x30) // channel 0, mode 0
        out(0x40, 100)
        XCTAssertTrue(edges.isEmpty, "OUT already low after the control word")
        XCTAssertFalse(pit.outLevel(0))
        out(0x40, 0)
        clock.advance(to: ns(1000), step: 500)
        XCTAssertEqual(edges.count, 1)
        XCTAssertEqual(edges[0].0, 101)
        XCTAssertTrue(edges[0].1)
        XCTAssertNil(clock.scheduler.nextDue, "one shot: nothing more scheduled")
        // The counter wraps after terminal count while OUT stays high.
        clock.ns = ns(102)
        XCTAssertEqual(latchedCount(0), 0xFFFF)
        XCTAssertTrue(pit.outLevel(0))
    }

    func testChannel2GateAndOutViaPortB() {
        // What Linux's PIT TSC calibration does: gate on, mode 0, wait for OUT2.
        portB.portWrite(0x61, width: 1, value: 0x00)
        out(0x43, 0xB0) // channel 2, LSB/MSB, mode 0
        out(0x42, 0xE8); out(0x42, 0x03) // 1000
        clock.ns = ns(500)
        XCTAssertEqual(latchedCount(2), 1000, "gate low: not counting")
        portB.portWrite(0x61, width: 1, value: 0x01)
        XCTAssertEqual(UInt8(portB.portRead(0x61, width: 1)) & 0x20, 0)
        clock.ns = ns(500 + 1 + 999)
        XCTAssertEqual(UInt8(portB.portRead(0x61, width: 1)) & 0x20, 0)
        XCTAssertEqual(latchedCount(2), 1)
        clock.ns = ns(500 + 1 + 1000)
        XCTAssertEqual(UInt8(portB.portRead(0x61, width: 1)) & 0x21, 0x21)
        XCTAssertTrue(edges.isEmpty, "channel 2 does not touch IRQ0")
    }

    func testGateLowSuspendsMode0() {
        portB.portWrite(0x61, width: 1, value: 0x01)
        out(0x43, 0xB0)
        out(0x42, 100); out(0x42, 0)
        clock.ns = ns(51) // 50 clocks counted
        portB.portWrite(0x61, width: 1, value: 0x00)
        clock.ns = ns(1000)
        XCTAssertEqual(latchedCount(2), 50)
        portB.portWrite(0x61, width: 1, value: 0x01)
        clock.ns = ns(1000 + 1 + 49)
        XCTAssertFalse(pit.outLevel(2))
        clock.ns = ns(1000 + 1 + 50)
        XCTAssertTrue(pit.outLevel(2))
    }

    func testReadBackStatusAndCount() {
        out(0x43, 0x34)
        out(0x40, 0x00); out(0x40, 0x10) // 4096
        // Before the load clock: null count is set.
        out(0x43, 0xE2) // read-back status only, channel 0
        XCTAssertEqual(inp(0x40), 0x80 | 0x40 | 0x34)
        clock.ns = ns(11)
        out(0x43, 0xC2) // count and status, channel 0
        XCTAssertEqual(inp(0x40), 0x80 | 0x34, "status first; count loaded")
        XCTAssertEqual(inp(0x40), 0xF6)
        XCTAssertEqual(inp(0x40), 0x0F) // 4096 - 10 = 0x0FF6
        // A latched count survives later counting until read.
        out(0x43, 0x00)
        clock.ns = ns(111)
        XCTAssertEqual(inp(0x40), 0xF6)
        XCTAssertEqual(inp(0x40), 0x0F)
        XCTAssertEqual(latchedCount(0), 4096 - 110)
    }

    func testBCDAndSingleByteAccess() {
        out(0x43, 0x55) // channel 1, LSB only, mode 2, BCD
        out(0x41, 0x99) // 99 decimal
        clock.ns = ns(1 + 9)
        XCTAssertEqual(inp(0x41), 0x90, "99 - 9 = 90 in BCD")
        out(0x43, 0x65) // channel 1, MSB only, mode 2, BCD
        out(0x41, 0x10) // 1000 decimal
        clock.ns = ns(20)
        XCTAssertEqual(inp(0x41), 0x09) // 1000 - 9 = 0991 → MSB 09
    }

    func testNewCountInMode2TakesEffectAtReload() {
        out(0x43, 0x34)
        out(0x40, 100); out(0x40, 0)
        edges = []
        clock.ns = ns(51)
        out(0x40, 10); out(0x40, 0)
        clock.ns = ns(60)
        XCTAssertEqual(latchedCount(0), 100 - 59, "current period runs out")
        clock.advance(to: ns(101 + 25), step: 200)
        XCTAssertEqual(edges.filter { $0.1 }.map { $0.0 }, [101, 111, 121])
    }

    func testSaveRestoreKeepsSchedule() {
        out(0x43, 0x34)
        out(0x40, 0xA9); out(0x40, 0x04)
        clock.advance(to: 3_000_000, step: 10_000)
        let s = pit.saveState()
        // A second machine resumes from the state at the same virtual time.
        let clock2 = TestClock()
        clock2.ns = clock.ns
        let pit2 = Pit8254(scheduler: clock2.scheduler)
        var edges2: [(UInt64, Bool)] = []
        pit2.irq0 = { edges2.append((Pit8254.tick(atNanoseconds: clock2.ns), $0)) }
        pit2.restoreState(s)
        XCTAssertEqual(pit2.saveState(), s)
        let before = edges.count
        clock.advance(to: 10_000_000, step: 10_000)
        clock2.advance(to: 10_000_000, step: 10_000)
        XCTAssertEqual(edges[before...].map { $0.0 }, edges2.map { $0.0 })
        XCTAssertEqual(edges[before...].map { $0.1 }, edges2.map { $0.1 })
    }

    func testRefreshToggle() {
        let a = portB.portRead(0x61, width: 1) & 0x10
        clock.ns += SystemControlPortB.refreshHalfPeriod
        let b = portB.portRead(0x61, width: 1) & 0x10
        XCTAssertNotEqual(a, b)
    }

    func testMode1RetriggerableOneShot() {
        out(0x43, 0xB2) // channel 2, mode 1
        out(0x42, 10); out(0x42, 0)
        clock.ns = ns(50)
        XCTAssertTrue(pit.outLevel(2), "waits for a gate trigger")
        portB.portWrite(0x61, width: 1, value: 0x01) // trigger at tick 50
        clock.ns = ns(51)
        XCTAssertFalse(pit.outLevel(2))
        clock.ns = ns(55)
        portB.portWrite(0x61, width: 1, value: 0x00)
        portB.portWrite(0x61, width: 1, value: 0x01) // retrigger at 55: restarts the count
        clock.ns = ns(56 + 9)
        XCTAssertFalse(pit.outLevel(2))
        clock.ns = ns(56 + 10)
        XCTAssertTrue(pit.outLevel(2))
    }

    func testMode4And5Strobes() {
        out(0x43, 0x38) // channel 0, mode 4
        out(0x40, 20); out(0x40, 0)
        edges = []
        clock.advance(to: ns(100), step: 100)
        XCTAssertEqual(edges.map { $0.0 }, [21, 22], "OUT low for one clock at terminal count")
        XCTAssertEqual(edges.map { $0.1 }, [false, true])
        out(0x43, 0xBA) // channel 2, mode 5
        out(0x42, 5); out(0x42, 0)
        clock.ns = ns(200)
        portB.portWrite(0x61, width: 1, value: 0x01)
        clock.ns = ns(201 + 4)
        XCTAssertTrue(pit.outLevel(2))
        clock.ns = ns(201 + 5)
        XCTAssertFalse(pit.outLevel(2))
        clock.ns = ns(201 + 6)
        XCTAssertTrue(pit.outLevel(2))
    }

    func testDrivesThePIC() {
        let pic = Pic8259Pair()
        var intr = false
        pic.intr = { intr = $0 }
        for (p, v) in [(0x20, 0x11), (0x21, 0x08), (0x21, 0x04), (0x21, 0x01)] as [(UInt16, UInt32)] {
            pic.portWrite(p, width: 1, value: v)
        }
        pit.irq0 = { pic.setIRQ(0, level: $0) }
        out(0x43, 0x34)
        out(0x40, 0xA9); out(0x40, 0x04)
        XCTAssertEqual(pic.acknowledgeInterrupt(), 0x08) // the control word's rising edge
        pic.portWrite(0x20, width: 1, value: 0x20)
        var interrupts = 0
        clock.advance(to: 10_000_000, step: 10_000) {
            if intr {
                XCTAssertEqual(pic.acknowledgeInterrupt(), 0x08)
                pic.portWrite(0x20, width: 1, value: 0x20)
                interrupts += 1
            }
        }
        XCTAssertEqual(interrupts, 10, "1000 Hz for 10 ms")
    }

    /// Linux's quick_pit_calibrate: channel 2, mode 0, count 0xFFFF, then
    /// the MSB read (LSB, MSB without latch) must step down by one every
    /// 256 clocks.
    func testQuickCalibrationMSBSequence() {
        portB.portWrite(0x61, width: 1, value: (portB.portRead(0x61, width: 1) & ~0x02) | 0x01)
        out(0x43, 0xB0)
        out(0x42, 0xFF); out(0x42, 0xFF)
        var last: UInt8 = 0xFF
        var changes: [UInt64] = []
        for _ in 0..<100_000 {
            clock.ns += 7
            _ = inp(0x42)
            let msb = inp(0x42)
            if msb != last {
                XCTAssertEqual(msb, last &- 1)
                changes.append(Pit8254.tick(atNanoseconds: clock.ns))
                last = msb
            }
        }
        XCTAssertGreaterThan(changes.count, 2)
        for (a, b) in zip(changes, changes.dropFirst()) { XCTAssertEqual(b - a, 256) }
    }

    func testNewCountInMode3TakesEffectAtHalfCycle() {
        out(0x43, 0x36)
        out(0x40, 100); out(0x40, 0)   // loads at tick 1: high 1–50, low 51–100
        edges = []
        clock.ns = ns(20)
        out(0x40, 10); out(0x40, 0)    // the running half-cycle ends at 51
        clock.advance(to: ns(80), step: 100)
        XCTAssertEqual(edges.map { $0.0 }, [51, 56, 61, 66, 71, 76])
        XCTAssertEqual(edges.map { $0.1 }, [false, true, false, true, false, true])
    }

    func testLinuxOneshotMode4() {
        out(0x43, 0x38)                 // what pit_set_oneshot writes
        out(0x40, 0xA9); out(0x40, 0x04)
        edges = []
        clock.advance(to: ns(3000), step: 1000)
        XCTAssertEqual(edges.map { $0.0 }, [1194, 1195])
        // The next event is programmed from the interrupt handler.
        out(0x40, 100); out(0x40, 0)
        let t = Pit8254.tick(atNanoseconds: clock.ns)
        clock.advance(to: ns(t + 200), step: 1000)
        XCTAssertEqual(edges.map { $0.0 }, [1194, 1195, t + 101, t + 102])
    }

    func testReset() {
        out(0x43, 0x34)
        out(0x40, 0xA9); out(0x40, 0x04)
        portB.portWrite(0x61, width: 1, value: 1)
        pit.reset()
        XCTAssertNil(clock.scheduler.nextDue)
        XCTAssertFalse(pit.outLevel(0))
        XCTAssertEqual(edges.last?.1, false)
        XCTAssertFalse(pit.counters[2].gate)
    }
}
