// A small 128-bit-significand software float used internally for the
// transcendental functions. Values are sign * (hi:lo) * 2^(exp - 127) with
// hi's top bit set (or hi == lo == 0 for zero). Operations truncate; the
// ~125 good bits are far more than the 64 needed for the final rounding.

struct X87BigFloat {
    var neg: Bool
    var exp: Int
    var hi: UInt64
    var lo: UInt64

    static let zero = X87BigFloat(neg: false, exp: 0, hi: 0, lo: 0)
    static let one = X87BigFloat(neg: false, exp: 0, hi: 1 << 63, lo: 0)
    /// pi to 128 bits.
    static let pi = X87BigFloat(neg: false, exp: 1, hi: 0xC90F_DAA2_2168_C234, lo: 0xC4C6_628B_80DC_1CD1)
    static let halfPi = X87BigFloat(neg: false, exp: 0, hi: 0xC90F_DAA2_2168_C234, lo: 0xC4C6_628B_80DC_1CD1)
    static let quarterPi = X87BigFloat(neg: false, exp: -1, hi: 0xC90F_DAA2_2168_C234, lo: 0xC4C6_628B_80DC_1CD1)
    static let ln2 = X87BigFloat(neg: false, exp: -1, hi: 0xB172_17F7_D1CF_79AB, lo: 0xC9E3_B398_03F2_F6AF)
    static let invLn2 = X87BigFloat(neg: false, exp: 0, hi: 0xB8AA_3B29_5C17_F0BB, lo: 0xBE87_FED0_691D_3E88)

    var isZero: Bool { hi == 0 && lo == 0 }

    init(neg: Bool, exp: Int, hi: UInt64, lo: UInt64) {
        self.neg = neg; self.exp = exp; self.hi = hi; self.lo = lo
    }

    /// From a finite 80-bit value.
    init(_ v: X87Float) {
        let u = X87.unpack(v)
        self.init(neg: u.sign, exp: u.exp - X87.bias, hi: u.sig, lo: 0)
        if u.sig == 0 { self = X87BigFloat(neg: v.sign, exp: 0, hi: 0, lo: 0) }
    }

    init(integer: UInt64, neg: Bool = false) {
        self.init(neg: neg, exp: 63, hi: integer, lo: 0)
        normalize()
    }

    mutating func normalize() {
        if hi == 0 {
            if lo == 0 { exp = 0; return }
            hi = lo; lo = 0; exp -= 64
        }
        let lz = hi.leadingZeroBitCount
        if lz > 0 {
            hi = (hi << UInt64(lz)) | (lo >> UInt64(64 - lz))
            lo <<= UInt64(lz)
            exp -= lz
        }
    }

    var negated: X87BigFloat { var r = self; r.neg.toggle(); return r }
    var magnitude: X87BigFloat { var r = self; r.neg = false; return r }

    func scaled(_ n: Int) -> X87BigFloat { var r = self; if !isZero { r.exp += n }; return r }

    static func + (a: X87BigFloat, b: X87BigFloat) -> X87BigFloat {
        if a.isZero { return b }
        if b.isZero { return a }
        var x = a, y = b
        if x.exp < y.exp || (x.exp == y.exp && (x.hi < y.hi || (x.hi == y.hi && x.lo < y.lo))) { swap(&x, &y) }
        let (yh, yl) = X87.shiftRightJam(y.hi, y.lo, x.exp - y.exp)
        var r = X87BigFloat(neg: x.neg, exp: x.exp, hi: 0, lo: 0)
        if x.neg == y.neg {
            let (l, c) = x.lo.addingReportingOverflow(yl)
            let (h1, c1) = x.hi.addingReportingOverflow(yh)
            let (h, c2) = h1.addingReportingOverflow(c ? 1 : 0)
            r.hi = h; r.lo = l
            if c1 || c2 {
                r.lo = (r.lo >> 1) | (r.hi << 63)
                r.hi = (r.hi >> 1) | (1 << 63)
                r.exp += 1
            }
        } else {
            let (l, b) = x.lo.subtractingReportingOverflow(yl)
            r.hi = x.hi &- yh &- (b ? 1 : 0)
            r.lo = l
            if r.hi == 0 && r.lo == 0 { return .zero }
            r.normalize()
        }
        return r
    }

    static func - (a: X87BigFloat, b: X87BigFloat) -> X87BigFloat { a + b.negated }

