// Transcendental instructions: FSIN, FCOS, FSINCOS, FPTAN, FPATAN, F2XM1,
// FYL2X, FYL2XP1. Computed with X87BigFloat (128-bit significands) and
// rounded once to 64 bits with the control word's rounding mode.
// Trigonometric argument reduction uses the x87's 66-bit pi, exactly.

typealias BF = X87BigFloat

extension X87 {
    // MARK: - Series kernels (all on X87BigFloat)

    /// sin(r) for |r| <= ~pi/4.
    static func sinKernel(_ r: BF) -> BF {
        if r.isZero { return r }
        let r2 = r * r
        var term = r
        var sum = r
        var n: UInt64 = 1
        while true {
            term = (term * r2).dividedBy((2 * n) * (2 * n + 1)).negated
            sum = sum + term
            if term.isZero || term.exp < sum.exp - 140 { break }
            n += 1
        }
        return sum
    }

    /// cos(r) for |r| <= ~pi/4.
    static func cosKernel(_ r: BF) -> BF {
        if r.isZero { return .one }
        let r2 = r * r
        var term = BF.one
        var sum = BF.one
        var n: UInt64 = 1
        while true {
            term = (term * r2).dividedBy((2 * n - 1) * (2 * n)).negated
            sum = sum + term
            if term.isZero || term.exp < sum.exp - 140 { break }
            n += 1
        }
        return sum
    }

    /// atan(t) for t >= 0.
    static func atanKernel(_ t0: BF) -> BF {
        if t0.isZero { return t0 }
        var t = t0
        var k = 0
        while t.exp >= -4 {
            t = t / (BF.one + (BF.one + t * t).squareRoot())
            k += 1
        }
        let t2 = t * t
        var pw = t
        var sum = t
        var n: UInt64 = 1
        while true {
            pw = (pw * t2).negated
            let term = pw.dividedBy(2 * n + 1)
            sum = sum + term
            if term.isZero || term.exp < sum.exp - 140 { break }
            n += 1
        }
        return sum.scaled(k)
    }

    /// 2 * atanh(z) = ln((1+z)/(1-z)), |z| small.
    static func atanh2Kernel(_ z: BF) -> BF {
        if z.isZero { return z }
        let z2 = z * z
        var pw = z
        var sum = z
        var n: UInt64 = 1
        while true {
            pw = pw * z2
            let term = pw.dividedBy(2 * n + 1)
            sum = sum + term
            if term.isZero || term.exp < sum.exp - 140 { break }
            n += 1
        }
        return sum.scaled(1)
    }

    /// log2(x) for x > 0.
    static func log2Kernel(_ x: BF) -> BF {
        var m = x
        var e = x.exp
        m.exp = 0
        // m in [1, 2); move to [sqrt(2)/2, sqrt(2))
        if m.hi > 0xB504_F333_F9DE_6484 || (m.hi == 0xB504_F333_F9DE_6484 && m.lo > 0x597D_89B3_754A_BE9F) {
            m.exp = -1
            e += 1
        }
        let z = (m - .one) / (m + .one)
        let lnm = atanh2Kernel(z)
        let ip = BF(integer: UInt64(e < 0 ? -e : e), neg: e < 0)
        return ip + lnm * BF.invLn2
    }

    /// e^t - 1.
    static func expm1Kernel(_ t: BF) -> BF {
        if t.isZero { return t }
        var term = t
        var sum = t
        var n: UInt64 = 2
        while true {
            term = (term * t).dividedBy(n)
            sum = sum + term
            if term.isZero || term.exp < sum.exp - 140 { break }
            n += 1
        }
        return sum
    }

    // MARK: - Trigonometric reduction

    /// pi66 / 2 scaled by 2^66: 0xC90FDAA22168C234C / 2.
    static let halfPi66Hi: UInt64 = 0x6        // bits 64..66
    static let halfPi66Lo: UInt64 = 0x487E_D511_0B46_11A6

