// Basic arithmetic: add, sub, mul, div, sqrt, FPREM/FPREM1, FRNDINT,
// FSCALE, FXTRACT, compares and FXAM.

extension X87 {
    // MARK: - NaN and operand checks

    /// x87 NaN propagation for two operands where at least one is a NaN.
    @inline(__always)
    static func propagateNaN(_ a: X87Float, _ b: X87Float) -> X87Result {
        let aN = a.isNaN, bN = b.isNaN
        var flags: X87Flags = []
        if a.isSignalingNaN || b.isSignalingNaN { flags.insert(.invalid) }
        if aN && bN && a.isSignalingNaN != b.isSignalingNaN {
            return X87Result((a.isSignalingNaN ? b : a), flags)
        }
        if aN && bN {
            let sa = a.significand & 0x3FFF_FFFF_FFFF_FFFF
            let sb = b.significand & 0x3FFF_FFFF_FFFF_FFFF
            let pick: X87Float
            if sa > sb { pick = a } else if sb > sa { pick = b } else { pick = a.signExp < b.signExp ? a : b }
            return X87Result(pick.quieted, flags)
        }
        return X87Result((aN ? a : b).quieted, flags)
    }

    /// Common checks for binary arithmetic: unsupported encodings and NaNs.
    /// Returns nil when both operands are non-NaN supported values.
    @inline(__always)
    static func binarySpecial(_ a: X87Float, _ b: X87Float) -> X87Result? {
        if a.isUnsupported || b.isUnsupported { return X87Result(.indefinite, .invalid) }
        if a.isNaN || b.isNaN { return propagateNaN(a, b) }
        return nil
    }

    @inline(__always)
    static func denormalFlag(_ a: X87Float, _ b: X87Float) -> X87Flags {
        (a.isDenormalOperand || b.isDenormalOperand) ? .denormal : []
    }

    /// A pseudo-denormal rewritten with exponent 1 (same value); other
    /// values unchanged.
    @inline(__always)
    static func canonical(_ a: X87Float) -> X87Float {
        if a.kind == .pseudoDenormal { return X87Float(signExp: a.signExp | 1, significand: a.significand) }
        return a
    }

    // MARK: - Add / subtract

    public static func add(_ a: X87Float, _ b: X87Float, cw: UInt16) -> X87Result {
        addSub(a, b, negateB: false, cw: cw)
    }

    public static func sub(_ a: X87Float, _ b: X87Float, cw: UInt16) -> X87Result {
        addSub(a, b, negateB: true, cw: cw)
    }

    /// Both operands normal (exponent 1...0x7FFE, integer bit set): no
    /// special-case checks needed.
    @inline(__always)
    static func bothNormal(_ a: X87Float, _ b: X87Float) -> Bool {
        let ea = a.signExp & 0x7FFF, eb = b.signExp & 0x7FFF
        return ea &- 1 < 0x7FFE && eb &- 1 < 0x7FFE && (a.significand & b.significand) >> 63 != 0
    }

    static func addSub(_ a: X87Float, _ b0: X87Float, negateB: Bool, cw: UInt16, memDenormal: Bool = false) -> X87Result {
        if !memDenormal && bothNormal(a, b0) {
            let ua = X87Unpacked(sign: a.sign, exp: a.biasedExponent, sig: a.significand)
            let ub = X87Unpacked(sign: b0.sign != negateB, exp: b0.biasedExponent, sig: b0.significand)
            return addCore(ua, ub, cw: cw)
        }
        if let r = binarySpecial(a, b0) { return r }
        let b = negateB ? b0.negated : b0
        var flags = denormalFlag(a, b)
        if memDenormal { flags.insert(.denormal) }
        if cw & 2 == 0 && flags.contains(.denormal) { return X87Result(a, .denormal) }
        let rc = Int((cw >> 10) & 3)
        let aInf = a.isInfinity, bInf = b.isInfinity
        if aInf || bInf {
            if aInf && bInf && a.sign != b.sign {
                flags.insert(.invalid)
                return X87Result(.indefinite, flags)
            }
            return X87Result(aInf ? a : b, flags)
        }
        let aZ = a.isZero, bZ = b.isZero
        if aZ && bZ {
            let s = a.sign == b.sign ? a.sign : (rc == 1)
            return X87Result(s ? .negativeZero : .zero, flags)
        }
        let ua = unpack(a), ub = unpack(b)
        let bits = precisionBits(cw)
        if bZ || aZ {
            let u = aZ ? ub : ua
            var r = roundPack(u.sign, u.exp, u.sig, 0, bits: bits, cw: cw)
            r.flags.formUnion(flags)
            return r
        }
        var r = addCore(ua, ub, cw: cw)
        r.flags.formUnion(flags)
        return r
    }

