// x87 80-bit extended-precision value and the result/flag types shared by
// every operation of the software FPU core.
//
// Everything here is pure integer arithmetic: no host floating point is used,
// so results are identical on every host.

/// An 80-bit x87 register value: 1 sign bit, 15-bit biased exponent,
/// 64-bit significand with an explicit integer bit (bit 63).
public struct X87Float: Equatable, Hashable, CustomStringConvertible {
    public var signExp: UInt16
    public var significand: UInt64

    @inline(__always)
    public init(signExp: UInt16, significand: UInt64) {
        self.signExp = signExp
        self.significand = significand
    }

    @inline(__always)
    public init(sign: Bool, exp: Int, significand: UInt64) {
        self.signExp = (sign ? 0x8000 : 0) | UInt16(truncatingIfNeeded: exp & 0x7FFF)
        self.significand = significand
    }

    public var sign: Bool { signExp & 0x8000 != 0 }
    public var biasedExponent: Int { Int(signExp & 0x7FFF) }

    public static let bias = 16383
    public static let zero = X87Float(signExp: 0, significand: 0)
    public static let negativeZero = X87Float(signExp: 0x8000, significand: 0)
    public static let one = X87Float(signExp: 0x3FFF, significand: 1 << 63)
    public static let infinity = X87Float(signExp: 0x7FFF, significand: 1 << 63)
    public static let negativeInfinity = X87Float(signExp: 0xFFFF, significand: 1 << 63)
    /// The "real indefinite" QNaN produced by masked invalid operations.
    public static let indefinite = X87Float(signExp: 0xFFFF, significand: 0xC000_0000_0000_0000)

    public enum Kind: Equatable {
        case zero, denormal, pseudoDenormal, normal, infinity, quietNaN, signalingNaN
        /// Unnormal, pseudo-NaN, pseudo-infinity: invalid operands on 387+.
        case unsupported
    }

    public var kind: Kind {
        let e = signExp & 0x7FFF
        let ib = significand >> 63 != 0
        if e == 0 {
            if significand == 0 { return .zero }
            return ib ? .pseudoDenormal : .denormal
        }
        if e == 0x7FFF {
            if !ib { return .unsupported }
            let frac = significand & 0x7FFF_FFFF_FFFF_FFFF
            if frac == 0 { return .infinity }
            return (frac >> 62) != 0 ? .quietNaN : .signalingNaN
        }
        return ib ? .normal : .unsupported
    }

    public var isNaN: Bool { let k = kind; return k == .quietNaN || k == .signalingNaN }
    public var isSignalingNaN: Bool { kind == .signalingNaN }
    public var isZero: Bool { kind == .zero }
    public var isInfinity: Bool { kind == .infinity }
    public var isDenormalOperand: Bool { let k = kind; return k == .denormal || k == .pseudoDenormal }
    public var isUnsupported: Bool { kind == .unsupported }

    /// FABS: clears the sign, no flags, no checks.
    public var absoluteValue: X87Float { X87Float(signExp: signExp & 0x7FFF, significand: significand) }
    /// FCHS: flips the sign, no flags, no checks.
    public var negated: X87Float { X87Float(signExp: signExp ^ 0x8000, significand: significand) }
    /// The NaN with its quiet bit set.
    public var quieted: X87Float { X87Float(signExp: signExp, significand: significand | (1 << 62)) }

    public var description: String {
        let h = String(signExp, radix: 16)
        let s = String(significand, radix: 16)
        return String(repeating: "0", count: 4 - h.count) + h + ":" + String(repeating: "0", count: 16 - s.count) + s
    }
}

/// Status-word bits produced by an operation. Exception bits use the x87
/// status-word positions (IE=bit0 .. PE=bit5); condition codes are C0=bit8,
/// C1=bit9, C2=bit10, C3=bit14. `stackFault` (SF, bit 6) is never set by the
/// core: stack overflow/underflow is the caller's business.
public struct X87Flags: OptionSet, Hashable {
    public var rawValue: UInt16
    @inline(__always) public init(rawValue: UInt16) { self.rawValue = rawValue }
    public static let invalid = X87Flags(rawValue: 0x0001)      // IE
    public static let denormal = X87Flags(rawValue: 0x0002)     // DE
    public static let zeroDivide = X87Flags(rawValue: 0x0004)   // ZE
    public static let overflow = X87Flags(rawValue: 0x0008)     // OE
    public static let underflow = X87Flags(rawValue: 0x0010)    // UE
    public static let precision = X87Flags(rawValue: 0x0020)    // PE
    public static let c0 = X87Flags(rawValue: 0x0100)
    public static let c1 = X87Flags(rawValue: 0x0200)
    public static let c2 = X87Flags(rawValue: 0x0400)
    public static let c3 = X87Flags(rawValue: 0x4000)
    public static let exceptionMask: UInt16 = 0x003F
    public static let conditionMask: UInt16 = 0x4700
}