    /// Reduces |a| (finite, nonzero, exponent < 63) to r in about
    /// [-pi/4, pi/4] with |a| = q * pi66/2 + r. Returns r and q mod 4.
    static func reduceTrig(_ a: X87Float) -> (r: BF, q: Int) {
        let u = unpack(a)
        let E = u.exp - bias
        if E < -1 { return (BF(a.absoluteValue), 0) }
        // X = sig << (E + 3), E + 3 in 2...65: a 3-word integer
        let s = E + 3
        var x2: UInt64, x1: UInt64, x0: UInt64
        if s >= 64 {
            x2 = s == 64 ? 0 : u.sig >> UInt64(128 - s)
            x1 = s == 64 ? u.sig : u.sig << UInt64(s - 64)
            x0 = 0
        } else {
            x2 = 0
            x1 = u.sig >> UInt64(64 - s)
            x0 = u.sig << UInt64(s)
        }
        // bit-serial division by P (67 bits): remainder fits in 2 words
        var rh: UInt64 = 0, rl: UInt64 = 0
        var q: UInt64 = 0
        for _ in 0..<192 {
            let top = x2 >> 63
            x2 = (x2 << 1) | (x1 >> 63)
            x1 = (x1 << 1) | (x0 >> 63)
            x0 <<= 1
            rh = (rh << 1) | (rl >> 63)
            rl = (rl << 1) | top
            q <<= 1
            if rh > halfPi66Hi || (rh == halfPi66Hi && rl >= halfPi66Lo) {
                let (l, b) = rl.subtractingReportingOverflow(halfPi66Lo)
                rh = rh &- halfPi66Hi &- (b ? 1 : 0)
                rl = l
                q |= 1
            }
        }
        // if 2r > P: r -= P, q += 1
        let twoRh = (rh << 1) | (rl >> 63), twoRl = rl << 1
        var neg = false
        if twoRh > halfPi66Hi || (twoRh == halfPi66Hi && twoRl > halfPi66Lo) {
            let (l, b) = halfPi66Lo.subtractingReportingOverflow(rl)
            rh = halfPi66Hi &- rh &- (b ? 1 : 0)
            rl = l
            neg = true
            q &+= 1
        }
        var r = BF(neg: neg, exp: 127 - 66, hi: rh, lo: rl)
        r.normalize()
        return (r, Int(q & 3))
    }

    // MARK: - Shared special-case handling

    /// For FSIN/FCOS/FSINCOS/FPTAN: returns a result for special operands.
    enum TrigSpecial { case value(X87Result), outOfRange, compute(X87Flags) }

    static func trigSpecial(_ a: X87Float) -> TrigSpecial {
        switch a.kind {
        case .unsupported, .infinity: return .value(X87Result(.indefinite, .invalid))
        case .signalingNaN: return .value(X87Result(a.quieted, .invalid))
        case .quietNaN: return .value(X87Result(a))
        case .zero: return .value(X87Result(a))
        case .denormal, .pseudoDenormal: return .compute(.denormal)
        case .normal:
            if a.biasedExponent - bias >= 63 { return .outOfRange }
            return .compute([])
        }
    }

    /// Unmasked denormal-operand exception: nothing is computed.
    static func trigSpecial(_ a: X87Float, cw: UInt16) -> TrigSpecial {
        let s = trigSpecial(a)
        if case .compute(let f) = s, f.contains(.denormal), cw & 2 == 0 {
            return .value(X87Result(a, .denormal))
        }
        return s
    }

    // MARK: - FSIN / FCOS / FSINCOS / FPTAN

    public static func sin(_ a: X87Float, cw: UInt16) -> X87Result {
        switch trigSpecial(a, cw: cw) {
        case .value(let r): return r
        case .outOfRange: return X87Result(a, .c2)
        case .compute(let f):
            let (r, q) = reduceTrig(a)
            var v = (q & 1 == 0) ? sinKernel(r) : cosKernel(r)
            if q >= 2 { v = v.negated }
            if a.sign { v = v.negated }
            var res = v.rounded(cw: cw)
            res.flags.formUnion(f)
            return res
        }
    }

    public static func cos(_ a: X87Float, cw: UInt16) -> X87Result {
        switch trigSpecial(a, cw: cw) {
        case .value(let r):
            if a.isZero { return X87Result(.one) }
            return r
        case .outOfRange: return X87Result(a, .c2)
        case .compute(let f):
            let (r, q) = reduceTrig(a)
            var v = (q & 1 == 0) ? cosKernel(r) : sinKernel(r)
            if q == 1 || q == 2 { v = v.negated }
            var res = v.rounded(cw: cw)
            res.flags.formUnion(f)
            return res
        }
    }

