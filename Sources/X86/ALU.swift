/// Integer arithmetic and logic: the eight classic ALU operations, INC/DEC,
/// NEG/NOT, multiply and divide, shifts and rotates, bit tests and scans,
/// and the BCD adjustments. Operands arrive zero-extended and masked to
/// `size` bytes; results are returned masked.
extension CPU {
    /// ADD OR ADC SBB AND SUB XOR CMP, selected by `op` (0...7) as in the
    /// opcode map. Returns the result (CMP returns nil: nothing is written).
    @inline(__always) func alu(_ op: Int, _ size: Int, _ a: UInt32, _ b: UInt32) -> UInt32? {
        let m = sizeMask(size)
        switch op {
        case 0:
            let r = (a &+ b) & m
            setLazy(.add, size, a, b, r)
            return r
        case 1:
            let r = a | b
            setLazy(.logic, size, 0, 0, r)
            return r
        case 2:
            let c = lazyCF()
            let r = (a &+ b &+ c) & m
            setLazy(c != 0 ? .adc : .add, size, a, b, r)
            return r
        case 3:
            let c = lazyCF()
            let r = (a &- b &- c) & m
            setLazy(c != 0 ? .sbb : .sub, size, a, b, r)
            return r
        case 4:
            let r = a & b
            setLazy(.logic, size, 0, 0, r)
            return r
        case 5:
            let r = (a &- b) & m
            setLazy(.sub, size, a, b, r)
            return r
        case 6:
            let r = a ^ b
            setLazy(.logic, size, 0, 0, r)
            return r
        default:
            setLazy(.sub, size, a, b, (a &- b) & m)
            return nil
        }
    }

    @inline(__always) func inc(_ size: Int, _ a: UInt32) -> UInt32 {
        let r = (a &+ 1) & sizeMask(size)
        setLazyKeepCF(.inc, size, a, r)
        return r
    }

    @inline(__always) func dec(_ size: Int, _ a: UInt32) -> UInt32 {
        let r = (a &- 1) & sizeMask(size)
        setLazyKeepCF(.dec, size, a, r)
        return r
    }

    @inline(__always) func neg(_ size: Int, _ a: UInt32) -> UInt32 {
        let r = (0 &- a) & sizeMask(size)
        setLazy(.sub, size, 0, a, r)
        return r
    }

    // MARK: Multiply and divide

    /// MUL/IMUL with the accumulator (F6/F7 /4 and /5).
    func multiplyAccumulator(_ size: Int, _ src: UInt32, signed: Bool) {
        switch size {
        case 1:
            let al = UInt32(reg8(0))
            let r: UInt32
            let overflow: Bool
            if signed {
                let p = Int32(Int8(bitPattern: UInt8(al))) * Int32(Int8(bitPattern: UInt8(src)))
                r = UInt32(bitPattern: p) & 0xFFFF
                overflow = p != Int32(Int8(truncatingIfNeeded: p))
            } else {
                r = al * src
                overflow = r > 0xFF
            }
            setReg16(0, UInt16(r))
            setResultFlags(1, r, cf: overflow, of: overflow)
        case 2:
            let ax = regs[0] & 0xFFFF
            let r: UInt32
            let overflow: Bool
            if signed {
                let p = Int32(Int16(bitPattern: UInt16(ax))) * Int32(Int16(bitPattern: UInt16(src)))
                r = UInt32(bitPattern: p)
                overflow = p != Int32(Int16(truncatingIfNeeded: p))
            } else {
                r = ax * src
                overflow = r > 0xFFFF
            }
            setReg16(0, UInt16(truncatingIfNeeded: r))
            setReg16(2, UInt16(truncatingIfNeeded: r >> 16))
            setResultFlags(2, r, cf: overflow, of: overflow)
        default:
            let r: UInt64
            let overflow: Bool
            if signed {
                let p = Int64(Int32(bitPattern: regs[0])) * Int64(Int32(bitPattern: src))
                r = UInt64(bitPattern: p)
                overflow = p != Int64(Int32(truncatingIfNeeded: p))
            } else {
                r = UInt64(regs[0]) * UInt64(src)
                overflow = r > 0xFFFF_FFFF
            }
            regs[0] = UInt32(truncatingIfNeeded: r)
            regs[2] = UInt32(truncatingIfNeeded: r >> 32)
            setResultFlags(4, UInt32(truncatingIfNeeded: r), cf: overflow, of: overflow)
        }
    }