    @inline(__always)
    static func addCore(_ ua0: X87Unpacked, _ ub0: X87Unpacked, cw: UInt16) -> X87Result {
        var ua = ua0, ub = ub0
        let bits = precisionBits(cw)
        if ua.exp < ub.exp || (ua.exp == ub.exp && ua.sig < ub.sig) { swap(&ua, &ub) }
        let (bh, bl) = shiftRightJam(ub.sig, 0, ua.exp - ub.exp)
        var r: X87Result
        if ua.sign == ub.sign {
            let (l, c1) = UInt64(0).addingReportingOverflow(bl)
            var (h, c2) = ua.sig.addingReportingOverflow(bh)
            _ = c1
            var lo = l
            var e = ua.exp
            if c2 {
                (h, lo) = shiftRightJam(h, lo, 1)
                h |= 1 << 63
                e += 1
                c2 = false
            }
            r = roundPack(ua.sign, e, h, lo, bits: bits, cw: cw)
        } else {
            let (l, borrow) = UInt64(0).subtractingReportingOverflow(bl)
            let h = ua.sig &- bh &- (borrow ? 1 : 0)
            if h == 0 && l == 0 {
                return X87Result((cw >> 10) & 3 == 1 ? .negativeZero : .zero)
            }
            r = roundPack(ua.sign, ua.exp, h, l, bits: bits, cw: cw)
        }
        return r
    }

    // MARK: - Multiply

    public static func mul(_ a: X87Float, _ b: X87Float, cw: UInt16) -> X87Result {
        mul(a, b, cw: cw, memDenormal: false)
    }

    static func mul(_ a: X87Float, _ b: X87Float, cw: UInt16, memDenormal: Bool) -> X87Result {
        if !memDenormal && bothNormal(a, b) {
            let (h, l) = a.significand.multipliedFullWidth(by: b.significand)
            return roundPack(a.sign != b.sign, a.biasedExponent + b.biasedExponent - bias + 1, h, l, bits: precisionBits(cw), cw: cw)
        }
        if let r = binarySpecial(a, b) { return r }
        var flags = denormalFlag(a, b)
        if memDenormal { flags.insert(.denormal) }
        if cw & 2 == 0 && flags.contains(.denormal) { return X87Result(a, .denormal) }
        let sign = a.sign != b.sign
        let aInf = a.isInfinity, bInf = b.isInfinity, aZ = a.isZero, bZ = b.isZero
        if aInf || bInf {
            if aZ || bZ {
                flags.insert(.invalid)
                return X87Result(.indefinite, flags)
            }
            return X87Result(X87Float(sign: sign, exp: 0x7FFF, significand: 1 << 63), flags)
        }
        if aZ || bZ { return X87Result(X87Float(sign: sign, exp: 0, significand: 0), flags) }
        let ua = unpack(a), ub = unpack(b)
        let (h, l) = ua.sig.multipliedFullWidth(by: ub.sig)
        var r = roundPack(sign, ua.exp + ub.exp - bias + 1, h, l, bits: precisionBits(cw), cw: cw)
        r.flags.formUnion(flags)
        return r
    }

    static let bias = 16383

    // MARK: - Divide

    public static func div(_ a: X87Float, _ b: X87Float, cw: UInt16) -> X87Result {
        div(a, b, cw: cw, memDenormal: false)
    }

