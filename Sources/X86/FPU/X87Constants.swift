// FLD1, FLDZ, FLDPI, FLDL2T, FLDL2E, FLDLG2, FLDLN2.

public enum X87Constant: Equatable {
    case one, zero, pi, log2of10, log2ofE, log10of2, lnOf2
}

extension X87 {
    /// The constant as loaded with the control word's rounding mode
    /// (precision control does not apply); no exception is raised and C1
    /// is cleared (verified against the host x87 by fpudiff).
    public static func constant(_ c: X87Constant, cw: UInt16) -> X87Float {
        let m: (exp: Int, hi: UInt64, lo: UInt64)
        switch c {
        case .one: return .one
        case .zero: return .zero
        case .pi: m = (1, 0xC90F_DAA2_2168_C234, 0xC4C6_628B_80DC_1CD1)
        case .log2of10: m = (1, 0xD49A_784B_CD1B_8AFE, 0x492B_F6FF_4DAF_DB4C)
        case .log2ofE: m = (0, 0xB8AA_3B29_5C17_F0BB, 0xBE87_FED0_691D_3E88)
        case .log10of2: m = (-2, 0x9A20_9A84_FBCF_F798, 0x8F89_59AC_0B7C_9178)
        case .lnOf2: m = (-1, 0xB172_17F7_D1CF_79AB, 0xC9E3_B398_03F2_F6AF)
        }
        // Rounded from the exact value (the hardware's internal constants
        // are long enough that this matches in every rounding mode).
        let r = roundPack(false, m.exp + bias, m.hi, m.lo | 1, bits: 64, cw: cw | 0x3F)
        return r.value
    }
}