/// The result of a value-producing operation.
public struct X87Result: Equatable {
    public var value: X87Float
    public var flags: X87Flags
    @inline(__always) public init(_ value: X87Float, _ flags: X87Flags = []) {
        self.value = value
        self.flags = flags
    }
}

/// Decoded control word. The raw control word is what operations take; this
/// is a convenience view.
public struct X87Control {
    public var raw: UInt16
    @inline(__always) public init(_ raw: UInt16) { self.raw = raw }
    /// The power-on / FNINIT control word: all masked, 64-bit, nearest.
    public static let initial: UInt16 = 0x037F
    /// Significand bits for the precision-control field (00=24, 10=53, 11=64;
    /// the reserved 01 is treated as 64).
    public var precisionBits: Int {
        switch (raw >> 8) & 3 {
        case 0: return 24
        case 2: return 53
        default: return 64
        }
    }
    /// 0 = nearest even, 1 = down (toward -inf), 2 = up (toward +inf), 3 = toward zero.
    public var roundingMode: Int { Int((raw >> 10) & 3) }
    public func isMasked(_ f: X87Flags) -> Bool { raw & f.rawValue == f.rawValue }
}

/// Comparison outcome (FCOM/FUCOM/FCOMI/FTST).
public enum X87Relation: Equatable {
    case greater, less, equal, unordered

    /// C3 C2 C0 as FCOM sets them (C1 cleared).
    public var conditionFlags: X87Flags {
        switch self {
        case .greater: return []
        case .less: return .c0
        case .equal: return .c3
        case .unordered: return [.c0, .c2, .c3]
        }
    }

    /// ZF PF CF as FCOMI/FUCOMI set them, as EFLAGS bits (CF=1, PF=4, ZF=0x40).
    public var eflags: UInt32 {
        switch self {
        case .greater: return 0
        case .less: return 0x01
        case .equal: return 0x40
        case .unordered: return 0x45
        }
    }
}

// MARK: - Helpers for the CPU integration

extension X87Flags {
    /// Exception bits of these flags that the control word leaves unmasked.
    @inline(__always)
    public func unmaskedExceptions(cw: UInt16) -> UInt16 {
        rawValue & ~cw & X87Flags.exceptionMask
    }

    /// True when an unmasked IE, DE or ZE means the register destination
    /// must not be written (and no push/pop happens).
    @inline(__always)
    public func suppressesRegisterWrite(cw: UInt16) -> Bool {
        rawValue & ~cw & 0x07 != 0
    }

    /// True when an unmasked IE, DE, ZE, OE or UE means a memory store
    /// (FST/FIST/FBSTP) must not happen (and no pop).
    @inline(__always)
    public func suppressesStore(cw: UInt16) -> Bool {
        rawValue & ~cw & 0x1F != 0
    }

    /// Merges into a status word: ORs the exception bits, replaces the
    /// condition-code bits selected by `conditions` (e.g. only C1 for
    /// arithmetic, C0-C3 for compares) and sets ES (bit 7) and B (bit 15)
    /// if any unmasked exception is now pending. SF (bit 6) is untouched.
    @inline(__always)
    public func merge(into sw: inout UInt16, cw: UInt16, conditions: UInt16 = X87Flags.c1.rawValue) {
        sw = (sw & ~conditions) | (rawValue & conditions) | (rawValue & X87Flags.exceptionMask)
        if sw & ~cw & X87Flags.exceptionMask != 0 { sw |= 0x8080 }
    }
}

extension X87Float {
    /// The 2-bit tag FSTENV/FSAVE report for a non-empty register:
    /// 0 valid, 1 zero, 2 special (NaN, infinity, denormal, unsupported).
    /// (3 = empty comes from the tag word itself.)
    public var tag: UInt16 {
        switch kind {
        case .normal: return 0
        case .zero: return 1
        default: return 2
        }
    }
}