    static func div(_ a: X87Float, _ b: X87Float, cw: UInt16, memDenormal: Bool) -> X87Result {
        if !memDenormal && bothNormal(a, b) {
            let ua = X87Unpacked(sign: a.sign, exp: a.biasedExponent, sig: a.significand)
            let ub = X87Unpacked(sign: b.sign, exp: b.biasedExponent, sig: b.significand)
            return divCore(a.sign != b.sign, ua, ub, bits: precisionBits(cw), cw: cw)
        }
        if let r = binarySpecial(a, b) { return r }
        var flags = denormalFlag(a, b)
        if memDenormal { flags.insert(.denormal) }
        let sign = a.sign != b.sign
        let aInf = a.isInfinity, bInf = b.isInfinity, aZ = a.isZero, bZ = b.isZero
        if aInf {
            if bInf { flags.insert(.invalid); return X87Result(.indefinite, flags) }
            return X87Result(X87Float(sign: sign, exp: 0x7FFF, significand: 1 << 63), flags)
        }
        if bInf { return X87Result(X87Float(sign: sign, exp: 0, significand: 0), flags) }
        if bZ {
            if aZ { return X87Result(.indefinite, .invalid) }
            flags = .zeroDivide
            return X87Result(X87Float(sign: sign, exp: 0x7FFF, significand: 1 << 63), flags)
        }
        if cw & 2 == 0 && flags.contains(.denormal) { return X87Result(a, .denormal) }
        if aZ { return X87Result(X87Float(sign: sign, exp: 0, significand: 0), flags) }
        let ua = unpack(a), ub = unpack(b)
        var r = divCore(sign, ua, ub, bits: precisionBits(cw), cw: cw)
        r.flags.formUnion(flags)
        return r
    }

    @inline(__always)
    static func divCore(_ sign: Bool, _ ua: X87Unpacked, _ ub: X87Unpacked, bits: Int, cw: UInt16) -> X87Result {
        let q1: UInt64, r1: UInt64, e: Int
        if ua.sig < ub.sig {
            (q1, r1) = ub.sig.dividingFullWidth((ua.sig, 0))
            e = ua.exp - ub.exp + bias - 1
        } else {
            (q1, r1) = ub.sig.dividingFullWidth((ua.sig >> 1, ua.sig << 63))
            e = ua.exp - ub.exp + bias
        }
        var q2: UInt64 = 0
        var r2: UInt64 = 0
        if r1 != 0 {
            // r1 < divisor; divide (r1:0) by divisor. r1 may exceed 2^63 but
            // stays below the divisor, so the quotient fits.
            (q2, r2) = ub.sig.dividingFullWidth((r1, 0))
        }
        return roundPack(sign, e, q1, q2 | (r2 != 0 ? 1 : 0), bits: bits, cw: cw)
    }

    // MARK: - Square root

    public static func sqrt(_ a: X87Float, cw: UInt16) -> X87Result {
        switch a.kind {
        case .unsupported: return X87Result(.indefinite, .invalid)
        case .signalingNaN: return X87Result(a.quieted, .invalid)
        case .quietNaN: return X87Result(a)
        case .zero: return X87Result(a)
        case .infinity:
            return a.sign ? X87Result(.indefinite, .invalid) : X87Result(a)
        default: break
        }
        if a.sign { return X87Result(.indefinite, .invalid) }
        let flags: X87Flags = a.isDenormalOperand ? .denormal : []
        if cw & 2 == 0 && flags.contains(.denormal) { return X87Result(a, .denormal) }
        let u = unpack(a)
        let E = u.exp - bias
        let odd = E & 1 != 0
        // M = sig * 2^64 (E odd) or sig * 2^63 (E even): a 128-bit integer
        // whose 64-bit square root has its top bit set.
        let mh = odd ? u.sig : u.sig >> 1
        let ml = odd ? 0 : u.sig << 63
        let (q, rh, rl) = isqrt128(mh, ml)
        // fraction of sqrt(M) - q: > 1/2 iff R > q (never exactly 1/2)
        let lo: UInt64
        if rh != 0 || rl > q { lo = (1 << 63) | 1 } else { lo = (rl != 0) ? 1 : 0 }
        let Ep = odd ? (E - 1) / 2 : E / 2
        var r = roundPack(false, Ep + bias, q, lo, bits: precisionBits(cw), cw: cw)
        r.flags.formUnion(flags)
        return r
    }

