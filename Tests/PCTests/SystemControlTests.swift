import XCTest
@testable import PC

final class SystemControlTests: XCTestCase {
    func testFastA20AndResets() {
        let sc = SystemControl()
        var a20: [Bool] = []
        var resets: [Bool] = []
        sc.onA20Change = { a20.append($0) }
        sc.onReset = { resets.append($0) }
        XCTAssertEqual(sc.portRead(0x92, width: 1), 0)
        sc.portWrite(0x92, width: 1, value: 0x02)
        XCTAssertEqual(a20, [true])
        XCTAssertEqual(sc.portRead(0x92, width: 1), 0x02)
        sc.portWrite(0x92, width: 1, value: 0x03)
        XCTAssertEqual(resets, [false])
        XCTAssertEqual(sc.portRead(0x92, width: 1), 0x02, "bit 0 reads back 0")
        sc.portWrite(0x92, width: 1, value: 0x00)
        XCTAssertEqual(a20, [true, false])
        // 0xCF9: SRST first, then RCPU 0→1 performs a hard reset.
        sc.portWrite(0xCF9, width: 1, value: 0x02)
        XCTAssertEqual(resets, [false])
        sc.portWrite(0xCF9, width: 1, value: 0x06)
        XCTAssertEqual(resets, [false, true])
        sc.portWrite(0xCF9, width: 1, value: 0x04)
        XCTAssertEqual(resets, [false, true, false], "soft reset without SRST")
    }
}
