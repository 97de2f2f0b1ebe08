import XCTest
@testable import PC

final class Rtc146818Tests: XCTestCase {
    var clock: TestClock!
    var rtc: Rtc146818!
    var irq = false
    var rises = 0
    /// 2024-02-29 23:59:30 UTC (a leap day, 30 s before midnight).
    let start: Int64 = 1_709_164_800 + 86_370

    override func setUp() {
        clock = TestClock()
        rtc = Rtc146818(scheduler: clock.scheduler, startTime: start)
        irq = false
        rises = 0
        rtc.irq = { [unowned self] level in
            if level && !self.irq { self.rises += 1 }
            self.irq = level
        }
    }

    func read(_ i: UInt8) -> UInt8 {
        rtc.portWrite(0x70, width: 1, value: UInt32(i))
        return UInt8(rtc.portRead(0x71, width: 1))
    }

    func write(_ i: UInt8, _ v: UInt8) {
        rtc.portWrite(0x70, width: 1, value: UInt32(i))
        rtc.portWrite(0x71, width: 1, value: UInt32(v))
    }

    func testInitialTimeInBCD() {
        XCTAssertEqual(read(0x00), 0x30)
        XCTAssertEqual(read(0x02), 0x59)
        XCTAssertEqual(read(0x04), 0x23)
        XCTAssertEqual(read(0x06), 0x05) // Thursday
        XCTAssertEqual(read(0x07), 0x29)
        XCTAssertEqual(read(0x08), 0x02)
        XCTAssertEqual(read(0x09), 0x24)
        XCTAssertEqual(read(0x32), 0x20)
        XCTAssertEqual(read(0x0A), 0x26)
        XCTAssertEqual(read(0x0B), 0x02)
        XCTAssertEqual(read(0x0D), 0x80)
    }

    func testTimeAdvancesAcrossAMinuteAndMidnight() {
        clock.ns = 59_999_999_999
        XCTAssertEqual(read(0x00), 0x29, "59 updates so far")
        clock.ns = 60_000_000_000
        XCTAssertEqual(read(0x00), 0x30)
        XCTAssertEqual(read(0x02), 0x00)
        XCTAssertEqual(read(0x04), 0x00)
        XCTAssertEqual(read(0x07), 0x01)
        XCTAssertEqual(read(0x08), 0x03, "2024 is a leap year: 29 Feb → 1 Mar")
        XCTAssertEqual(read(0x06), 0x06) // Friday
        XCTAssertEqual(rtc.currentTime(), start + 60)
        // A long stretch without any access.
        clock.ns = 60_000_000_000 + 400 * 86_400 * 1_000_000_000
        XCTAssertEqual(rtc.currentTime(), start + 60 + 400 * 86_400)
        XCTAssertEqual(read(0x09), 0x25)
    }

    func testCenturyRollover() {
        rtc = Rtc146818(scheduler: clock.scheduler, startTime: 4_102_444_799) // 2099-12-31 23:59:59
        clock.ns = 1_000_000_000
        XCTAssertEqual(read(0x09), 0x00)
        XCTAssertEqual(read(0x32), 0x21)
        XCTAssertEqual(read(0x08), 0x01)
        XCTAssertEqual(read(0x07), 0x01)
    }

    func testBinaryAnd12HourModes() {
        write(0x0B, 0x80 | 0x04) // SET, binary, 12-hour
        write(0x00, 58)
        write(0x02, 59)
        write(0x04, 0x80 | 11) // 11 PM
        write(0x07, 31); write(0x08, 12); write(0x09, 23)
        write(0x32, 20) // the century byte follows DM like the others
        clock.ns = 5_000_000_000
        XCTAssertEqual(read(0x00), 58, "SET stops updates")
        write(0x0B, 0x04)
        clock.ns = 7_000_000_000 // two more updates
        XCTAssertEqual(read(0x00), 0)
        XCTAssertEqual(read(0x02), 0)
        XCTAssertEqual(read(0x04), 12, "midnight is 12 AM")
        XCTAssertEqual(read(0x07), 1)
        XCTAssertEqual(read(0x08), 1)
        XCTAssertEqual(read(0x09), 24)
        XCTAssertEqual(read(0x32), 20)
        // Noon in 12-hour binary mode carries the PM bit.
        write(0x0B, 0x84); write(0x04, 11); write(0x02, 59); write(0x00, 59); write(0x0B, 0x04)
        clock.ns = 8_000_000_000
        XCTAssertEqual(read(0x04), 0x80 | 12)
    }

    func testPeriodicInterruptRate() {
        write(0x0A, 0x26) // 1024 Hz
        write(0x0B, 0x42) // PIE, 24 h, BCD
        var serviced = 0
        clock.advance(to: 1_000_000_000, step: 100_000) {
            if self.irq {
                XCTAssertEqual(self.read(0x0C) & 0xC0, 0xC0)
                serviced += 1
            }
        }
        XCTAssertEqual(serviced, 1024)
        write(0x0A, 0x2F) // 2 Hz
        serviced = 0
        _ = read(0x0C)
        clock.advance(to: 3_000_000_000, step: 1_000_000) {
            if self.irq { _ = self.read(0x0C); serviced += 1 }
        }
        XCTAssertEqual(serviced, 4)
    }

