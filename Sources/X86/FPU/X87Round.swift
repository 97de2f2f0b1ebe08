// Rounding and packing: the one place where an exact intermediate result
// becomes an 80-bit value with x87 precision control, rounding control,
// overflow/underflow handling (masked and unmasked) and C1.

/// Namespace for the x87 arithmetic core. All functions are pure.
public enum X87 {}

/// An unpacked finite operand: value = sig * 2^(exp - 16383 - 63).
/// `exp` may be <= 0 after normalizing a denormal.
@usableFromInline
struct X87Unpacked {
    var sign: Bool
    var exp: Int
    var sig: UInt64
}

extension X87 {
    /// Whether underflow tininess is detected before rounding (true) or after
    /// rounding with unbounded exponent (false).
    static let tininessBeforeRounding = false

    @inline(__always)
    static func unpack(_ v: X87Float) -> X87Unpacked {
        var e = v.biasedExponent
        var s = v.significand
        if e == 0 { e = 1 }   // denormals and pseudo-denormals
        if s != 0 {
            let lz = s.leadingZeroBitCount
            s <<= UInt64(lz)
            e -= lz
        }
        return X87Unpacked(sign: v.sign, exp: e, sig: s)
    }

    /// Shifts the 128-bit (hi:lo) right by `s`, ORing lost bits into bit 0.
    @inline(__always)
    static func shiftRightJam(_ hi: UInt64, _ lo: UInt64, _ s: Int) -> (UInt64, UInt64) {
        if s <= 0 { return (hi, lo) }
        if s >= 128 { return (0, (hi | lo) != 0 ? 1 : 0) }
        if s >= 64 {
            let r = s - 64
            let newLo = r == 0 ? hi : hi >> UInt64(r)
            let lost = lo != 0 || (r != 0 && (hi << UInt64(64 - r)) != 0)
            return (0, newLo | (lost ? 1 : 0))
        }
        let newHi = hi >> UInt64(s)
        let newLo = (hi << UInt64(64 - s)) | (lo >> UInt64(s))
        let lost = (lo << UInt64(64 - s)) != 0
        return (newHi, newLo | (lost ? 1 : 0))
    }

    /// Rounds (hi:lo) to the top `bits` bits of `hi` (1...64).
    /// Returns the kept significand (low bits zero), inexact, whether the
    /// magnitude was increased, and whether the increment carried out of bit 63.
    @inline(__always)
    static func roundBits(_ hi: UInt64, _ lo: UInt64, bits: Int, rc: Int, sign: Bool)
        -> (sig: UInt64, inexact: Bool, up: Bool, carry: Bool) {
        let shift = 64 - bits
        var kept: UInt64
        let roundBit: Bool
        let sticky: Bool
        if shift == 0 {
            kept = hi
            roundBit = lo >> 63 != 0
            sticky = (lo << 1) != 0
        } else {
            let mask: UInt64 = (1 << UInt64(shift)) - 1
            kept = hi & ~mask
            roundBit = (hi >> UInt64(shift - 1)) & 1 != 0
            sticky = (hi & (mask >> 1)) != 0 || lo != 0
        }
        let inexact = roundBit || sticky
        if !inexact { return (kept, false, false, false) }
        let inc: Bool
        switch rc {
        case 0:
            let lsb = shift == 64 ? false : ((kept >> UInt64(shift)) & 1 != 0)
            inc = roundBit && (sticky || lsb)
        case 1: inc = sign
        case 2: inc = !sign
        default: inc = false
        }
        if !inc { return (kept, true, false, false) }
        let (r, o) = kept.addingReportingOverflow(1 << UInt64(shift))
        return (r, true, true, o)
    }

    /// Rounds and packs value = (hi:lo) * 2^(exp - 16383 - 127) using the
    /// given significand precision and the rounding/mask bits of `cw`.
    /// (hi:lo) == 0 gives a zero with `sign`.
    static func roundPack(_ sign: Bool, _ exp0: Int, _ hi0: UInt64, _ lo0: UInt64,
                          bits: Int, cw: UInt16) -> X87Result {
        var hi = hi0, lo = lo0, exp = exp0
        if hi == 0 && lo == 0 { return X87Result(X87Float(sign: sign, exp: 0, significand: 0)) }
        if hi == 0 { hi = lo; lo = 0; exp -= 64 }
        let lz = hi.leadingZeroBitCount
        if lz > 0 {
            hi = (hi << UInt64(lz)) | (lo >> UInt64(64 - lz))
            lo <<= UInt64(lz)
            exp -= lz
        }
        let rc = Int((cw >> 10) & 3)
        var flags: X87Flags = []
        // Tiny after rounding to the precision with an unbounded exponent?
        let tinyAfter = exp < 0 || (exp == 0 && !roundBits(hi, lo, bits: bits, rc: rc, sign: sign).carry)
        if exp <= 0 && (tinyAfter || tininessBeforeRounding) {
            if cw & X87Flags.underflow.rawValue == 0 {
                if exp + 0x6000 <= 0 {
                    // still out of range after the bias adjustment: zero
                    return X87Result(X87Float(sign: sign, exp: 0, significand: 0), [.underflow, .precision])
                }
                // Unmasked underflow: bias-adjusted result, UE always.
                exp += 0x6000
                flags.insert(.underflow)
            } else {
                let tiny = tininessBeforeRounding || tinyAfter
                (hi, lo) = shiftRightJam(hi, lo, 1 - exp)
                let r = roundBits(hi, lo, bits: bits, rc: rc, sign: sign)
                var sig = r.sig
                var e = 0
                if r.carry { sig = 1 << 63; e = 1 } else if sig >> 63 != 0 { e = 1 }
                if r.inexact {
                    flags.insert(.precision)
                    if tiny { flags.insert(.underflow) }
                    if r.up { flags.insert(.c1) }
                }
                return X87Result(X87Float(sign: sign, exp: e, significand: sig), flags)
            }
        }
        let r = roundBits(hi, lo, bits: bits, rc: rc, sign: sign)
        var sig = r.sig
        if r.carry { sig = 1 << 63; exp += 1 }
        if exp >= 0x7FFF {
            if cw & X87Flags.overflow.rawValue == 0 {
                if exp - 0x6000 >= 0x7FFF {
                    // still out of range after the bias adjustment: infinity
                    return X87Result(X87Float(sign: sign, exp: 0x7FFF, significand: 1 << 63), [.overflow, .precision, .c1])
                }
                exp -= 0x6000
                flags.insert(.overflow)
            } else {
                flags.formUnion([.overflow, .precision])
                let toInf: Bool
                switch rc {
                case 0: toInf = true
                case 1: toInf = sign
                case 2: toInf = !sign
                default: toInf = false
                }
                if toInf {
                    flags.insert(.c1)
                    return X87Result(X87Float(sign: sign, exp: 0x7FFF, significand: 1 << 63), flags)
                }
                let maxSig: UInt64 = bits == 64 ? ~0 : ~((1 << UInt64(64 - bits)) - 1)
                return X87Result(X87Float(sign: sign, exp: 0x7FFE, significand: maxSig), flags)
            }
        }
        if r.inexact {
            flags.insert(.precision)
            if r.up { flags.insert(.c1) }
        }
        return X87Result(X87Float(sign: sign, exp: exp, significand: sig), flags)
    }

    @inline(__always)
    static func precisionBits(_ cw: UInt16) -> Int {
        switch (cw >> 8) & 3 {
        case 0: return 24
        case 2: return 53
        default: return 64
        }
    }
}