    /// floor(sqrt(hi:lo)) for hi >= 2^62, and the remainder (hi:lo) - q^2
    /// as (remHi, remLo).
    static func isqrt128(_ hi: UInt64, _ lo: UInt64) -> (q: UInt64, remHi: UInt64, remLo: UInt64) {
        // 32-bit root of the top word, bit by bit
        var rem = hi
        var root: UInt64 = 0
        var bit: UInt64 = 1 << 62
        while bit != 0 {
            if rem >= root + bit {
                rem -= root + bit
                root = (root >> 1) + bit
            } else {
                root >>= 1
            }
            bit >>= 2
        }
        // Newton from above: x0 = (root + 1) << 32 >= sqrt(hi:lo)
        var x: UInt64 = root >= 0xFFFF_FFFF ? ~0 : (root + 1) << 32
        while true {
            // x <= hi only when x is already floor(sqrt) (hi near 2^64)
            if hi >= x { break }
            let (d, _) = x.dividingFullWidth((hi, lo))
            let (sum, carry) = x.addingReportingOverflow(d)
            let next = (sum >> 1) | (carry ? 1 << 63 : 0)
            if next >= x { break }
            x = next
        }
        @inline(__always) func above(_ v: UInt64) -> Bool {   // v^2 > hi:lo
            let p = v.multipliedFullWidth(by: v)
            return p.high > hi || (p.high == hi && p.low > lo)
        }
        while above(x) { x -= 1 }
        while x != ~0 && !above(x + 1) { x += 1 }
        let sq = x.multipliedFullWidth(by: x)
        let (rl, b) = lo.subtractingReportingOverflow(sq.low)
        let rh = hi &- sq.high &- (b ? 1 : 0)
        return (x, rh, rl)
    }

    /// Integer square root of the 192-bit n2:n1:n0. Returns the root (up to
    /// 96 bits) as (hi, lo) and whether the remainder is non-zero.
    static func isqrt192(_ n2: UInt64, _ n1: UInt64, _ n0: UInt64) -> (root: (hi: UInt64, lo: UInt64), rem: Bool) {
        var words = (n2, n1, n0)
        // remainder and root as 128-bit (rh:rl), (qh:ql)
        var rh: UInt64 = 0, rl: UInt64 = 0
        var qh: UInt64 = 0, ql: UInt64 = 0
        for _ in 0..<96 {
            // bring down two bits
            let top = words.0 >> 62
            words.0 = (words.0 << 2) | (words.1 >> 62)
            words.1 = (words.1 << 2) | (words.2 >> 62)
            words.2 <<= 2
            rh = (rh << 2) | (rl >> 62)
            rl = (rl << 2) | top
            // trial = 4*q + 1
            let th = (qh << 2) | (ql >> 62)
            let tl = (ql << 2) | 1
            qh = (qh << 1) | (ql >> 63)
            ql <<= 1
            if rh > th || (rh == th && rl >= tl) {
                let (l, b) = rl.subtractingReportingOverflow(tl)
                rh = rh &- th &- (b ? 1 : 0)
                rl = l
                ql |= 1
            }
        }
        return ((qh, ql), rh != 0 || rl != 0)
    }

    // MARK: - Round to integer

