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

final class X87SqrtCrossCheckTests: XCTestCase {
    /// Reference square root via the 192-bit digit-by-digit root.
    func referenceSqrt(_ a: X87Float, cw: UInt16) -> X87Result {
        let u = X87.unpack(a)
        let E = u.exp - X87.bias
        let odd = E & 1 != 0
        let n2 = odd ? u.sig : u.sig >> 1
        let n1 = odd ? 0 : u.sig << 63
        let (root, rem) = X87.isqrt192(n2, n1, 0)
        let hi = (root.hi << 32) | (root.lo >> 32)
        let lo = (root.lo << 32) | (rem ? 1 : 0)
        let Ep = odd ? (E - 1) / 2 : E / 2
        return X87.roundPack(false, Ep + X87.bias, hi, lo, bits: X87.precisionBits(cw), cw: cw)
    }

    func testSqrtMatchesDigitByDigitReference() {
        var s: UInt64 = 0x9E37_79B9_7F4A_7C15
        for i in 0..<50_000 {
            s ^= s << 13; s ^= s >> 7; s ^= s << 17
            var sig = s | (1 << 63)
            switch i % 5 {
            case 0: sig = ~0
            case 1: sig = ~0 << UInt64(s >> 58)
            case 2: sig = (1 << 63) | (s >> UInt64(1 + (s & 63)))
            default: break
            }
            let exp = 0x3FFF - 40 + Int(s >> 57)
            let cw: UInt16 = 0x037F & ~0x0F00 | [0x0000, 0x0200, 0x0300][i % 3] | UInt16((i / 3) % 4) << 10
            let a = X87Float(signExp: UInt16(exp), significand: sig)
            XCTAssertEqual(X87.sqrt(a, cw: cw), referenceSqrt(a, cw: cw), "\(a) cw=\(String(cw, radix: 16))")
        }
    }
}

final class X87IntegrationHelperTests: XCTestCase {
    func testMergeAndSuppression() {
        var sw: UInt16 = 0x0200   // C1 set from before
        let f: X87Flags = [.precision]
        f.merge(into: &sw, cw: 0x037F)
        XCTAssertEqual(sw, 0x0020)
        let z: X87Flags = [.zeroDivide]
        z.merge(into: &sw, cw: 0x037B)   // ZE unmasked
        XCTAssertEqual(sw, 0x80A4)
        XCTAssertTrue(z.suppressesRegisterWrite(cw: 0x037B))
        XCTAssertFalse(X87Flags.overflow.suppressesRegisterWrite(cw: 0x0377))
        XCTAssertTrue(X87Flags.overflow.suppressesStore(cw: 0x0377))
        XCTAssertEqual(X87Float.indefinite.tag, 2)
        XCTAssertEqual(X87Float.zero.tag, 1)
        XCTAssertEqual(X87Float.one.tag, 0)
    }
}

/// Random bit patterns through every entry point: must never trap, and
/// results must be deterministic.
final class X87FuzzTests: XCTestCase {
    func testRandomEncodingsNeverTrap() {
        var s: UInt64 = 0xDEAD_BEEF_CAFE_F00D
        func next() -> UInt64 { s ^= s << 13; s ^= s >> 7; s ^= s << 17; return s }
        func value() -> X87Float {
            let r = next()
            var se = UInt16(truncatingIfNeeded: r)
            switch r >> 60 {
            case 0: se &= 0x8000                       // zero exponent
            case 1: se |= 0x7FFF                       // NaN/inf exponent
            case 2, 3: se = (se & 0x8000) | (0x3FFF &+ (se & 0x7F) &- 0x40)
            default: break
            }
            var sig = next() >> (r >> 58 & 1 == 0 ? 0 : (next() & 63))
            if r >> 57 & 7 != 0 && se & 0x7FFF != 0 { sig |= 1 << 63 }   // mostly valid encodings
            return X87Float(signExp: se, significand: sig)
        }
        var acc: UInt64 = 0
        for _ in 0..<20000 {
            let a = value(), b = value()
            let cw = UInt16(truncatingIfNeeded: next()) & 0x0F3F | 0x0040
            var rs: [X87Float] = []
            rs.append(X87.add(a, b, cw: cw).value)
            rs.append(X87.sub(a, b, cw: cw).value)
            rs.append(X87.mul(a, b, cw: cw).value)
            rs.append(X87.div(a, b, cw: cw).value)
            rs.append(X87.sqrt(a, cw: cw).value)
            rs.append(X87.roundToInteger(a, cw: cw).value)
            rs.append(X87.partialRemainder(a, b, ieee: false, cw: cw).value)
            rs.append(X87.partialRemainder(a, b, ieee: true, cw: cw).value)
            rs.append(X87.scale(a, b, cw: cw).value)
            rs.append(X87.extract(a, cw: cw).significand)
            rs.append(X87.sin(a, cw: cw).value)
            rs.append(X87.cos(a, cw: cw).value)
            rs.append(X87.sincos(a, cw: cw).cos)
            rs.append(X87.ptan(a, cw: cw).tan)
            rs.append(X87.patan(a, b, cw: cw).value)
            rs.append(X87.f2xm1(a, cw: cw).value)
            rs.append(X87.yl2x(a, b, cw: cw).value)
            rs.append(X87.yl2xp1(a, b, cw: cw).value)
            rs.append(X87.arithmetic(.divr, a, .float32(UInt32(truncatingIfNeeded: next())), cw: cw).value)
            rs.append(X87.arithmetic(.subr, a, .float64(next()), cw: cw).value)
            rs.append(X87Float(signExp: 0, significand: X87.toFloat32(a, cw: cw).bits))
            rs.append(X87Float(signExp: 0, significand: X87.toFloat64(a, cw: cw).bits))
            rs.append(X87Float(signExp: 0, significand: X87.toInteger(a, width: 16, cw: cw).bits))
            rs.append(X87Float(signExp: 0, significand: X87.toInteger(a, width: 64, cw: cw).bits))
            let bcd = X87.toBCD(a, cw: cw)
            rs.append(X87.fromBCD(low: next(), high: UInt16(truncatingIfNeeded: next())))
            rs.append(X87Float(signExp: bcd.high, significand: bcd.low))
            rs.append(X87.fromFloat64(next()).value)
            _ = X87.compare(a, b, unordered: true)
            _ = X87.examine(a)
            for r in rs { acc = acc &* 31 &+ r.significand &+ UInt64(r.signExp) }
        }
        XCTAssertNotEqual(acc, 0)
    }
}