    /// Two- and three-operand IMUL: returns the truncated product.
    func imulTruncating(_ size: Int, _ a: UInt32, _ b: UInt32) -> UInt32 {
        if size == 2 {
            let p = Int32(Int16(bitPattern: UInt16(truncatingIfNeeded: a))) * Int32(Int16(bitPattern: UInt16(truncatingIfNeeded: b)))
            let overflow = p != Int32(Int16(truncatingIfNeeded: p))
            let r = UInt32(bitPattern: p) & 0xFFFF
            setResultFlags(2, r, cf: overflow, of: overflow)
            return r
        }
        let p = Int64(Int32(bitPattern: a)) * Int64(Int32(bitPattern: b))
        let overflow = p != Int64(Int32(truncatingIfNeeded: p))
        let r = UInt32(truncatingIfNeeded: p)
        setResultFlags(4, r, cf: overflow, of: overflow)
        return r
    }

    /// DIV/IDIV (F6/F7 /6 and /7). #DE on a zero divisor or a quotient that
    /// does not fit; registers are untouched then.
    func divideAccumulator(_ size: Int, _ src: UInt32, signed: Bool) throws(CPUFault) {
        if src == 0 { throw CPUFault.de }
        switch size {
        case 1:
            let dividend = regs[0] & 0xFFFF
            if signed {
                let n = Int32(Int16(bitPattern: UInt16(dividend)))
                let d = Int32(Int8(bitPattern: UInt8(src)))
                let q = n / d, r = n % d
                if q > 127 || q < -128 { throw CPUFault.de }
                setReg8(0, UInt8(truncatingIfNeeded: q))
                setReg8(4, UInt8(truncatingIfNeeded: r))
            } else {
                let q = dividend / src, r = dividend % src
                if q > 0xFF { throw CPUFault.de }
                setReg8(0, UInt8(q))
                setReg8(4, UInt8(r))
            }
        case 2:
            let dividend = (regs[2] & 0xFFFF) << 16 | (regs[0] & 0xFFFF)
            if signed {
                let n = Int64(Int32(bitPattern: dividend))
                let d = Int64(Int16(bitPattern: UInt16(src)))
                let q = n / d, r = n % d
                if q > 32767 || q < -32768 { throw CPUFault.de }
                setReg16(0, UInt16(truncatingIfNeeded: q))
                setReg16(2, UInt16(truncatingIfNeeded: r))
            } else {
                let q = dividend / src, r = dividend % src
                if q > 0xFFFF { throw CPUFault.de }
                setReg16(0, UInt16(q))
                setReg16(2, UInt16(r))
            }
        default:
            let dividend = UInt64(regs[2]) << 32 | UInt64(regs[0])
            if signed {
                let n = Int64(bitPattern: dividend)
                let d = Int64(Int32(bitPattern: src))
                // INT64_MIN / -1 overflows the host too: it is #DE here anyway.
                if n == Int64.min && d == -1 { throw CPUFault.de }
                let q = n / d, r = n % d
                if q > Int64(Int32.max) || q < Int64(Int32.min) { throw CPUFault.de }
                regs[0] = UInt32(truncatingIfNeeded: q)
                regs[2] = UInt32(truncatingIfNeeded: r)
            } else {
                let q = dividend / UInt64(src), r = dividend % UInt64(src)
                if q > 0xFFFF_FFFF { throw CPUFault.de }
                regs[0] = UInt32(q)
                regs[2] = UInt32(r)
            }
        }
    }

    // MARK: Shifts and rotates (C0/C1/D0-D3)

