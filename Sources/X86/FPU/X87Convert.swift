// Conversions between the 80-bit format and integers, float32/float64 and
// 18-digit packed BCD.

/// The result of storing to a memory format: `bits` is what to write, unless
/// `flags` contains an unmasked exception, in which case the store must be
/// suppressed (the caller raises #MF; see docs/fpu.md).
public struct X87StoreResult: Equatable {
    public var bits: UInt64
    public var flags: X87Flags
}

extension X87 {
    // MARK: - Integers

    /// FILD: exact.
    public static func fromInt64(_ v: Int64) -> X87Float {
        fromMagnitude(v < 0, v.magnitude)
    }

    /// FIST/FISTP to a `width`-bit signed integer (16, 32 or 64), rounding
    /// with the control word's rounding mode. Out of range, NaN, infinity
    /// and unsupported encodings give IE and the integer indefinite.
    public static func toInteger(_ a: X87Float, width: Int, cw: UInt16) -> X87StoreResult {
        let indefinite: UInt64 = 1 << UInt64(width - 1)
        switch a.kind {
        case .unsupported, .quietNaN, .signalingNaN, .infinity:
            return X87StoreResult(bits: indefinite, flags: .invalid)
        case .zero:
            return X87StoreResult(bits: 0, flags: [])
        default: break
        }
        var flags: X87Flags = []
        let u = unpack(a)
        let r = roundToIntegerMagnitude(u, rc: Int((cw >> 10) & 3))
        guard let m = r.mag else { return X87StoreResult(bits: indefinite, flags: .invalid) }
        let limit: UInt64 = a.sign ? indefinite : indefinite - 1
        if m > limit { return X87StoreResult(bits: indefinite, flags: .invalid) }
        if r.inexact { flags.insert(.precision); if r.up { flags.insert(.c1) } }
        var bits = a.sign ? (0 &- m) : m
        if width < 64 { bits &= (1 << UInt64(width)) - 1 }
        return X87StoreResult(bits: bits, flags: flags)
    }

    // MARK: - IEEE single / double

    /// FLD m32 / m64: exact except SNaN (IE, quieted) and denormal (DE).
    /// `fracBits` is 23 or 52, `expBits` 8 or 11.
    static func fromIEEE(_ bits: UInt64, fracBits: Int, expBits: Int) -> X87Result {
        let sign = (bits >> UInt64(fracBits + expBits)) & 1 != 0
        let emax = (1 << expBits) - 1
        let ebias = (1 << (expBits - 1)) - 1
        let e = Int((bits >> UInt64(fracBits)) & UInt64(emax))
        let frac = bits & ((1 << UInt64(fracBits)) - 1)
        if e == emax {
            if frac == 0 { return X87Result(X87Float(sign: sign, exp: 0x7FFF, significand: 1 << 63)) }
            let sig = (1 << 63) | (frac << UInt64(63 - fracBits))
            let snan = (frac >> UInt64(fracBits - 1)) == 0
            let v = X87Float(sign: sign, exp: 0x7FFF, significand: sig | (1 << 62))
            return X87Result(v, snan ? .invalid : [])
        }
        if e == 0 {
            if frac == 0 { return X87Result(X87Float(sign: sign, exp: 0, significand: 0)) }
            let lz = frac.leadingZeroBitCount   // of 64-bit
            let sig = frac << UInt64(lz)
            // value = frac * 2^(1 - ebias - fracBits)
            let exp = (1 - ebias - fracBits) + 63 - lz + bias
            return X87Result(X87Float(sign: sign, exp: exp, significand: sig), .denormal)
        }
        let sig = (1 << 63) | (frac << UInt64(63 - fracBits))
        return X87Result(X87Float(sign: sign, exp: e - ebias + bias, significand: sig))
    }

    public static func fromFloat32(_ bits: UInt32) -> X87Result {
        fromIEEE(UInt64(bits), fracBits: 23, expBits: 8)
    }

    public static func fromFloat64(_ bits: UInt64) -> X87Result {
        fromIEEE(bits, fracBits: 52, expBits: 11)
    }

    public static func toFloat32(_ a: X87Float, cw: UInt16) -> X87StoreResult {
        toIEEE(a, fracBits: 23, expBits: 8, cw: cw)
    }

    public static func toFloat64(_ a: X87Float, cw: UInt16) -> X87StoreResult {
        toIEEE(a, fracBits: 52, expBits: 11, cw: cw)
    }

