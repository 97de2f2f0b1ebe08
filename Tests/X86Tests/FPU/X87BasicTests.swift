import XCTest
@testable import X86

/// Hand-written checks of the API surface; the bulk of the verification is
/// the differential test against the host x87 (FPUDiffTests).
final class X87BasicTests: XCTestCase {
    let cw = X87Control.initial

    func f(_ se: UInt16, _ sig: UInt64) -> X87Float { X87Float(signExp: se, significand: sig) }

    func testOnePlusOne() {
        let r = X87.add(.one, .one, cw: cw)
        XCTAssertEqual(r.value, f(0x4000, 1 << 63))
        XCTAssertEqual(r.flags, [])
    }

    func testClassification() {
        XCTAssertEqual(f(0, 0).kind, .zero)
        XCTAssertEqual(f(0, 1).kind, .denormal)
        XCTAssertEqual(f(0, 1 << 63).kind, .pseudoDenormal)
        XCTAssertEqual(f(0x3FFF, 0).kind, .unsupported)            // unnormal
        XCTAssertEqual(f(0x7FFF, 0).kind, .unsupported)            // pseudo-infinity
        XCTAssertEqual(f(0x7FFF, 1).kind, .unsupported)            // pseudo-NaN
        XCTAssertEqual(f(0x7FFF, 1 << 63).kind, .infinity)
        XCTAssertEqual(f(0x7FFF, 0xC000_0000_0000_0000).kind, .quietNaN)
        XCTAssertEqual(f(0x7FFF, 0x8000_0000_0000_0001).kind, .signalingNaN)
        XCTAssertEqual(X87.examine(f(0x8000, 1)), [.c1, .c2, .c3])
        XCTAssertEqual(X87.examineEmpty(sign: false), [.c3, .c0])
    }

    func testInvalidGivesIndefinite() {
        let r = X87.sub(.infinity, .infinity, cw: cw)
        XCTAssertEqual(r.value, .indefinite)
        XCTAssertEqual(r.flags, .invalid)
    }

    func testPrecisionControlKeepsExtendedExponentRange() {
        // 2^-16000 * 1.5 at 24-bit precision is still a normal number.
        let tiny = f(0x3FFF - 16000, 0xC000_0000_0000_0000)
        let r = X87.mul(tiny, .one, cw: 0x007F)   // PC = 24 bits
        XCTAssertEqual(r.value, tiny)
        XCTAssertEqual(r.flags, [])
    }

    func testDivideByZeroAndCompare() {
        let r = X87.div(.one, .zero, cw: cw)
        XCTAssertEqual(r.value, .infinity)
        XCTAssertEqual(r.flags, .zeroDivide)
        XCTAssertEqual(X87.compare(.one, .zero, unordered: false).relation, .greater)
        XCTAssertEqual(X87.compare(.indefinite, .zero, unordered: true).flags, [.c0, .c2, .c3])
        XCTAssertEqual(X87.compare(.indefinite, .zero, unordered: false).flags, [.invalid, .c0, .c2, .c3])
        XCTAssertEqual(X87Relation.unordered.eflags, 0x45)
    }

    func testIntegerAndBCDConversions() {
        XCTAssertEqual(X87.fromInt64(Int64.min), f(0xC03E, 1 << 63))
        let big = X87.fromInt64(123_456_789_012_345_678)
        let bcd = X87.toBCD(big.negated, cw: cw)
        XCTAssertEqual(bcd.low, 0x3456_7890_1234_5678)
        XCTAssertEqual(bcd.high, 0x8012)
        XCTAssertEqual(X87.fromBCD(low: bcd.low, high: bcd.high), big.negated)
        XCTAssertEqual(X87.toInteger(X87.fromInt64(40000), width: 16, cw: cw), X87StoreResult(bits: 0x8000, flags: .invalid))
        // 2.5 rounds to 2 under round-to-nearest-even
        XCTAssertEqual(X87.toInteger(f(0x4000, 0xA000_0000_0000_0000), width: 32, cw: cw).bits, 2)
    }

    func testFloatStoreRoundsAndFlags() {
        // 1 + 2^-30 stored to float32: inexact, rounded down
        let v = f(0x3FFF, (1 << 63) | (1 << 33))
        let r = X87.toFloat32(v, cw: cw)
        XCTAssertEqual(r.bits, 0x3F80_0000)
        XCTAssertEqual(r.flags, .precision)
        XCTAssertEqual(X87.fromFloat64(0x7FF0_0000_0000_0001).flags, .invalid)   // SNaN load
    }

    func testTranscendentalBasics() {
        // FPTAN of 0 pushes 1.0; FSIN out of range sets C2 and leaves the operand.
        let t = X87.ptan(.zero, cw: cw)
        XCTAssertEqual(t.tan, .zero)
        XCTAssertEqual(t.push, .one)
        let big = f(0x3FFF + 63, 1 << 63)
        XCTAssertEqual(X87.sin(big, cw: cw), X87Result(big, .c2))
        // FPATAN(1, 1) = pi/4 rounded to nearest: 0x3FFE C90FDAA22168C235
        XCTAssertEqual(X87.patan(.one, .one, cw: cw).value, f(0x3FFE, 0xC90F_DAA2_2168_C235))
        // FYL2X(1, 8) = 3, exact
        XCTAssertEqual(X87.yl2x(.one, X87.fromInt64(8), cw: cw), X87Result(X87.fromInt64(3)))
    }
}