    /// Rounds the magnitude of a finite unpacked value to an integer.
    /// Returns the magnitude (nil if >= 2^64), inexact and rounded-up.
    static func roundToIntegerMagnitude(_ u: X87Unpacked, rc: Int) -> (mag: UInt64?, inexact: Bool, up: Bool) {
        if u.sig == 0 { return (0, false, false) }
        let E = u.exp - bias
        if E >= 64 { return (nil, false, false) }
        if E >= 63 { return (u.sig, false, false) }
        let shift = 63 - E   // 1 ... large
        var intPart: UInt64
        let roundBit: Bool
        let sticky: Bool
        if shift >= 65 {
            intPart = 0
            roundBit = false
            sticky = true
        } else if shift == 64 {
            intPart = 0
            roundBit = u.sig >> 63 != 0
            sticky = (u.sig << 1) != 0
        } else {
            intPart = u.sig >> UInt64(shift)
            roundBit = (u.sig >> UInt64(shift - 1)) & 1 != 0
            sticky = shift > 1 && (u.sig << UInt64(65 - shift)) != 0
        }
        let inexact = roundBit || sticky
        if !inexact { return (intPart, false, false) }
        let inc: Bool
        switch rc {
        case 0: inc = roundBit && (sticky || intPart & 1 != 0)
        case 1: inc = u.sign
        case 2: inc = !u.sign
        default: inc = false
        }
        if inc {
            let (v, o) = intPart.addingReportingOverflow(1)
            return (o ? nil : v, true, true)
        }
        return (intPart, true, false)
    }

    /// FRNDINT.
    public static func roundToInteger(_ a: X87Float, cw: UInt16) -> X87Result {
        switch a.kind {
        case .unsupported: return X87Result(.indefinite, .invalid)
        case .signalingNaN: return X87Result(a.quieted, .invalid)
        case .quietNaN, .zero, .infinity: return X87Result(a)
        default: break
        }
        var flags: X87Flags = a.isDenormalOperand ? .denormal : []
        if cw & 2 == 0 && flags.contains(.denormal) { return X87Result(a, .denormal) }
        let u = unpack(a)
        if u.exp - bias >= 63 { return X87Result(a, flags) }
        let r = roundToIntegerMagnitude(u, rc: Int((cw >> 10) & 3))
        if r.inexact { flags.insert(.precision); if r.up { flags.insert(.c1) } }
        guard let m = r.mag else {
            // 2^64 cannot come from E < 63
            return X87Result(a, flags)
        }
        return X87Result(fromMagnitude(a.sign, m), flags)
    }

    /// Exact conversion of sign + 64-bit magnitude to extended.
    @inline(__always)
    static func fromMagnitude(_ sign: Bool, _ m: UInt64) -> X87Float {
        if m == 0 { return X87Float(sign: sign, exp: 0, significand: 0) }
        let lz = m.leadingZeroBitCount
        return X87Float(sign: sign, exp: bias + 63 - lz, significand: m << UInt64(lz))
    }

    // MARK: - FPREM / FPREM1

