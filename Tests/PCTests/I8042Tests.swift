import XCTest
@testable import PC

final class I8042Tests: XCTestCase {
    var kbc: I8042!
    var irq1 = false, irq12 = false
    var irq1Rises = 0
    var resets = 0
    var a20: [Bool] = []

    override func setUp() {
        kbc = I8042()
        irq1 = false; irq12 = false; irq1Rises = 0; resets = 0; a20 = []
        kbc.irq1 = { [unowned self] l in if l && !self.irq1 { self.irq1Rises += 1 }; self.irq1 = l }
        kbc.irq12 = { [unowned self] in self.irq12 = $0 }
        kbc.onReset = { [unowned self] in self.resets += 1 }
        kbc.onA20Change = { [unowned self] in self.a20.append($0) }
    }

    func cmd(_ c: UInt8) { kbc.portWrite(0x64, width: 1, value: UInt32(c)) }
    func data(_ d: UInt8) { kbc.portWrite(0x60, width: 1, value: UInt32(d)) }
    var status: UInt8 { UInt8(kbc.portRead(0x64, width: 1)) }

    /// Reads every byte waiting in the output buffer.
    func drain() -> [UInt8] {
        var out: [UInt8] = []
        while status & 1 != 0 { out.append(UInt8(kbc.portRead(0x60, width: 1))) }
        return out
    }

    func testSelfTestAndInterfaceTests() {
        XCTAssertEqual(status & 0x03, 0, "output and input buffers empty")
        cmd(0xAA)
        XCTAssertEqual(status & 0x09, 0x09, "output full; last write was a command")
        XCTAssertEqual(drain(), [0x55])
        cmd(0xAB)
        XCTAssertEqual(drain(), [0x00])
        cmd(0xA9)
        XCTAssertEqual(drain(), [0x00])
    }

    func testCommandByteReadWrite() {
        cmd(0x60); data(0x65)
        XCTAssertEqual(status & 0x08, 0)
        cmd(0x20)
        XCTAssertEqual(drain(), [0x65])
        XCTAssertEqual(status & 0x04, 0x04, "system flag mirrors command byte bit 2")
        cmd(0xAD)
        cmd(0xA7)
        cmd(0x20)
        XCTAssertEqual(drain(), [0x75])
        cmd(0xAE); cmd(0xA8)
        cmd(0x20)
        XCTAssertEqual(drain(), [0x45])
        // Controller answers are not interrupts unless enabled... but they are keyboard-side data:
        XCTAssertEqual(irq1Rises, 3, "bit 0 set: every answer raised IRQ 1")
    }

    func testA20AndResetThroughOutputPort() {
        cmd(0xD0)
        XCTAssertEqual(drain()[0] & 0x03, 0x01, "A20 off at power-on, not in reset")
        cmd(0xD1); data(0xDF)
        XCTAssertEqual(a20, [true])
        XCTAssertTrue(kbc.a20)
        cmd(0xD0)
        XCTAssertEqual(drain()[0] & 0x03, 0x03)
        cmd(0xD1); data(0xDD)
        XCTAssertEqual(a20, [true, false])
        XCTAssertEqual(resets, 0)
        cmd(0xFE)
        XCTAssertEqual(resets, 1, "pulse output bit 0")
        cmd(0xFF)
        XCTAssertEqual(resets, 1)
        cmd(0xD1); data(0xDC)
        XCTAssertEqual(resets, 2, "output port bit 0 low")
    }

    func testKeyboardResetAndCommands() {
        cmd(0x60); data(0x01)
        data(0xFF)
        XCTAssertEqual(drain(), [0xFA, 0xAA])
        XCTAssertEqual(irq1Rises, 2, "one IRQ 1 edge per byte")
        data(0xED); data(0x07)
        XCTAssertEqual(drain(), [0xFA, 0xFA])
        XCTAssertEqual(kbc.keyboard.leds, 7)
        data(0xF3); data(0x20)
        XCTAssertEqual(drain(), [0xFA, 0xFA])
        data(0xEE)
        XCTAssertEqual(drain(), [0xEE])
        data(0xF2)
        XCTAssertEqual(drain(), [0xFA, 0xAB, 0x83])
        data(0xF0); data(0x00)
        XCTAssertEqual(drain(), [0xFA, 0xFA, 0x02])
        data(0xF5)
        XCTAssertEqual(drain(), [0xFA])
        kbc.key(0x1C, down: true)
        XCTAssertEqual(drain(), [], "scanning disabled")
        data(0xF4)
        XCTAssertEqual(drain(), [0xFA])
        kbc.key(0x1C, down: true)
        XCTAssertEqual(drain(), [0x1C])
    }