    /// FSINCOS: the caller replaces ST(0) with `sin` and pushes `cos`
    /// unless C2 is set (operand out of range: ST(0) unchanged, no push).
    /// Masked invalid: both are the indefinite / the quieted NaN.
    public static func sincos(_ a: X87Float, cw: UInt16) -> (sin: X87Float, cos: X87Float, flags: X87Flags) {
        switch trigSpecial(a, cw: cw) {
        case .value(let r):
            if a.isZero { return (a, .one, []) }
            return (r.value, r.value, r.flags)
        case .outOfRange: return (a, a, .c2)
        case .compute(let f):
            let (r, q) = reduceTrig(a)
            let sk = sinKernel(r), ck = cosKernel(r)
            var s = (q & 1 == 0) ? sk : ck
            var c = (q & 1 == 0) ? ck : sk
            if q >= 2 { s = s.negated }
            if q == 1 || q == 2 { c = c.negated }
            if a.sign { s = s.negated }
            let rs = s.rounded(cw: cw), rcos = c.rounded(cw: cw)
            var flags = f.union(rs.flags).union(rcos.flags)
            flags.remove(.c1)
            if rs.flags.contains(.c1) { flags.insert(.c1) }
            return (rs.value, rcos.value, flags)
        }
    }

    /// FPTAN: the caller replaces ST(0) with `tan` and then pushes `push`
    /// (1.0, or the same NaN when the result is a NaN) unless C2 is set
    /// (out of range: ST(0) unchanged, no push).
    public static func ptan(_ a: X87Float, cw: UInt16) -> (tan: X87Float, push: X87Float, flags: X87Flags) {
        let r = ptanValue(a, cw: cw)
        return (r.tan, r.tan.isNaN ? r.tan : .one, r.flags)
    }

    static func ptanValue(_ a: X87Float, cw: UInt16) -> (tan: X87Float, flags: X87Flags) {
        switch trigSpecial(a, cw: cw) {
        case .value(let r): return (r.value, r.flags)
        case .outOfRange: return (a, .c2)
        case .compute(let f):
            let (r, q) = reduceTrig(a)
            let sk = sinKernel(r), ck = cosKernel(r)
            var v = (q & 1 == 0) ? sk / ck : (ck / sk).negated
            if a.sign { v = v.negated }
            var res = v.rounded(cw: cw)
            res.flags.formUnion(f)
            return (res.value, res.flags)
        }
    }

    // MARK: - FPATAN

    /// FPATAN: atan(y / x) with the quadrant from both signs; y = ST(1),
    /// x = ST(0). The caller stores into ST(1) and pops.
    public static func patan(_ y: X87Float, _ x: X87Float, cw: UInt16) -> X87Result {
        if let r = binarySpecial(x, y) { return r }
        let flags = denormalFlag(x, y)
        if cw & 2 == 0 && flags.contains(.denormal) { return X87Result(x, .denormal) }
        func angle(_ v: BF) -> X87Result {
            var r = v.rounded(cw: cw)
            r.flags.formUnion(flags)
            return r
        }
        let sy = y.sign
        let pi = sy ? BF.pi.negated : BF.pi
        let half = sy ? BF.halfPi.negated : BF.halfPi
        if y.isZero {
            if x.sign { return angle(pi) }
            return X87Result(y, flags)
        }
        if y.isInfinity {
            if x.isInfinity {
                let q = sy ? BF.quarterPi.negated : BF.quarterPi
                return angle(x.sign ? q * BF(integer: 3) : q)
            }
            return angle(half)
        }
        if x.isZero { return angle(half) }
        if x.isInfinity {
            if x.sign { return angle(pi) }
            return X87Result(X87Float(sign: sy, exp: 0, significand: 0), flags)
        }
        let ay = BF(y.absoluteValue), ax = BF(x.absoluteValue)
        let yBigger = ay.exp > ax.exp || (ay.exp == ax.exp && (ay.hi > ax.hi))
        var a: BF
        if !yBigger {
            a = atanKernel(ay / ax)
        } else {
            a = BF.halfPi - atanKernel(ax / ay)
        }
        if x.sign { a = BF.pi - a }
        if sy { a = a.negated }
        return angle(a)
    }

    // MARK: - F2XM1

