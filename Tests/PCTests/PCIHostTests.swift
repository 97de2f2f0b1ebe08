import XCTest
@testable import PC

final class PCIHostTests: XCTestCase {
    var host: PCIHost!
    var nb: I440FXHostBridge!
    var sb: Piix3ISABridge!

    override func setUp() {
        host = PCIHost()
        nb = I440FXHostBridge()
        sb = Piix3ISABridge()
        host.attach(nb, device: 0, function: 0)
        host.attach(sb, device: 1, function: 0)
    }

    func address(_ dev: Int, _ fn: Int, _ reg: Int, bus: Int = 0, enable: Bool = true) {
        let a = (enable ? 0x8000_0000 : 0) | UInt32(bus) << 16 | UInt32(dev) << 11 | UInt32(fn) << 8 | UInt32(reg)
        host.portWrite(0xCF8, width: 4, value: a)
    }

    func testVendorDeviceThroughByteLanes() {
        address(0, 0, 0)
        XCTAssertEqual(host.portRead(0xCFC, width: 4), 0x1237_8086)
        XCTAssertEqual(host.portRead(0xCFC, width: 2), 0x8086)
        XCTAssertEqual(host.portRead(0xCFE, width: 2), 0x1237)
        XCTAssertEqual(host.portRead(0xCFD, width: 1), 0x80)
        XCTAssertEqual(host.portRead(0xCFF, width: 1), 0x12)
        XCTAssertEqual(host.portRead(0xCF8, width: 4), 0x8000_0000)
        address(1, 0, 0)
        XCTAssertEqual(host.portRead(0xCFC, width: 4), 0x7000_8086)
        address(0, 0, 8)
        XCTAssertEqual(host.portRead(0xCFC, width: 4), 0x0600_0002)
        address(1, 0, 8)
        XCTAssertEqual(host.portRead(0xCFE, width: 2), 0x0601)
        address(1, 0, 0x0C)
        XCTAssertEqual(host.portRead(0xCFE, width: 1), 0x80, "PIIX3 is multi-function")
        address(0, 0, 0x0C)
        XCTAssertEqual(host.portRead(0xCFE, width: 1), 0x00)
    }

    func testAbsentFunctionsReadAllOnes() {
        address(5, 0, 0)
        XCTAssertEqual(host.portRead(0xCFC, width: 4), 0xFFFF_FFFF)
        XCTAssertEqual(host.portRead(0xCFC, width: 2), 0xFFFF)
        address(1, 1, 0)
        XCTAssertEqual(host.portRead(0xCFC, width: 4), 0xFFFF_FFFF)
        address(0, 0, 0, bus: 1)
        XCTAssertEqual(host.portRead(0xCFC, width: 4), 0xFFFF_FFFF)
        address(0, 0, 0, enable: false)
        XCTAssertEqual(host.portRead(0xCFC, width: 4), 0xFFFF_FFFF)
        // Byte accesses to 0xCF8 do not change CONFADD.
        address(0, 0, 0)
        host.portWrite(0xCF8, width: 1, value: 0)
        XCTAssertEqual(host.portRead(0xCF8, width: 4), 0x8000_0000)
    }

    func testPAMWritesAndCallback() {
        var changes = 0
        nb.onPAMChange = { changes += 1 }
        XCTAssertEqual(nb.pam(forAddress: 0xF0000).readRAM, false)
        address(0, 0, 0x58)
        host.portWrite(0xCFD, width: 1, value: 0x33) // PAM0: only bits 5:4 exist
        XCTAssertEqual(host.portRead(0xCFD, width: 1), 0x30)
        XCTAssertEqual(changes, 1)
        XCTAssertTrue(nb.pam(forAddress: 0xF8000) == (true, true))
        address(0, 0, 0x5C)
        host.portWrite(0xCFC, width: 4, value: 0x1111_0001) // 0x5C..0x5F
        XCTAssertEqual(changes, 2)
        // 0x5A covers C0000/C4000, 0x5B C8000/CC000, 0x5C D0000/D4000, ...
        XCTAssertTrue(nb.pam(forAddress: 0xD0000) == (true, false))  // 0x5C low
        XCTAssertTrue(nb.pam(forAddress: 0xD4000) == (false, false)) // 0x5C high
        XCTAssertTrue(nb.pam(forAddress: 0xDC000) == (false, false)) // 0x5D high
        XCTAssertTrue(nb.pam(forAddress: 0xE4000) == (true, false))  // 0x5E high
        XCTAssertTrue(nb.pam(forAddress: 0x80000) == (true, true), "below 0xC0000 is always DRAM")
        XCTAssertEqual(nb.get8(0x72), 0x02, "SMRAM default")
    }

    func testPIRQRouting() {
        var lines: [(Int, Bool)] = []
        sb.setIRQ = { lines.append(($0, $1)) }
        XCTAssertNil(sb.irq(forPIRQ: 0))
        address(1, 0, 0x60)
        XCTAssertEqual(host.portRead(0xCFC, width: 4), 0x8080_8080)
        host.portWrite(0xCFC, width: 1, value: 0x0B) // PIRQA → IRQ 11
        host.portWrite(0xCFD, width: 1, value: 0x0A) // PIRQB → IRQ 10
        XCTAssertEqual(sb.irq(forPIRQ: 0), 11)
        XCTAssertEqual(sb.irq(forPIRQ: 1), 10)
        XCTAssertNil(sb.irq(forPIRQ: 2))
        sb.setPCIInterrupt(pirq: 0, source: 3, level: true)
        sb.setPCIInterrupt(pirq: 0, source: 4, level: true)
        sb.setPCIInterrupt(pirq: 0, source: 3, level: false)
        XCTAssertEqual(lines.map { $0.0 }, [11])
        XCTAssertEqual(lines.map { $0.1 }, [true])
        // Re-routing moves the asserted level.
        host.portWrite(0xCFC, width: 1, value: 0x05)
        XCTAssertEqual(lines.map { $0.0 }, [11, 11, 5])
        XCTAssertEqual(lines.map { $0.1 }, [true, false, true])
        sb.setPCIInterrupt(pirq: 0, source: 4, level: false)
        XCTAssertEqual(lines.last!.0, 5)
        XCTAssertEqual(lines.last!.1, false)
    }

    func testBridgeResets() {
        var pamChanges = 0
        nb.onPAMChange = { pamChanges += 1 }
        address(0, 0, 0x58)
        host.portWrite(0xCFD, width: 1, value: 0x30)
        address(1, 0, 0x60)
        host.portWrite(0xCFC, width: 1, value: 0x0B)
        var lines: [(Int, Bool)] = []
        sb.setIRQ = { lines.append(($0, $1)) }
        sb.setPCIInterrupt(pirq: 0, source: 0, level: true)
        nb.reset()
        sb.reset()
        host.reset()
        XCTAssertEqual(pamChanges, 2)
        XCTAssertTrue(nb.pam(forAddress: 0xF0000) == (false, false))
        XCTAssertNil(sb.irq(forPIRQ: 0))
        XCTAssertEqual(lines.last?.0, 11)
        XCTAssertEqual(lines.last?.1, false, "unrouted by the reset")
        XCTAssertEqual(host.portRead(0xCF8, width: 4), 0)
    }
}
