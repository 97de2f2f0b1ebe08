// Arithmetic with a memory source operand (FADD m32fp, FIMUL m16int, FCOM
// m64fp, ...). The memory operand is extended exactly; an SNaN stays
// signaling so the x87 NaN rules apply to it, and a single/double denormal
// reports DE even though it is normal in extended format.

/// The six two-operand arithmetic instructions. `subr`/`divr` are the
/// reversed forms (source - ST / source ÷ ST with the roles swapped).
public enum X87ArithOp: Equatable {
    case add, mul, sub, subr, div, divr
}

/// A memory source operand.
public enum X87MemOperand: Equatable {
    case float32(UInt32)
    case float64(UInt64)
    case int16(Int16)
    case int32(Int32)
}

extension X87 {
    /// Exact extension of an IEEE single/double: SNaN kept signaling;
    /// `denormal` tells whether the source was a denormal.
    static func extendIEEE(_ bits: UInt64, fracBits: Int, expBits: Int) -> (value: X87Float, denormal: Bool) {
        let sign = (bits >> UInt64(fracBits + expBits)) & 1 != 0
        let emax = (1 << expBits) - 1
        let ebias = (1 << (expBits - 1)) - 1
        let e = Int((bits >> UInt64(fracBits)) & UInt64(emax))
        let frac = bits & ((1 << UInt64(fracBits)) - 1)
        if e == emax {
            return (X87Float(sign: sign, exp: 0x7FFF, significand: (1 << 63) | (frac << UInt64(63 - fracBits))), false)
        }
        if e == 0 {
            if frac == 0 { return (X87Float(sign: sign, exp: 0, significand: 0), false) }
            let lz = frac.leadingZeroBitCount
            let exp = (1 - ebias - fracBits) + 63 - lz + bias
            return (X87Float(sign: sign, exp: exp, significand: frac << UInt64(lz)), true)
        }
        return (X87Float(sign: sign, exp: e - ebias + bias, significand: (1 << 63) | (frac << UInt64(63 - fracBits))), false)
    }

    static func extend(_ m: X87MemOperand) -> (value: X87Float, denormal: Bool) {
        switch m {
        case .float32(let b): return extendIEEE(UInt64(b), fracBits: 23, expBits: 8)
        case .float64(let b): return extendIEEE(b, fracBits: 52, expBits: 11)
        case .int16(let v): return (fromInt64(Int64(v)), false)
        case .int32(let v): return (fromInt64(Int64(v)), false)
        }
    }

    /// Register-register or register-memory arithmetic: `st` is the
    /// destination register's value, `src` the other operand.
    /// add: st+src, sub: st-src, subr: src-st, mul: st*src, div: st/src,
    /// divr: src/st.
    public static func arithmetic(_ op: X87ArithOp, _ st: X87Float, _ src: X87Float, cw: UInt16) -> X87Result {
        arithmetic(op, st, src, cw: cw, memDenormal: false)
    }

    public static func arithmetic(_ op: X87ArithOp, _ st: X87Float, _ src: X87MemOperand, cw: UInt16) -> X87Result {
        let m = extend(src)
        return arithmetic(op, st, m.value, cw: cw, memDenormal: m.denormal)
    }

    static func arithmetic(_ op: X87ArithOp, _ st: X87Float, _ src: X87Float, cw: UInt16, memDenormal: Bool) -> X87Result {
        switch op {
        case .add: return addSub(st, src, negateB: false, cw: cw, memDenormal: memDenormal)
        case .sub: return addSub(st, src, negateB: true, cw: cw, memDenormal: memDenormal)
        case .subr: return addSub(src, st, negateB: true, cw: cw, memDenormal: memDenormal)
        case .mul: return mul(st, src, cw: cw, memDenormal: memDenormal)
        case .div: return div(st, src, cw: cw, memDenormal: memDenormal)
        case .divr: return div(src, st, cw: cw, memDenormal: memDenormal)
        }
    }

    /// FCOM/FICOM with a memory operand (FCOM m32/m64, FICOM m16/m32).
    public static func compare(_ st: X87Float, _ src: X87MemOperand, unordered: Bool = false) -> (relation: X87Relation, flags: X87Flags) {
        let m = extend(src)
        return compare(st, m.value, unordered: unordered, memDenormal: m.denormal)
    }
}