    func testRegisterCClearsOnRead() {
        write(0x0B, 0x42)
        clock.advance(to: 2_000_000, step: 100_000)
        XCTAssertTrue(irq)
        XCTAssertEqual(read(0x0C), 0xC0)
        XCTAssertFalse(irq)
        XCTAssertEqual(read(0x0C), 0x00)
        // Flags are set even when their interrupt is disabled; IRQF is not.
        write(0x0B, 0x02)
        clock.ns += 1_000_000_000
        XCTAssertEqual(read(0x0C), 0x50, "PF and UF, no IRQF")
        XCTAssertFalse(irq)
    }

    func testUpdateEndedInterruptAndUIP() {
        write(0x0B, 0x12) // UIE
        clock.ns = 1_000_000_000 - 3_000_000
        XCTAssertEqual(read(0x0A) & 0x80, 0)
        clock.ns = 1_000_000_000 - 1_000_000
        XCTAssertEqual(read(0x0A) & 0x80, 0x80, "update in progress just before the boundary")
        clock.advance(to: 1_000_000_000, step: 100_000)
        XCTAssertTrue(irq)
        XCTAssertEqual(read(0x0C), 0xD0, "IRQF, UF, and PF (set whatever PIE says)")
        XCTAssertEqual(read(0x00), 0x31)
        clock.advance(to: 3_500_000_000, step: 100_000) { if self.irq { _ = self.read(0x0C) } }
        XCTAssertEqual(rises, 3)
    }

    func testAlarmInterrupt() {
        write(0x01, 0x40); write(0x03, 0xFF); write(0x05, 0xFF) // at second 40 of any minute
        write(0x0B, 0x22) // AIE
        clock.advance(to: 9_500_000_000, step: 100_000)
        XCTAssertFalse(irq)
        clock.advance(to: 10_000_000_000, step: 100_000)
        XCTAssertTrue(irq)
        XCTAssertEqual(read(0x0C) & 0xA0, 0xA0)
        XCTAssertEqual(read(0x00), 0x40)
    }

    func testDividerResetDelaysFirstUpdate() {
        write(0x0A, 0x70) // hold the divider
        clock.ns = 10_000_000_000
        XCTAssertEqual(read(0x00), 0x30)
        write(0x0A, 0x26)
        clock.ns += 499_000_000
        XCTAssertEqual(read(0x00), 0x30)
        clock.ns += 1_000_000
        XCTAssertEqual(read(0x00), 0x31, "first update 500 ms after leaving reset")
    }

    func testNVRAMAndMemorySizeAndChecksum() {
        write(0x40, 0xA5)
        XCTAssertEqual(read(0x40), 0xA5)
        rtc.setMemorySize(bytes: 128 << 20)
        XCTAssertEqual(read(0x15), 0x80); XCTAssertEqual(read(0x16), 0x02)
        XCTAssertEqual(read(0x17), 0xFF); XCTAssertEqual(read(0x18), 0xFF, "127 MiB in KiB is capped")
        XCTAssertEqual(read(0x30), 0xFF); XCTAssertEqual(read(0x31), 0xFF)
        XCTAssertEqual(read(0x34), 0x00); XCTAssertEqual(read(0x35), 0x07, "112 MiB in 64 KiB units")
        rtc.setMemorySize(bytes: 8 << 20)
        XCTAssertEqual(UInt16(read(0x17)) | UInt16(read(0x18)) << 8, 7168)
        XCTAssertEqual(read(0x34), 0); XCTAssertEqual(read(0x35), 0)
        var sum: UInt16 = 0
        for i in UInt8(0x10)...0x2D { sum &+= UInt16(read(i)) }
        XCTAssertEqual(UInt16(read(0x2E)) << 8 | UInt16(read(0x2F)), sum)
        XCTAssertNotEqual(sum, 0)
    }

    func testIndexPortNMIBit() {
        rtc.portWrite(0x70, width: 1, value: 0x8F)
        XCTAssertTrue(rtc.nmiMasked)
        rtc.portWrite(0x71, width: 1, value: 0x12)
        XCTAssertEqual(read(0x0F), 0x12)
        XCTAssertFalse(rtc.nmiMasked)
    }

    func testSaveRestore() {
        write(0x0B, 0x42)
        clock.advance(to: 1_500_000, step: 100_000)
        _ = read(0x0C)
        let s = rtc.saveState()
        let clock2 = TestClock()
        clock2.ns = clock.ns
        let rtc2 = Rtc146818(scheduler: clock2.scheduler, startTime: 0)
        var irq2 = false
        rtc2.irq = { irq2 = $0 }
        rtc2.restoreState(s)
        XCTAssertEqual(rtc2.saveState(), s)
        clock.advance(to: 5_000_000, step: 10_000)
        clock2.advance(to: 5_000_000, step: 10_000)
        XCTAssertEqual(irq, irq2)
        XCTAssertEqual(rtc.currentTime(), rtc2.currentTime())
    }
}