    /// ROL ROR RCL RCR SHL SHR SAL SAR by `count` (already masked to 5 bits).
    /// A zero count changes nothing, flags included.
    func shiftRotate(_ op: Int, _ size: Int, _ v: UInt32, _ count: UInt32) -> UInt32 {
        if count == 0 { return v }
        let bits = UInt32(size * 8)
        let m = sizeMask(size)
        let sign = signBit(size)
        switch op {
        case 0: // ROL
            let c = count % bits
            let r = c == 0 ? v : ((v << c) | (v >> (bits - c))) & m
            materializeFlags()
            let cf = r & 1 != 0
            setFlag(EFlags.cf, cf)
            setFlag(EFlags.of, (r & sign != 0) != cf)
            return r
        case 1: // ROR
            let c = count % bits
            let r = c == 0 ? v : ((v >> c) | (v << (bits - c))) & m
            materializeFlags()
            setFlag(EFlags.cf, r & sign != 0)
            setFlag(EFlags.of, ((r ^ (r << 1)) & sign) != 0)
            return r
        case 2: // RCL: rotate through a (bits+1)-bit quantity
            let c = count % (bits + 1)
            materializeFlags()
            if c == 0 { return v }
            let wide = UInt64(v) | UInt64(flagBits & EFlags.cf) << UInt64(bits)
            let total = UInt64(bits + 1)
            let rotated = ((wide << UInt64(c)) | (wide >> (total - UInt64(c)))) & ((1 << total) - 1)
            let r = UInt32(truncatingIfNeeded: rotated) & m
            let cf = (rotated >> UInt64(bits)) & 1 != 0
            setFlag(EFlags.cf, cf)
            setFlag(EFlags.of, (r & sign != 0) != cf)
            return r
        case 3: // RCR
            let c = count % (bits + 1)
            materializeFlags()
            if c == 0 { return v }
            let wide = UInt64(v) | UInt64(flagBits & EFlags.cf) << UInt64(bits)
            let total = UInt64(bits + 1)
            let rotated = ((wide >> UInt64(c)) | (wide << (total - UInt64(c)))) & ((1 << total) - 1)
            let r = UInt32(truncatingIfNeeded: rotated) & m
            let cf = (rotated >> UInt64(bits)) & 1 != 0
            // OF (defined for 1-bit rotates) = MSB of input XOR old CF, which
            // is the XOR of the result's two top bits.
            setFlag(EFlags.cf, cf)
            setFlag(EFlags.of, ((r ^ (r << 1)) & sign) != 0)
            return r
        case 4, 6: return shiftLeft(size, v, count)
        case 5: return shiftRightLogical(size, v, count)
        default: return shiftRightArithmetic(size, v, count)
        }
    }

    // SHL, SHR and SAR by a count of 1...31, on their own so the fast forms
    // (ExecuteFast.swift) can inline them with the size known.

    @inline(__always) func shiftLeft(_ size: Int, _ v: UInt32, _ count: UInt32) -> UInt32 {
        let bits = UInt32(size * 8)
        let r: UInt32
        let cf: Bool
        if count <= bits {
            r = UInt32(truncatingIfNeeded: UInt64(v) << UInt64(count)) & sizeMask(size)
            cf = (UInt64(v) >> UInt64(bits - count)) & 1 != 0
        } else {
            r = 0; cf = false
        }
        setResultFlags(size, r, cf: cf, of: (r & signBit(size) != 0) != cf)
        return r
    }

    @inline(__always) func shiftRightLogical(_ size: Int, _ v: UInt32, _ count: UInt32) -> UInt32 {
        let r = count < 32 ? (v >> count) & sizeMask(size) : 0
        let cf = count <= 32 ? (v >> (count - 1)) & 1 != 0 : false
        setResultFlags(size, r, cf: cf, of: v & signBit(size) != 0)
        return r
    }

    @inline(__always) func shiftRightArithmetic(_ size: Int, _ v: UInt32, _ count: UInt32) -> UInt32 {
        let sv = Int32(bitPattern: signExtend(v, size))
        let c = min(count, 31)
        let r = UInt32(bitPattern: sv >> Int32(c)) & sizeMask(size)
        let cf = (sv >> Int32(min(count - 1, 31))) & 1 != 0
        setResultFlags(size, r, cf: cf, of: false)
        return r
    }

