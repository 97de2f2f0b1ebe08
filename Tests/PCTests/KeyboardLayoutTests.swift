import PC
import XCTest

final class KeyboardLayoutTests: XCTestCase {
    func testLowercaseLetterIsMakeThenBreak() {
        XCTAssertEqual(KeyboardLayout.events(for: Array("a".utf8)), [[0x1C], [0xF0, 0x1C]])
    }

    func testUppercaseAndSymbolsUseShift() {
        XCTAssertEqual(KeyboardLayout.events(for: Array("A".utf8)), [[0x12], [0x1C], [0xF0, 0x1C], [0xF0, 0x12]])
        XCTAssertEqual(KeyboardLayout.events(for: Array("!".utf8)), [[0x12], [0x16], [0xF0, 0x16], [0xF0, 0x12]])
    }

    func testEnterControlAndArrows() {
        XCTAssertEqual(KeyboardLayout.events(for: [0x0D]), [[0x5A], [0xF0, 0x5A]])
        XCTAssertEqual(KeyboardLayout.events(for: [0x03]), [[0x14], [0x21], [0xF0, 0x21], [0xF0, 0x14]]) // Ctrl-C
        XCTAssertEqual(KeyboardLayout.events(for: [0x1B, 0x5B, 0x41]), [[0xE0, 0x75], [0xE0, 0xF0, 0x75]]) // up
    }
}