    static func toIEEE(_ a: X87Float, fracBits: Int, expBits: Int, cw: UInt16) -> X87StoreResult {
        let emax = (1 << expBits) - 1
        let ebias = (1 << (expBits - 1)) - 1
        let signBit: UInt64 = a.sign ? 1 << UInt64(fracBits + expBits) : 0
        let expField = { (e: Int) -> UInt64 in UInt64(e) << UInt64(fracBits) }
        let fracMask: UInt64 = (1 << UInt64(fracBits)) - 1
        let indefinite: UInt64 = (1 << UInt64(fracBits + expBits)) | expField(emax) | (1 << UInt64(fracBits - 1))
        switch a.kind {
        case .unsupported: return X87StoreResult(bits: indefinite, flags: .invalid)
        case .quietNaN, .signalingNaN:
            let frac = (a.significand >> UInt64(63 - fracBits)) & fracMask | (1 << UInt64(fracBits - 1))
            return X87StoreResult(bits: signBit | expField(emax) | frac, flags: a.isSignalingNaN ? .invalid : [])
        case .infinity: return X87StoreResult(bits: signBit | expField(emax), flags: [])
        case .zero: return X87StoreResult(bits: signBit, flags: [])
        default: break
        }
        var flags: X87Flags = []
        let u = unpack(a)
        let rc = Int((cw >> 10) & 3)
        let p = fracBits + 1
        var d = u.exp - bias + ebias   // destination biased exponent
        let tinyAfter = d < 0 || (d == 0 && !roundBits(u.sig, 0, bits: p, rc: rc, sign: u.sign).carry)
        if d <= 0 && (tinyAfter || tininessBeforeRounding) {
            if cw & X87Flags.underflow.rawValue == 0 {
                flags.insert(.underflow)
                return X87StoreResult(bits: 0, flags: flags)
            }
            let tiny = tininessBeforeRounding || tinyAfter
            let (h, l) = shiftRightJam(u.sig, 0, 1 - d)
            let r = roundBits(h, l, bits: p, rc: rc, sign: u.sign)
            // r.sig holds the significand at the fixed position; a carry means 2^(1-ebias)*... (min normal*2)? impossible
            var mant = r.sig >> UInt64(64 - p)   // includes what would be the integer bit
            if r.carry { mant = 1 << UInt64(p) } // cannot really happen with shift >= 1
            if r.inexact {
                flags.insert(.precision)
                if tiny { flags.insert(.underflow) }
                if r.up { flags.insert(.c1) }
            }
            // mant bit fracBits set => minimum normal (exponent field 1) — the encoding adds naturally
            return X87StoreResult(bits: signBit | mant, flags: flags)
        }
        let r = roundBits(u.sig, 0, bits: p, rc: rc, sign: u.sign)
        var mant = r.sig >> UInt64(64 - p)
        if r.carry { mant = 1 << UInt64(fracBits); d += 1 }
        if d >= emax {
            if cw & X87Flags.overflow.rawValue == 0 {
                flags.insert(.overflow)
                return X87StoreResult(bits: 0, flags: flags)
            }
            flags.formUnion([.overflow, .precision])
            let toInf: Bool
            switch rc {
            case 0: toInf = true
            case 1: toInf = u.sign
            case 2: toInf = !u.sign
            default: toInf = false
            }
            if toInf {
                flags.insert(.c1)
                return X87StoreResult(bits: signBit | expField(emax), flags: flags)
            }
            return X87StoreResult(bits: signBit | expField(emax - 1) | fracMask, flags: flags)
        }
        if r.inexact { flags.insert(.precision); if r.up { flags.insert(.c1) } }
        return X87StoreResult(bits: signBit | expField(d) | (mant & fracMask), flags: flags)
    }

    // MARK: - Packed BCD

    /// FBLD: 80-bit packed BCD (low 8 bytes in `low`, bytes 8-9 in `high`,
    /// sign in bit 15 of `high`). Invalid digits give an undefined (but
    /// deterministic) value, like the hardware.
    public static func fromBCD(low: UInt64, high: UInt16) -> X87Float {
        var v: UInt64 = 0
        var i = 17
        while i >= 0 {
            let digit: UInt64
            if i >= 16 {
                digit = UInt64((high >> UInt16((i - 16) * 4)) & 0xF)
            } else {
                digit = (low >> UInt64(i * 4)) & 0xF
            }
            v = v &* 10 &+ digit
            i -= 1
        }
        return fromMagnitude(high & 0x8000 != 0, v)
    }

    /// FBSTP: rounds with the current rounding mode; out of range, NaN,
    /// infinity or unsupported gives IE and the BCD indefinite
    /// (0xFFFF_C000000000000000).
    public static func toBCD(_ a: X87Float, cw: UInt16) -> (low: UInt64, high: UInt16, flags: X87Flags) {
        let indefinite: (UInt64, UInt16) = (0xC000_0000_0000_0000, 0xFFFF)
        switch a.kind {
        case .unsupported, .quietNaN, .signalingNaN, .infinity:
            return (indefinite.0, indefinite.1, .invalid)
        case .zero:
            return (0, a.sign ? 0x8000 : 0, [])
        default: break
        }
        var flags: X87Flags = []
        let r = roundToIntegerMagnitude(unpack(a), rc: Int((cw >> 10) & 3))
        guard let m = r.mag, m <= 999_999_999_999_999_999 else {
            flags.insert(.invalid)
            return (indefinite.0, indefinite.1, flags)
        }
        if r.inexact { flags.insert(.precision); if r.up { flags.insert(.c1) } }
        var low: UInt64 = 0
        var high: UInt16 = a.sign ? 0x8000 : 0
        var x = m
        for i in 0..<18 {
            let digit = x % 10
            x /= 10
            if i < 16 { low |= digit << UInt64(i * 4) } else { high |= UInt16(digit) << UInt16((i - 16) * 4) }
        }
        return (low, high, flags)
    }
}