    /// Result of FPREM/FPREM1: the new ST(0) plus flags including C0/C1/C3
    /// (quotient bits Q2/Q0/Q1) and C2 (reduction incomplete).
    public static func partialRemainder(_ a: X87Float, _ b: X87Float, ieee: Bool, cw: UInt16) -> X87Result {
        if let r = binarySpecial(a, b) { return r }
        let flags = denormalFlag(a, b)
        if a.isInfinity || b.isZero { return X87Result(.indefinite, .invalid) }
        if cw & 2 == 0 && flags.contains(.denormal) { return X87Result(a, .denormal) }
        if a.isZero { return X87Result(a, flags) }
        if b.isInfinity {
            // ST(0) is kept, but it still goes through rounding: a denormal
            // raises unmasked underflow with a bias-adjusted result.
            let ua = unpack(a)
            var r = roundPack(ua.sign, ua.exp, ua.sig, 0, bits: 64, cw: cw)
            r.flags.formUnion(flags)
            return r
        }
        let ua = unpack(a), ub = unpack(b)
        let D = ua.exp - ub.exp
        if D < -1 || (D == -1 && !ieee) {
            var r = roundPack(ua.sign, ua.exp, ua.sig, 0, bits: 64, cw: cw)
            r.flags.formUnion(flags)
            return r
        }
        var steps = D
        var bExp = ub.exp
        var incomplete = false
        if D >= 64 {
            incomplete = true
            let n = remainderReductionBits(D)
            steps = n
            bExp = ub.exp + (D - n)
        }
        var r: UInt64
        var q: UInt64 = 0
        if steps < 0 {
            r = ua.sig   // D == -1, FPREM1 only: a in [b/2, b) scaled
        } else {
            r = ua.sig
            if r >= ub.sig { r -= ub.sig; q = 1 }
            var i = 0
            while i < steps {
                let carry = r >> 63 != 0
                r <<= 1
                q <<= 1
                if carry || r >= ub.sig { r = r &- ub.sig; q |= 1 }
                i += 1
            }
        }
        var sign = ua.sign
        if ieee && !incomplete {
            if steps < 0 {
                // D == -1: a/b in (1/4, 1). q = 1 iff a > b/2 (sa > sb);
                // a == b/2 is a tie and rounds to the even quotient 0.
                var res: X87Result
                if r > ub.sig {
                    let h: UInt64 = ub.sig >> 63
                    let (l, br) = (ub.sig << 1).subtractingReportingOverflow(r)
                    res = roundPack(!sign, ua.exp + 64, h &- (br ? 1 : 0), l, bits: 64, cw: cw)
                    res.flags.formUnion(quotientFlags(1))
                } else {
                    res = roundPack(sign, ua.exp, r, 0, bits: 64, cw: cw)
                }
                res.flags.formUnion(flags)
                return res
            }
            // round quotient to nearest even: compare 2r with b
            let twoRhi = r >> 63
            let twoRlo = r << 1
            let gt = twoRhi != 0 || twoRlo > ub.sig
            let eq = twoRhi == 0 && twoRlo == ub.sig
            if gt || (eq && q & 1 != 0) {
                r = ub.sig - r
                q &+= 1
                sign = !sign
            }
        }
        var res: X87Result
        if r == 0 {
            res = X87Result(X87Float(sign: ua.sign, exp: 0, significand: 0))
        } else {
            res = roundPack(sign, bExp, r, 0, bits: 64, cw: cw)
        }
        res.flags.formUnion(flags)
        if incomplete {
            res.flags.insert(.c2)
        } else {
            res.flags.formUnion(quotientFlags(q))
        }
        return res
    }

    /// How many quotient bits one incomplete FPREM step develops.
    static func remainderReductionBits(_ d: Int) -> Int {
        32 + (d & 31)
    }

    @inline(__always)
    static func quotientFlags(_ q: UInt64) -> X87Flags {
        var f: X87Flags = []
        if q & 1 != 0 { f.insert(.c1) }
        if q & 2 != 0 { f.insert(.c3) }
        if q & 4 != 0 { f.insert(.c0) }
        return f
    }

    // MARK: - FSCALE

    public static func scale(_ a: X87Float, _ b: X87Float, cw: UInt16) -> X87Result {
        if let r = binarySpecial(a, b) { return r }
        var flags = denormalFlag(a, b)
        if cw & 2 == 0 && flags.contains(.denormal) { return X87Result(a, .denormal) }
        if b.isInfinity {
            if b.sign {
                if a.isInfinity { flags.insert(.invalid); return X87Result(.indefinite, flags) }
                return X87Result(X87Float(sign: a.sign, exp: 0, significand: 0), flags)
            } else {
                if a.isZero { flags.insert(.invalid); return X87Result(.indefinite, flags) }
                return X87Result(X87Float(sign: a.sign, exp: 0x7FFF, significand: 1 << 63), flags)
            }
        }
        if a.isInfinity || a.isZero { return X87Result(a, flags) }
        // truncate b toward zero, clamped
        var n = 0
        if !b.isZero {
            let ub = unpack(b)
            let E = ub.exp - bias
            if E >= 30 { n = 1 << 30 } else if E >= 0 { n = Int(ub.sig >> UInt64(63 - E)) }
            if ub.sign { n = -n }
        }
        let ua = unpack(a)
        var r = roundPack(ua.sign, ua.exp + n + 64, 0, ua.sig, bits: 64, cw: cw)
        r.flags.formUnion(flags)
        return r
    }

    // MARK: - FXTRACT

