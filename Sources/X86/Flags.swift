/// Lazy arithmetic flags.
///
/// Most instructions that write CF/PF/AF/ZF/SF/OF have their flags
/// overwritten before anyone reads them, so instead of computing six flags
/// per ALU instruction we record the operation, its operands and its result
/// and compute a flag only when it is read. `lazyMask` says which
/// arithmetic flags are currently described by that record; the others are
/// taken from `flagBits`.
enum LazyOp: UInt8 {
    case add, adc, sub, sbb, logic, inc, dec
}

let parityTable: [Bool] = (0..<256).map { v in v.nonzeroBitCount % 2 == 0 }

@inline(__always) func sizeMask(_ size: Int) -> UInt32 {
    size == 4 ? 0xFFFF_FFFF : (size == 2 ? 0xFFFF : 0xFF)
}
@inline(__always) func signBit(_ size: Int) -> UInt32 {
    size == 4 ? 0x8000_0000 : (size == 2 ? 0x8000 : 0x80)
}

extension CPU {
    /// Records an operation whose six arithmetic flags derive from A op B = R.
    @inline(__always) func setLazy(_ op: LazyOp, _ size: Int, _ a: UInt32, _ b: UInt32, _ r: UInt32) {
        lzOp = op; lzSize = size; lzA = a; lzB = b; lzR = r
        lazyMask = EFlags.arith
    }

    /// INC/DEC leave CF alone: freeze it first, then go lazy on the rest.
    @inline(__always) func setLazyKeepCF(_ op: LazyOp, _ size: Int, _ a: UInt32, _ r: UInt32) {
        let cf = lazyCF()
        flagBits = (flagBits & ~EFlags.cf) | cf
        lzOp = op; lzSize = size; lzA = a; lzB = 1; lzR = r
        lazyMask = EFlags.arith & ~EFlags.cf
    }

    /// Result-only flags (ZF, SF, PF) from `r`; CF, OF, AF given explicitly.
    @inline(__always) func setResultFlags(_ size: Int, _ r: UInt32, cf: Bool, of: Bool, af: Bool = false) {
        lzOp = .logic; lzSize = size; lzR = r & sizeMask(size); lzA = 0; lzB = 0
        var f = flagBits & ~(EFlags.cf | EFlags.of | EFlags.af)
        if cf { f |= EFlags.cf }
        if of { f |= EFlags.of }
        if af { f |= EFlags.af }
        flagBits = f
        lazyMask = EFlags.zf | EFlags.sf | EFlags.pf
    }

    @inline(__always) func lazyCF() -> UInt32 {
        if lazyMask & EFlags.cf == 0 { return flagBits & EFlags.cf }
        switch lzOp {
        case .add: return lzR < lzA ? 1 : 0
        case .adc: return lzR <= lzA ? 1 : 0
        case .sub: return lzA < lzB ? 1 : 0
        case .sbb: return lzA <= lzB ? 1 : 0
        case .logic, .inc, .dec: return 0
        }
    }

    @inline(__always) func lazyZF() -> Bool {
        if lazyMask & EFlags.zf == 0 { return flagBits & EFlags.zf != 0 }
        return lzR == 0
    }

    @inline(__always) func lazySF() -> Bool {
        if lazyMask & EFlags.sf == 0 { return flagBits & EFlags.sf != 0 }
        return lzR & signBit(lzSize) != 0
    }

    @inline(__always) func lazyOF() -> Bool {
        if lazyMask & EFlags.of == 0 { return flagBits & EFlags.of != 0 }
        let s = signBit(lzSize)
        switch lzOp {
        case .add, .adc, .inc: return (lzA ^ lzR) & (lzB ^ lzR) & s != 0
        case .sub, .sbb, .dec: return (lzA ^ lzB) & (lzA ^ lzR) & s != 0
        case .logic: return false
        }
    }

    @inline(__always) func lazyPF() -> Bool {
        if lazyMask & EFlags.pf == 0 { return flagBits & EFlags.pf != 0 }
        return parityTable[Int(lzR & 0xFF)]
    }

    @inline(__always) func lazyAF() -> Bool {
        if lazyMask & EFlags.af == 0 { return flagBits & EFlags.af != 0 }
        if lzOp == .logic { return false }
        return (lzA ^ lzB ^ lzR) & 0x10 != 0
    }

    /// EFLAGS with every lazy bit computed.
    func materializedFlags() -> UInt32 {
        if lazyMask == 0 { return flagBits }
        var f = flagBits & ~lazyMask
        let m = lazyMask
        if m & EFlags.cf != 0, lazyCF() != 0 { f |= EFlags.cf }
        if m & EFlags.pf != 0, lazyPF() { f |= EFlags.pf }
        if m & EFlags.af != 0, lazyAF() { f |= EFlags.af }
        if m & EFlags.zf != 0, lazyZF() { f |= EFlags.zf }
        if m & EFlags.sf != 0, lazySF() { f |= EFlags.sf }
        if m & EFlags.of != 0, lazyOF() { f |= EFlags.of }
        return f
    }

    /// Makes `flagBits` authoritative (before code that edits individual bits).
    @inline(__always) func materializeFlags() {
        if lazyMask != 0 {
            flagBits = materializedFlags()
            lazyMask = 0
        }
    }

    /// Loads all of EFLAGS, bit 1 forced on and reserved bits off. Callers
    /// apply privilege rules (which bits may change) before this.
    func setFlagsRaw(_ v: UInt32) {
        let old = flagBits
        flagBits = (v & 0x003F_7FD5) | 0x2
        lazyMask = 0
        if (flagBits ^ old) & (EFlags.vm | EFlags.ac) != 0 { updateModeCaches() }
    }

    @inline(__always) func setFlag(_ bit: UInt32, _ on: Bool) {
        materializeFlagBit(bit)
        if on { flagBits |= bit } else { flagBits &= ~bit }
    }

    /// Makes one arithmetic flag authoritative without touching the others.
    @inline(__always) func materializeFlagBit(_ bit: UInt32) {
        guard lazyMask & bit != 0 else { return }
        var on = false
        switch bit {
        case EFlags.cf: on = lazyCF() != 0
        case EFlags.pf: on = lazyPF()
        case EFlags.af: on = lazyAF()
        case EFlags.zf: on = lazyZF()
        case EFlags.sf: on = lazySF()
        default: on = lazyOF()
        }
        if on { flagBits |= bit } else { flagBits &= ~bit }
        lazyMask &= ~bit
    }

    @inline(__always) var directionDown: Bool { flagBits & EFlags.df != 0 }

    /// Evaluates condition code `cc` (the low nibble of Jcc/SETcc/CMOVcc).
    @inline(__always) func condition(_ cc: Int) -> Bool {
        let r: Bool
        switch cc >> 1 {
        case 0: r = lazyOF()
        case 1: r = lazyCF() != 0
        case 2: r = lazyZF()
        case 3: r = lazyCF() != 0 || lazyZF()
        case 4: r = lazySF()
        case 5: r = lazyPF()
        case 6: r = lazySF() != lazyOF()
        default: r = lazyZF() || (lazySF() != lazyOF())
        }
        return cc & 1 == 0 ? r : !r
    }
}