    func testTranslationToSet1() {
        cmd(0x60); data(0x41) // translate, keyboard interrupt
        kbc.key(0x1C, down: true)             // A
        kbc.key(0x1C, down: false)
        kbc.key(0x75, extended: true, down: true)  // cursor up
        kbc.key(0x75, extended: true, down: false)
        XCTAssertEqual(drain(), [0x1E, 0x9E, 0xE0, 0x48, 0xE0, 0xC8])
        kbc.keyEvent(set2: [0x83]) // F7
        XCTAssertEqual(drain(), [0x41])
        // Responses are translated as well: what Linux expects from a translated keyboard.
        data(0xF2)
        XCTAssertEqual(drain(), [0xFA, 0xAB, 0x41])
        data(0xF0); data(0x00)
        XCTAssertEqual(drain(), [0xFA, 0xFA, 0x41])
        // Without translation the raw set-2 codes come through.
        cmd(0x60); data(0x01)
        kbc.key(0x1C, down: false)
        XCTAssertEqual(drain(), [0xF0, 0x1C])
    }

    func testKeyboardInSet1() {
        cmd(0x60); data(0x00)
        data(0xF0); data(0x01)
        XCTAssertEqual(drain(), [0xFA, 0xFA])
        kbc.key(0x76, down: true)  // Esc
        kbc.key(0x76, down: false)
        XCTAssertEqual(drain(), [0x01, 0x81])
    }

    func testDisabledKeyboardHoldsData() {
        cmd(0x60); data(0x51) // translate, keyboard disabled, keyboard IRQ
        kbc.key(0x1C, down: true)
        XCTAssertEqual(status & 1, 0)
        cmd(0xAE)
        XCTAssertEqual(drain(), [0x1E])
    }

    func testAuxPortMouse() {
        cmd(0x60); data(0x03) // both interrupts, both ports enabled, no translation
        cmd(0xD4); data(0xF2)
        XCTAssertEqual(status & 0x21, 0x21, "mouse data in the output buffer")
        XCTAssertTrue(irq12)
        XCTAssertFalse(irq1)
        XCTAssertEqual(drain(), [0xFA, 0x00])
        XCTAssertFalse(irq12)
        cmd(0xD4); data(0xFF)
        XCTAssertEqual(drain(), [0xFA, 0xAA, 0x00])
        cmd(0xD4); data(0xF4)
        XCTAssertEqual(drain(), [0xFA])
        kbc.mouseEvent(dx: 5, dy: -3, buttons: 1)
        XCTAssertEqual(drain(), [0x29, 0x05, 0xFD])
        // 0xD3 loops a byte back as mouse data (Linux's AUX probe).
        cmd(0xD3); data(0x5A)
        XCTAssertEqual(status & 0x20, 0x20)
        XCTAssertEqual(drain(), [0x5A])
    }

    func testSaveRestore() {
        cmd(0x60); data(0x41)
        kbc.key(0x1C, down: true)
        kbc.key(0x1C, down: false)
        let s = kbc.saveState()
        let k2 = I8042()
        k2.restoreState(s)
        XCTAssertEqual(k2.saveState(), s)
        var out2: [UInt8] = []
        while k2.portRead(0x64, width: 1) & 1 != 0 { out2.append(UInt8(k2.portRead(0x60, width: 1))) }
        XCTAssertEqual(out2, drain())
    }

    func testResetToPowerOn() {
        cmd(0x60); data(0x47)
        cmd(0xD1); data(0xDF)
        kbc.key(0x1C, down: true)
        kbc.reset()
        XCTAssertEqual(a20, [true, false])
        XCTAssertEqual(kbc.commandByte, 0x50)
        XCTAssertEqual(status & 1, 0)
        XCTAssertFalse(irq1)
    }

    /// The order Linux's i8042 driver probes in: flush, self test, CTR,
    /// AUX loop with the AUX status bit, AUX disable/enable bit test, AUX
    /// IRQ delivery through the loop command.
    func testLinuxProbeSequence() {
        XCTAssertNotEqual(status, 0xFF, "a controller is present")
        XCTAssertEqual(drain(), [])
        cmd(0xAA); XCTAssertEqual(drain(), [0x55])
        cmd(0x20); let ctr = drain()[0]
        cmd(0xD3); data(0x5A)
        XCTAssertEqual(status & 0x21, 0x21)
        XCTAssertEqual(drain(), [0x5A])
        cmd(0x60); data(ctr | 0x20)
        cmd(0x20); XCTAssertEqual(drain()[0] & 0x20, 0x20)
        cmd(0x60); data(ctr & ~0x20)
        cmd(0x20); XCTAssertEqual(drain()[0] & 0x20, 0x00)
        cmd(0x60); data((ctr & ~0x20) | 0x02)
        cmd(0xD3); data(0xA5)
        XCTAssertTrue(irq12, "AUX IRQ delivered")
        XCTAssertEqual(drain(), [0xA5])
    }
}
