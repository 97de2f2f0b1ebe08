import XCTest
@testable import PC

final class Pic8259Tests: XCTestCase {
    var pic: Pic8259Pair!
    var intr = false

    override func setUp() {
        pic = Pic8259Pair()
        intr = false
        pic.intr = { [unowned self] in self.intr = $0 }
        // The PC BIOS sequence: edge, cascade, ICW4; vectors 08h and 70h.
        out(0x20, 0x11); out(0xA0, 0x11)
        out(0x21, 0x08); out(0xA1, 0x70)
        out(0x21, 0x04); out(0xA1, 0x02)
        out(0x21, 0x01); out(0xA1, 0x01)
    }

    func out(_ port: UInt16, _ v: UInt8) { pic.portWrite(port, width: 1, value: UInt32(v)) }
    func inp(_ port: UInt16) -> UInt8 { UInt8(pic.portRead(port, width: 1)) }

    func isr(master: Bool = true) -> UInt8 {
        out(master ? 0x20 : 0xA0, 0x0B)
        let v = inp(master ? 0x20 : 0xA0)
        out(master ? 0x20 : 0xA0, 0x0A)
        return v
    }

    func testInitLeavesAllUnmaskedAndQuiet() {
        XCTAssertEqual(inp(0x21), 0)
        XCTAssertEqual(inp(0xA1), 0)
        XCTAssertFalse(intr)
        XCTAssertEqual(inp(0x20), 0) // IRR read by default
    }

    func testAcknowledgeAndNonSpecificEOI() {
        pic.setIRQ(0, level: true)
        XCTAssertTrue(intr)
        XCTAssertEqual(pic.acknowledgeInterrupt(), 0x08)
        XCTAssertFalse(intr)
        XCTAssertEqual(isr(), 0x01)
        out(0x20, 0x20)
        XCTAssertEqual(isr(), 0x00)
        // The line is still high: an edge input does not request again.
        XCTAssertFalse(intr)
        pic.setIRQ(0, level: false)
        pic.setIRQ(0, level: true)
        XCTAssertTrue(intr)
    }

    func testFixedPriorityAndNesting() {
        pic.setIRQ(3, level: true)
        pic.setIRQ(1, level: true)
        XCTAssertEqual(pic.acknowledgeInterrupt(), 0x09) // IRQ1 first
        XCTAssertFalse(intr, "IRQ3 is below IRQ1 in service")
        pic.setIRQ(0, level: true)
        XCTAssertTrue(intr, "IRQ0 outranks IRQ1 in service")
        XCTAssertEqual(pic.acknowledgeInterrupt(), 0x08)
        XCTAssertEqual(isr(), 0x03)
        out(0x20, 0x20) // clears IRQ0 (highest in service)
        XCTAssertEqual(isr(), 0x02)
        XCTAssertFalse(intr)
        out(0x20, 0x20) // clears IRQ1
        XCTAssertTrue(intr)
        XCTAssertEqual(pic.acknowledgeInterrupt(), 0x0B)
    }

    func testMasking() {
        out(0x21, 0x02)
        pic.setIRQ(1, level: true)
        XCTAssertFalse(intr)
        XCTAssertEqual(inp(0x20) & 0x02, 0x02, "IRR records the masked request")
        out(0x21, 0x00)
        XCTAssertTrue(intr)
        XCTAssertEqual(pic.acknowledgeInterrupt(), 0x09)
    }

    func testSpuriousIRQ7WhenRequestGoesAway() {
        out(0x4D0, 0x20) // IRQ5 level triggered
        pic.setIRQ(5, level: true)
        XCTAssertTrue(intr)
        pic.setIRQ(5, level: false)
        XCTAssertFalse(intr)
        // The CPU had already started the INTA cycle.
        XCTAssertEqual(pic.acknowledgeInterrupt(), 0x0F)
        XCTAssertEqual(isr(), 0, "a spurious IRQ7 sets no ISR bit")
    }

    func testSpuriousIRQ7WhenMaskedAfterRaise() {
        pic.setIRQ(4, level: true)
        XCTAssertTrue(intr)
        out(0x21, 0x10)
        XCTAssertEqual(pic.acknowledgeInterrupt(), 0x0F)
        XCTAssertEqual(isr(), 0)
    }

    func testSpuriousIRQ15SetsMasterCascadeInService() {
        out(0x4D1, 0x08) // IRQ11 level triggered
        pic.setIRQ(11, level: true)
        XCTAssertTrue(intr)
        pic.setIRQ(11, level: false)
        XCTAssertEqual(pic.acknowledgeInterrupt(), 0x77)
        XCTAssertEqual(isr(master: false), 0)
        XCTAssertEqual(isr(), 0x04, "the master acknowledged its cascade input")
        out(0x20, 0x62) // specific EOI for IR2, as Linux does
        XCTAssertEqual(isr(), 0)
    }

