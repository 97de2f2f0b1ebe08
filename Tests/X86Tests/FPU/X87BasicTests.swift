import XCTest
@testable import X86

final class X87BasicTests: XCTestCase {
    func testOnePlusOne() {
        let r = X87.add(.one, .one, cw: X87Control.initial)
        XCTAssertEqual(r.value, X87Float(signExp: 0x4000, significand: 1 << 63))
        XCTAssertEqual(r.flags, [])
    }
}