    public static func f2xm1(_ a: X87Float, cw: UInt16) -> X87Result {
        switch a.kind {
        case .unsupported: return X87Result(.indefinite, .invalid)
        case .signalingNaN: return X87Result(a.quieted, .invalid)
        case .quietNaN, .zero: return X87Result(a)
        case .infinity: return X87Result(a.sign ? X87Float(signExp: 0xBFFF, significand: 1 << 63) : a)
        default: break
        }
        let flags: X87Flags = a.isDenormalOperand ? .denormal : []
        if cw & 2 == 0 && flags.contains(.denormal) { return X87Result(a, .denormal) }
        if a.biasedExponent >= bias {
            // Outside the architected range (-1, 1): the hardware leaves the
            // operand unchanged and reports PE.
            return X87Result(a, .precision)
        }
        var r = expm1Kernel(BF(a) * BF.ln2).rounded(cw: cw)
        r.flags.formUnion(flags)
        return r
    }

    // MARK: - FYL2X / FYL2XP1

    /// FYL2X: y * log2(x); y = ST(1), x = ST(0). The caller stores into
    /// ST(1) and pops.
    public static func yl2x(_ y: X87Float, _ x: X87Float, cw: UInt16) -> X87Result {
        if let r = binarySpecial(x, y) { return r }
        var flags = denormalFlag(x, y)
        let inv = X87Result(.indefinite, .invalid)
        if x.sign && !x.isZero { return inv }
        if x.isZero {
            if y.isZero { return inv }
            if !y.isInfinity { flags = .zeroDivide }
            return X87Result(X87Float(sign: !y.sign, exp: 0x7FFF, significand: 1 << 63), flags)
        }
        if cw & 2 == 0 && flags.contains(.denormal) { return X87Result(x, .denormal) }
        if x.isInfinity {
            if y.isZero { return inv }
            return X87Result(X87Float(sign: y.sign, exp: 0x7FFF, significand: 1 << 63), flags)
        }
        let isOne = x.biasedExponent == bias && x.significand == 1 << 63
        let xGreaterOne = x.biasedExponent >= bias && !isOne
        if y.isInfinity {
            if isOne { return inv }
            return X87Result(X87Float(sign: y.sign != !xGreaterOne, exp: 0x7FFF, significand: 1 << 63), flags)
        }
        if y.isZero || isOne {
            let s = y.sign != (!xGreaterOne && !isOne)
            return X87Result(X87Float(sign: s, exp: 0, significand: 0), flags)
        }
        let ux = unpack(x)
        if ux.sig == 1 << 63 {
            // exact power of two: y * k rounded once
            let k = ux.exp - bias
            var r = mul(y, fromInt64(Int64(k)), cw: cw | 0x0300)
            r.flags.formUnion(flags)
            // the hardware reports PE for x < 1 even though the product is exact
            if k < 0 { r.flags.insert(.precision) }
            return r
        }
        var r = (BF(y) * log2Kernel(BF(x))).rounded(cw: cw)
        r.flags.formUnion(flags)
        return r
    }

    /// FYL2XP1: y * log2(x + 1); y = ST(1), x = ST(0). Defined by Intel
    /// for |x| < 1 - sqrt(2)/2; computed here for any x > -1.
    public static func yl2xp1(_ y: X87Float, _ x: X87Float, cw: UInt16) -> X87Result {
        if let r = binarySpecial(x, y) { return r }
        let flags = denormalFlag(x, y)
        if cw & 2 == 0 && flags.contains(.denormal) { return X87Result(x, .denormal) }
        let inv = X87Result(.indefinite, .invalid)
        let s = x.sign != y.sign
        if x.isZero {
            if y.isInfinity { return inv }
            return X87Result(X87Float(sign: s, exp: 0, significand: 0), flags)
        }
        if x.isInfinity {
            if x.sign || y.isZero { return inv }
            return X87Result(X87Float(sign: y.sign, exp: 0x7FFF, significand: 1 << 63), flags)
        }
        if y.isZero { return X87Result(X87Float(sign: s, exp: 0, significand: 0), flags) }
        if y.isInfinity { return X87Result(X87Float(sign: s, exp: 0x7FFF, significand: 1 << 63), flags) }
        let bx = BF(x)
        let onePlus = BF.one + bx
        if onePlus.neg || onePlus.isZero {
            // x <= -1: the hardware stores x unchanged and reports PE.
            return X87Result(x, flags.union(.precision))
        }
        if y.isZero { return X87Result(X87Float(sign: s, exp: 0, significand: 0), flags) }
        let l: BF
        if bx.exp < -1 {
            let z = bx / (BF.one.scaled(1) + bx)
            l = atanh2Kernel(z) * BF.invLn2
        } else {
            l = log2Kernel(onePlus)
        }
        var r = (BF(y) * l).rounded(cw: cw)
        r.flags.formUnion(flags)
        return r
    }
}