    static func * (a: X87BigFloat, b: X87BigFloat) -> X87BigFloat {
        if a.isZero || b.isZero { return X87BigFloat(neg: a.neg != b.neg, exp: 0, hi: 0, lo: 0) }
        let hh = a.hi.multipliedFullWidth(by: b.hi)
        let hl = a.hi.multipliedFullWidth(by: b.lo)
        let lh = a.lo.multipliedFullWidth(by: b.hi)
        let ll = a.lo.multipliedFullWidth(by: b.lo)
        // words w3 w2 w1 (w0 dropped except carries)
        var w1 = ll.high
        var c: UInt64 = 0
        var o: Bool
        (w1, o) = w1.addingReportingOverflow(hl.low); c += o ? 1 : 0
        (w1, o) = w1.addingReportingOverflow(lh.low); c += o ? 1 : 0
        var w2 = hh.low
        var c2: UInt64 = 0
        (w2, o) = w2.addingReportingOverflow(hl.high); c2 += o ? 1 : 0
        (w2, o) = w2.addingReportingOverflow(lh.high); c2 += o ? 1 : 0
        (w2, o) = w2.addingReportingOverflow(c); c2 += o ? 1 : 0
        let w3 = hh.high &+ c2
        var r = X87BigFloat(neg: a.neg != b.neg, exp: a.exp + b.exp + 1, hi: w3, lo: w2)
        if w3 >> 63 == 0 {
            r.hi = (w3 << 1) | (w2 >> 63)
            r.lo = (w2 << 1) | (w1 >> 63)
            r.exp -= 1
        }
        return r
    }

    static func / (a: X87BigFloat, b: X87BigFloat) -> X87BigFloat {
        if a.isZero { return a }
        var rh = a.hi, rl = a.lo
        var e = a.exp - b.exp
        var carry = false
        if rh < b.hi || (rh == b.hi && rl < b.lo) {
            carry = rh >> 63 != 0
            rh = (rh << 1) | (rl >> 63)
            rl <<= 1
            e -= 1
        }
        var qh: UInt64 = 0, ql: UInt64 = 0
        for _ in 0..<128 {
            qh = (qh << 1) | (ql >> 63)
            ql <<= 1
            if carry || rh > b.hi || (rh == b.hi && rl >= b.lo) {
                let (l, br) = rl.subtractingReportingOverflow(b.lo)
                rh = rh &- b.hi &- (br ? 1 : 0)
                rl = l
                ql |= 1
            }
            carry = rh >> 63 != 0
            rh = (rh << 1) | (rl >> 63)
            rl <<= 1
        }
        return X87BigFloat(neg: a.neg != b.neg, exp: e, hi: qh, lo: ql)
    }

    /// Division by a small positive integer.
    func dividedBy(_ d: UInt64) -> X87BigFloat {
        if isZero { return self }
        let (q1, r1) = hi.quotientAndRemainder(dividingBy: d)
        let (q2, r2) = d.dividingFullWidth((r1, lo))
        let (q3, _) = d.dividingFullWidth((r2, 0))
        var r = X87BigFloat(neg: neg, exp: exp, hi: q1, lo: q2)
        // normalize pulling bits from q3
        let lz = q1.leadingZeroBitCount
        if lz == 64 {
            r.hi = q2; r.lo = q3; r.exp -= 64
            r.normalize()
        } else if lz > 0 {
            r.hi = (q1 << UInt64(lz)) | (q2 >> UInt64(64 - lz))
            r.lo = (q2 << UInt64(lz)) | (q3 >> UInt64(64 - lz))
            r.exp -= lz
        }
        return r
    }

    func squareRoot() -> X87BigFloat {
        if isZero { return self }
        // initial 96-bit root from the integer square root
        let odd = (exp & 1) != 0
        let n2: UInt64, n1: UInt64, n0: UInt64
        if odd { n2 = hi; n1 = lo; n0 = 0 } else { n2 = hi >> 1; n1 = (lo >> 1) | (hi << 63); n0 = lo << 63 }
        let (root, _) = X87.isqrt192(n2, n1, n0)
        // even: sqrt((hi:lo)*2^64) = sqrt(M) * 2^32, value = sqrt(M*2^(exp-127))
        // root ~ sqrt(M) * 2^32 (or sqrt(M/2) * 2^32 for odd exp)
        var y = X87BigFloat(neg: false, exp: 0, hi: root.hi, lo: root.lo)
        // y as integer (hi:lo) value = root; set exp so that value = root * 2^k
        // root integer: (hi:lo) * 2^(e-127) == root  => e = 127 after normalize adjusts
        y.exp = 127
        y.normalize()
        // value(y) = root; sqrt(self) = root * 2^((exp - 127 - 64)/2) for even exp
        let k = odd ? (exp - 191) / 2 : (exp - 190) / 2
        y = y.scaled(k)
        // one Newton step
        let q = self / y
        return (y + q).scaled(-1)
    }

    /// Round to an 80-bit value with the x87 rounding (64-bit precision),
    /// treating the value as inexact (sticky) unless `exact`.
    func rounded(cw: UInt16, exact: Bool = false) -> X87Result {
        if isZero { return X87Result(X87Float(sign: neg, exp: 0, significand: 0)) }
        return X87.roundPack(neg, exp + X87.bias, hi, lo | (exact ? 0 : 1), bits: 64, cw: cw)
    }
}