    /// FXTRACT: returns (exponent, significand); the caller stores the
    /// exponent in ST(0), then pushes the significand.
    public static func extract(_ a: X87Float, cw: UInt16) -> (exponent: X87Float, significand: X87Float, flags: X87Flags) {
        switch a.kind {
        case .unsupported: return (.indefinite, .indefinite, .invalid)
        case .signalingNaN: return (a.quieted, a.quieted, .invalid)
        case .quietNaN: return (a, a, [])
        case .infinity: return (.infinity, a, [])
        case .zero: return (.negativeInfinity, a, .zeroDivide)
        default: break
        }
        let flags: X87Flags = a.isDenormalOperand ? .denormal : []
        if cw & 2 == 0 && flags.contains(.denormal) { return (a, a, .denormal) }
        let u = unpack(a)
        let E = u.exp - bias
        let mag = UInt64(E < 0 ? -E : E)
        return (fromMagnitude(E < 0, mag), X87Float(sign: a.sign, exp: bias, significand: u.sig), flags)
    }

    // MARK: - Compare

    /// FCOM (unordered == false) / FUCOM (unordered == true) semantics.
    /// The returned flags carry exception bits plus C0/C2/C3 (C1 cleared).
    public static func compare(_ a: X87Float, _ b: X87Float, unordered: Bool) -> (relation: X87Relation, flags: X87Flags) {
        compare(a, b, unordered: unordered, memDenormal: false)
    }

    static func compare(_ a: X87Float, _ b: X87Float, unordered: Bool, memDenormal: Bool) -> (relation: X87Relation, flags: X87Flags) {
        if a.isUnsupported || b.isUnsupported { return (.unordered, X87Flags.invalid.union(X87Relation.unordered.conditionFlags)) }
        if a.isNaN || b.isNaN {
            let inv = !unordered || a.isSignalingNaN || b.isSignalingNaN
            return (.unordered, (inv ? X87Flags.invalid : []).union(X87Relation.unordered.conditionFlags))
        }
        let flags = denormalFlag(a, b).union(memDenormal ? .denormal : [])
        let rel = compareOrdered(a, b)
        return (rel, flags.union(rel.conditionFlags))
    }

    /// FTST: compare with +0.0.
    public static func test(_ a: X87Float) -> (relation: X87Relation, flags: X87Flags) {
        compare(a, .zero, unordered: false)
    }

    static func compareOrdered(_ a: X87Float, _ b: X87Float) -> X87Relation {
        let aZ = a.isZero, bZ = b.isZero
        if aZ && bZ { return .equal }
        if a.sign != b.sign { return a.sign ? .less : .greater }
        // same sign (zero has a sign too; treat zero as smallest magnitude)
        let ma = magnitudeKey(a), mb = magnitudeKey(b)
        if ma == mb { return .equal }
        let aBigger = ma.0 > mb.0 || (ma.0 == mb.0 && ma.1 > mb.1)
        return (aBigger != a.sign) ? .greater : .less
    }

    @inline(__always)
    static func magnitudeKey(_ a: X87Float) -> (Int, UInt64) {
        if a.isZero { return (Int.min, 0) }
        if a.isInfinity { return (Int.max, 0) }
        let u = unpack(a)
        return (u.exp, u.sig)
    }

    // MARK: - FXAM

    /// FXAM condition codes C3 C2 C0 and C1 (= sign). The caller handles
    /// "empty" (C3=1 C2=0 C0=1) from the tag word.
    public static func examine(_ a: X87Float) -> X87Flags {
        var f: X87Flags = a.sign ? .c1 : []
        switch a.kind {
        case .unsupported: break
        case .quietNaN, .signalingNaN: f.insert(.c0)
        case .normal: f.insert(.c2)
        case .infinity: f.formUnion([.c2, .c0])
        case .zero: f.insert(.c3)
        case .denormal, .pseudoDenormal: f.formUnion([.c3, .c2])
        }
        return f
    }

    /// FXAM for an empty register (C1 from the register's sign bit).
    public static func examineEmpty(sign: Bool) -> X87Flags {
        var f: X87Flags = [.c3, .c0]
        if sign { f.insert(.c1) }
        return f
    }
}