    func testCascade() {
        pic.setIRQ(8, level: true)
        XCTAssertTrue(intr)
        XCTAssertEqual(pic.acknowledgeInterrupt(), 0x70)
        XCTAssertEqual(isr(), 0x04)
        XCTAssertEqual(isr(master: false), 0x01)
        pic.setIRQ(14, level: true)
        XCTAssertFalse(intr, "IRQ14 waits behind IRQ8 on the slave")
        out(0xA0, 0x20)
        out(0x20, 0x20)
        XCTAssertTrue(intr)
        XCTAssertEqual(pic.acknowledgeInterrupt(), 0x76)
        // IRQ 8–15 rank between IRQ1 and IRQ3.
        pic.setIRQ(3, level: true)
        pic.setIRQ(1, level: true)
        out(0xA0, 0x20); out(0x20, 0x20)
        pic.setIRQ(9, level: true)
        XCTAssertEqual(pic.acknowledgeInterrupt(), 0x09)
        XCTAssertFalse(intr, "IRQ9 (on IR2) waits behind IRQ1")
        out(0x20, 0x20)
        XCTAssertEqual(pic.acknowledgeInterrupt(), 0x71, "IRQ9 before IRQ3")
        XCTAssertFalse(intr)
        out(0xA0, 0x20); out(0x20, 0x20)
        XCTAssertEqual(pic.acknowledgeInterrupt(), 0x0B)
    }

    func testLevelTriggeredRequestsAgainAfterEOI() {
        out(0x4D1, 0x08) // IRQ11
        XCTAssertEqual(inp(0x4D1), 0x08)
        out(0x4D0, 0x07) // IRQ 0–2 can't be level
        XCTAssertEqual(inp(0x4D0), 0x00)
        pic.setIRQ(11, level: true)
        XCTAssertEqual(pic.acknowledgeInterrupt(), 0x73)
        out(0xA0, 0x20); out(0x20, 0x20)
        XCTAssertTrue(intr, "still asserted")
        XCTAssertEqual(pic.acknowledgeInterrupt(), 0x73)
        pic.setIRQ(11, level: false)
        out(0xA0, 0x20); out(0x20, 0x20)
        XCTAssertFalse(intr)
    }

    func testEdgePulseIsLatched() {
        pic.setIRQ(6, level: true)
        pic.setIRQ(6, level: false)
        XCTAssertTrue(intr)
        XCTAssertEqual(pic.acknowledgeInterrupt(), 0x0E)
    }

    func testAutoEOI() {
        out(0x20, 0x11); out(0x21, 0x20); out(0x21, 0x04); out(0x21, 0x03)
        pic.setIRQ(1, level: true)
        XCTAssertEqual(pic.acknowledgeInterrupt(), 0x21)
        XCTAssertEqual(isr(), 0)
    }

    func testSpecificRotationAndSetPriority() {
        out(0x20, 0xC3) // IR3 lowest, IR4 highest
        pic.setIRQ(1, level: true)
        pic.setIRQ(5, level: true)
        XCTAssertEqual(pic.acknowledgeInterrupt(), 0x0D)
        out(0x20, 0xE5) // rotate on specific EOI 5: IR5 lowest, IR6 highest
        XCTAssertEqual(isr(), 0)
        pic.setIRQ(7, level: true)
        XCTAssertEqual(pic.acknowledgeInterrupt(), 0x0F, "IR7 now outranks IR1")
        out(0x20, 0xA0) // rotate on non-specific EOI: IR7 becomes lowest
        pic.setIRQ(6, level: true)
        XCTAssertEqual(pic.acknowledgeInterrupt(), 0x09, "IR0 highest: IR1 before IR6")
    }

    func testPoll() {
        pic.setIRQ(3, level: true)
        out(0x20, 0x0C)
        XCTAssertEqual(inp(0x20), 0x83)
        XCTAssertEqual(isr(), 0x08)
        out(0x20, 0x0C)
        XCTAssertEqual(inp(0x20), 0x00, "nothing pending")
    }

    func testSpecialMaskMode() {
        pic.setIRQ(1, level: true)
        XCTAssertEqual(pic.acknowledgeInterrupt(), 0x09)
        pic.setIRQ(3, level: true)
        XCTAssertFalse(intr)
        out(0x21, 0x02)     // mask the in-service level
        out(0x20, 0x68)     // set special mask mode
        XCTAssertTrue(intr, "lower priorities may interrupt")
        XCTAssertEqual(pic.acknowledgeInterrupt(), 0x0B)
        out(0x20, 0x48)     // reset special mask mode
        pic.setIRQ(4, level: true)
        XCTAssertFalse(intr)
    }

    func testReadIRRAndISR() {
        out(0x21, 0xFF)
        pic.setIRQ(5, level: true)
        out(0x20, 0x0A)
        XCTAssertEqual(inp(0x20), 0x20)
        out(0x20, 0x0B)
        XCTAssertEqual(inp(0x20), 0x00)
    }

    func testSaveRestoreRoundTrip() {
        pic.setIRQ(1, level: true)
        _ = pic.acknowledgeInterrupt()
        pic.setIRQ(3, level: true)
        let s = pic.saveState()
        let other = Pic8259Pair()
        other.restoreState(s)
        XCTAssertEqual(other.saveState(), s)
        XCTAssertEqual(other.master.isr, 0x02)
        out(0x20, 0x20)
        other.portWrite(0x20, width: 1, value: 0x20)
        XCTAssertEqual(other.acknowledgeInterrupt(), pic.acknowledgeInterrupt())
    }
}