    /// SHLD/SHRD of `dst` with bits from `src` by `count` (masked to 5 bits).
    func doubleShift(left: Bool, _ size: Int, _ dst: UInt32, _ src: UInt32, _ count: UInt32) -> UInt32 {
        if count == 0 { return dst }
        let bits = UInt32(size * 8)
        let m = sizeMask(size)
        let sign = signBit(size)
        if size == 2 {
            // 16-bit forms shift through dst:src:dst, which gives the P6's
            // bits for counts above 16 (architecturally undefined).
            let ext = UInt64(dst) << 32 | UInt64(src) << 16 | UInt64(dst)
            let r: UInt32
            let cf: Bool
            if left {
                r = UInt32(truncatingIfNeeded: (ext << UInt64(count)) >> 32) & m
                cf = ((ext << UInt64(count - 1)) >> 47) & 1 != 0
            } else {
                r = UInt32(truncatingIfNeeded: ext >> UInt64(count)) & m
                cf = (ext >> UInt64(count - 1)) & 1 != 0
            }
            setResultFlags(size, r, cf: cf, of: (r ^ dst) & sign != 0)
            return r
        }
        let r: UInt32
        let cf: Bool
        if left {
            let pair = UInt64(dst) << 32 | UInt64(src)
            r = UInt32(truncatingIfNeeded: (pair << UInt64(count)) >> 32)
            cf = (dst >> (bits - count)) & 1 != 0
        } else {
            let pair = UInt64(src) << 32 | UInt64(dst)
            r = UInt32(truncatingIfNeeded: pair >> UInt64(count))
            cf = (dst >> (count - 1)) & 1 != 0
        }
        setResultFlags(size, r, cf: cf, of: (r ^ dst) & sign != 0)
        return r
    }

    // MARK: BCD

    func daa() {
        materializeFlags()
        let al = UInt32(reg8(0))
        let oldCF = flagBits & EFlags.cf != 0
        var r = al
        var cf = false
        var af = false
        if al & 0xF > 9 || flagBits & EFlags.af != 0 {
            r = (r &+ 6) & 0xFF
            cf = oldCF || al > 0xF9
            af = true
        }
        if al > 0x99 || oldCF {
            r = (r &+ 0x60) & 0xFF
            cf = true
        }
        setReg8(0, UInt8(r))
        setResultFlags(1, r, cf: cf, of: false, af: af)
    }

    func das() {
        materializeFlags()
        let al = UInt32(reg8(0))
        let oldCF = flagBits & EFlags.cf != 0
        var r = al
        var cf = false
        var af = false
        if al & 0xF > 9 || flagBits & EFlags.af != 0 {
            r = (r &- 6) & 0xFF
            cf = oldCF || al < 6
            af = true
        }
        if al > 0x99 || oldCF {
            r = (r &- 0x60) & 0xFF
            cf = true
        }
        setReg8(0, UInt8(r))
        setResultFlags(1, r, cf: cf, of: false, af: af)
    }

    func aaa(subtract: Bool) {
        materializeFlags()
        if reg8(0) & 0xF > 9 || flagBits & EFlags.af != 0 {
            let ax = regs[0] & 0xFFFF
            if subtract {
                // AX - 6 borrows into AH, then AH is decremented (SDM AAS).
                let nax = (ax &- 6) & 0xFFFF
                let ah = ((nax >> 8) &- 1) & 0xFF
                setReg16(0, UInt16(ah << 8 | (nax & 0xF)))
            } else {
                let nax = ax &+ 0x106
                setReg16(0, UInt16(truncatingIfNeeded: nax & 0xFF0F))
            }
            flagBits |= EFlags.af | EFlags.cf
        } else {
            setReg8(0, reg8(0) & 0xF)
            flagBits &= ~(EFlags.af | EFlags.cf)
        }
    }

    func aam(_ base: UInt8) throws(CPUFault) {
        if base == 0 { throw CPUFault.de }
        let al = reg8(0)
        let r = al % base
        setReg8(4, al / base)
        setReg8(0, r)
        setResultFlags(1, UInt32(r), cf: false, of: false)
    }

    func aad(_ base: UInt8) {
        let r = (UInt32(reg8(0)) &+ UInt32(reg8(4)) &* UInt32(base)) & 0xFF
        setReg16(0, UInt16(r))
        setResultFlags(1, r, cf: false, of: false)
    }
}
