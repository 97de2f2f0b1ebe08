/// x87 instruction decoding and the register-stack semantics around the
/// arithmetic core: stack overflow and underflow, the exception flags and
/// masks, ES/B and #MF/FERR#, the instruction and operand pointers,
/// FSTENV/FLDENV/FSAVE/FRSTOR layouts (SDM vol. 1, ch. 8).
extension CPU {
    static let fpuStackFault: UInt16 = 0x40
    static let fpuErrorSummary: UInt16 = 0x80
    static let fpuBusy: UInt16 = 0x8000

    /// Non-waiting control instructions do not check for pending exceptions
    /// nor update the instruction pointers.
    func isNonWaitingX87(_ op: UInt8, _ modrm: UInt8) -> Bool {
        let reg = (modrm >> 3) & 7
        switch op {
        case 0xD9: return modrm < 0xC0 && (reg == 4 || reg == 5 || reg == 6 || reg == 7)
        case 0xDB: return modrm >= 0xE0 && modrm <= 0xE4
        case 0xDD: return modrm < 0xC0 && (reg == 4 || reg == 6 || reg == 7)
        case 0xDF: return modrm == 0xE0
        default: return false
        }
    }

    func executeX87(_ op: UInt8, _ modrm: UInt8) throws(CPUFault) {
        if !isNonWaitingX87(op, modrm) {
            try reportPendingFPUException()
            fpu.lastIP = instrStart
            fpu.lastCS = segs[CPU.segCS].selector
            fpu.lastOpcode = UInt16(op & 7) << 8 | UInt16(modrm)
            if modrm < 0xC0 {
                fpu.lastDP = eaOff
                fpu.lastDS = segs[eaSeg].selector
            }
        }
        if modrm < 0xC0 { try x87Memory(op, modrm) } else { try x87Register(op, modrm) }
    }

    // MARK: Exceptions and results

    /// Records flags from the core. Returns false when an unmasked
    /// invalid, denormal or divide-by-zero exception means the destination
    /// must not be written (overflow, underflow and precision still write).
    @discardableResult
    func x87Signal(_ f: X87Flags, conditions: UInt16 = 0x0200) -> Bool {
        let exc = f.rawValue & X87Flags.exceptionMask
        fpu.status = (fpu.status & ~conditions) | (f.rawValue & conditions) | exc
        let unmasked = exc & ~fpu.control & 0x3F
        if unmasked != 0 {
            fpu.status |= CPU.fpuErrorSummary | CPU.fpuBusy
            if cr0 & CR0.ne == 0 { onFERR?(true) }
        }
        return unmasked & 0x07 == 0
    }

    /// Stack underflow (an empty source) or overflow (a full destination):
    /// IE with SF, C1 = 1 for overflow. Returns true when the masked
    /// response (write the indefinite) applies.
    func x87StackFault(overflow: Bool) -> Bool {
        fpu.status = (fpu.status & ~0x0200) | CPU.fpuStackFault | (overflow ? 0x0200 : 0)
        return x87Signal(.invalid, conditions: 0)
    }

    /// ST(0) op= source, the common shape of the arithmetic instructions.
    func x87Store(_ i: Int, _ r: X87Result) {
        if x87Signal(r.flags) { fpu.setST(i, r.value) }
    }

    func x87Push(_ v: X87Float) {
        if !fpu.isEmpty(7) {
            if x87StackFault(overflow: true) {
                fpu.top = fpu.top - 1
                fpu.setST(0, .indefinite)
            }
            return
        }
        fpu.top = fpu.top - 1
        fpu.setST(0, v)
    }

    /// Checks that ST(i) (and ST(j)) hold values; on underflow applies the
    /// masked response to `dest` if given and returns false.
    func x87Operands(_ i: Int, _ j: Int = 0, dest: Int? = nil) -> Bool {
        if fpu.isEmpty(i) || fpu.isEmpty(j) {
            if x87StackFault(overflow: false), let d = dest { fpu.setST(d, .indefinite) }
            return false
        }
        return true
    }

    // MARK: Memory forms

    func x87Memory(_ op: UInt8, _ modrm: UInt8) throws(CPUFault) {
        let reg = Int((modrm >> 3) & 7)
        let cw = fpu.control
        switch op {
        case 0xD8, 0xDC, 0xDA, 0xDE:
            let src: X87MemOperand
            switch op {
            case 0xD8: src = .float32(try read32(eaSeg, eaOff))
            case 0xDC: src = .float64(try read64(eaSeg, eaOff))
            case 0xDA: src = .int32(Int32(bitPattern: try read32(eaSeg, eaOff)))
            default: src = .int16(Int16(bitPattern: try read16(eaSeg, eaOff)))
            }
            if reg == 2 || reg == 3 {
                if x87Operands(0) {
                    let c = X87.compare(fpu.st(0), src)
                    x87Signal(c.flags.union(c.relation.conditionFlags), conditions: 0x4700)
                } else {
                    fpu.status |= 0x4500
                }
                if reg == 3 { fpu.pop() }
                return
            }
            guard x87Operands(0, dest: 0) else { return }
            x87Store(0, X87.arithmetic(CPU.x87ArithOps[reg], fpu.st(0), src, cw: cw))
        case 0xD9:
            switch reg {
            case 0: try x87Load(X87.fromFloat32(try read32(eaSeg, eaOff)))
            case 2, 3:
                let lin = try linearForWrite(eaSeg, eaOff, 4)
                if try x87StoreMemory(pop: reg == 3, { X87.toFloat32($0, cw: cw) }, { (b: UInt64) throws(CPUFault) in try self.writeLin32(lin, UInt32(truncatingIfNeeded: b), self.tlbUserOffset) }) {}
            case 4:
                let saved = fpu
                do { try x87LoadEnvironment() } catch {
                    fpu = saved
                    throw error
                }
            case 5: fpu.control = try read16(eaSeg, eaOff) | 0x40; x87RecheckPending()
            case 6:
                try x87StoreEnvironment()
                fpu.control |= 0x3F
            case 7: try write16(eaSeg, eaOff, fpu.control)
            default: throw CPUFault.ud
            }
        case 0xDB:
            switch reg {
            case 0: try x87Load(X87Result(X87.fromInt64(Int64(Int32(bitPattern: try read32(eaSeg, eaOff))))))
            case 2, 3:
                let lin = try linearForWrite(eaSeg, eaOff, 4)
                _ = try x87StoreMemory(pop: reg == 3, { X87.toInteger($0, width: 32, cw: cw) }, { (b: UInt64) throws(CPUFault) in try self.writeLin32(lin, UInt32(truncatingIfNeeded: b), self.tlbUserOffset) })
            case 5:
                let lo = try read64(eaSeg, eaOff)
                let hi = try read16(eaSeg, eaOff &+ 8)
                try x87Load(X87Result(X87Float(signExp: hi, significand: lo)))
            case 7:
                _ = try linearForWrite(eaSeg, eaOff, 10)
                if fpu.isEmpty(0) {
                    guard x87StackFault(overflow: false) else { return }
                    try write64(eaSeg, eaOff, X87Float.indefinite.significand)
                    try write16(eaSeg, eaOff &+ 8, X87Float.indefinite.signExp)
                } else {
                    let v = fpu.st(0)
                    try write64(eaSeg, eaOff, v.significand)
                    try write16(eaSeg, eaOff &+ 8, v.signExp)
                }
                fpu.pop()
            default: throw CPUFault.ud
            }
        case 0xDD:
            switch reg {
            case 0: try x87Load(X87.fromFloat64(try read64(eaSeg, eaOff)))
            case 2, 3:
                _ = try linearForWrite(eaSeg, eaOff, 8)
                let seg = eaSeg, off = eaOff
                _ = try x87StoreMemory(pop: reg == 3, { X87.toFloat64($0, cw: cw) }, { (b: UInt64) throws(CPUFault) in try self.write64(seg, off, b) })
            case 4:
                // FRSTOR is all or nothing: a fault part-way leaves the x87 as it was.
                let saved = fpu
                do {
                    try x87LoadEnvironment()
                    try x87LoadRegisters(at: eaOff &+ UInt32(x87EnvironmentSize))
                } catch {
                    fpu = saved
                    throw error
                }
            case 6:
                try x87StoreEnvironment()
                try x87StoreRegisters(at: eaOff &+ UInt32(x87EnvironmentSize))
                fpu.initialize()
            case 7: try write16(eaSeg, eaOff, fpu.status)
            default: throw CPUFault.ud
            }
        default: // 0xDF
            switch reg {
            case 0: try x87Load(X87Result(X87.fromInt64(Int64(Int16(bitPattern: try read16(eaSeg, eaOff))))))
            case 2, 3:
                let lin = try linearForWrite(eaSeg, eaOff, 2)
                _ = try x87StoreMemory(pop: reg == 3, { X87.toInteger($0, width: 16, cw: cw) }, { (b: UInt64) throws(CPUFault) in try self.writeLin16(lin, UInt16(truncatingIfNeeded: b), self.tlbUserOffset) })
            case 4:
                let lo = try read64(eaSeg, eaOff)
                let hi = try read16(eaSeg, eaOff &+ 8)
                try x87Load(X87Result(X87.fromBCD(low: lo, high: hi)))
            case 5: try x87Load(X87Result(X87.fromInt64(Int64(bitPattern: try read64(eaSeg, eaOff)))))
            case 6:
                _ = try linearForWrite(eaSeg, eaOff, 10)
                if fpu.isEmpty(0) {
                    guard x87StackFault(overflow: false) else { return }
                    try write64(eaSeg, eaOff, 0xC000_0000_0000_0000)
                    try write16(eaSeg, eaOff &+ 8, 0xFFFF)
                } else {
                    let r = X87.toBCD(fpu.st(0), cw: cw)
                    guard x87Signal(r.flags) else { return }
                    try write64(eaSeg, eaOff, r.low)
                    try write16(eaSeg, eaOff &+ 8, r.high)
                }
                fpu.pop()
            case 7:
                _ = try linearForWrite(eaSeg, eaOff, 8)
                let seg = eaSeg, off = eaOff
                _ = try x87StoreMemory(pop: true, { X87.toInteger($0, width: 64, cw: cw) }, { (b: UInt64) throws(CPUFault) in try self.write64(seg, off, b) })
            default: throw CPUFault.ud
            }
        }
    }

    static let x87ArithOps: [X87ArithOp] = [.add, .mul, .add, .add, .sub, .subr, .div, .divr]

    /// FLD from memory (the value is already converted).
    func x87Load(_ r: X87Result) throws(CPUFault) {
        guard x87Signal(r.flags) else { return }
        x87Push(r.value)
    }

    /// FST/FIST/FSTP/FISTP to memory: convert ST(0), write unless an
    /// unmasked exception forbids it, pop if asked.
    func x87StoreMemory(pop: Bool, _ convert: (X87Float) -> X87StoreResult, _ write: (UInt64) throws(CPUFault) -> Void) throws(CPUFault) -> Bool {
        if fpu.isEmpty(0) {
            guard x87StackFault(overflow: false) else { return false }
            // The masked response stores the indefinite of the format.
            try write(convert(.indefinite).bits)
            if pop { fpu.pop() }
            return true
        }
        let r = convert(fpu.st(0))
        let ok = x87Signal(r.flags)
        // Unmasked overflow/underflow on a store to memory leaves memory unchanged.
        let unmasked = r.flags.rawValue & ~fpu.control & 0x3F
        guard ok, unmasked & 0x18 == 0 else { return false }
        try write(r.bits)
        if pop { fpu.pop() }
        return true
    }

    func x87RecheckPending() {
        // FLDCW unmasking a pending exception sets ES (reported at the next waiting instruction).
        if fpu.status & 0x3F & ~fpu.control != 0 {
            fpu.status |= CPU.fpuErrorSummary | CPU.fpuBusy
            if cr0 & CR0.ne == 0 { onFERR?(true) }
        } else {
            fpu.status &= ~(CPU.fpuErrorSummary | CPU.fpuBusy)
        }
    }

    // MARK: Register forms

    func x87Register(_ op: UInt8, _ modrm: UInt8) throws(CPUFault) {
        let reg = Int((modrm >> 3) & 7)
        let i = Int(modrm & 7)
        let cw = fpu.control
        switch (op, reg) {
        case (0xD8, 2), (0xD8, 3), (0xDC, 2), (0xDC, 3), (0xDE, 2):
            x87Compare(i, unordered: false, pops: reg == 3 || op == 0xDE ? 1 : 0)
        case (0xDE, 3):
            guard modrm == 0xD9 else { throw CPUFault.ud }
            x87Compare(1, unordered: false, pops: 2)
        case (0xD8, _):
            guard x87Operands(0, i, dest: 0) else { return }
            x87Store(0, X87.arithmetic(CPU.x87ArithOps[reg], fpu.st(0), fpu.st(i), cw: cw))
        case (0xDC, _), (0xDE, _):
            // ST(i) = ST(i) op ST(0); the sub/div encodings are swapped here.
            let ops: [X87ArithOp] = [.add, .mul, .add, .add, .subr, .sub, .divr, .div]
            guard x87Operands(0, i, dest: i) else {
                if op == 0xDE { fpu.pop() }
                return
            }
            x87Store(i, X87.arithmetic(ops[reg], fpu.st(i), fpu.st(0), cw: cw))
            if op == 0xDE { fpu.pop() }
        case (0xD9, 0):
            if fpu.isEmpty(i) {
                if x87StackFault(overflow: false) { x87Push(.indefinite) }
                return
            }
            x87Push(fpu.st(i))
        case (0xD9, 1), (0xDD, 1), (0xDF, 1):
            x87Exchange(i)
        case (0xD9, 2):
            guard modrm == 0xD0 else { throw CPUFault.ud } // FNOP
        case (0xD9, 3), (0xDD, 3), (0xDF, 2), (0xDF, 3), (0xDD, 2):
            // FSTP ST(i) (and its undocumented aliases), FST ST(i).
            let pop = !(op == 0xDD && reg == 2)
            if fpu.isEmpty(0) {
                guard x87StackFault(overflow: false) else { return }
                fpu.setST(i, .indefinite)
            } else {
                fpu.setST(i, fpu.st(0))
            }
            if pop { fpu.pop() }
        case (0xD9, 4):
            try x87Group4(modrm)
        case (0xD9, 5):
            let c: [X87Constant?] = [.one, .log2of10, .log2ofE, .pi, .log10of2, .lnOf2, .zero, nil]
            guard let k = c[i] else { throw CPUFault.ud }
            x87Push(X87.constant(k, cw: cw))
        case (0xD9, 6), (0xD9, 7):
            try x87Transcendental(modrm)
        case (0xDA, 5):
            guard modrm == 0xE9 else { throw CPUFault.ud }
            x87Compare(1, unordered: true, pops: 2)
        case (0xDA, 0...3), (0xDB, 0...3):
            guard x87Operands(i, 0, dest: nil) else { return }
            let conds: [Bool] = [lazyCF() != 0, lazyZF(), lazyCF() != 0 || lazyZF(), lazyPF()]
            let move = op == 0xDA ? conds[reg] : !conds[reg]
            if move { fpu.setST(0, fpu.st(i)) }
        case (0xDB, 4):
            switch modrm {
            case 0xE0, 0xE1, 0xE4: break
            case 0xE2: fpu.status &= 0x7F00 // FNCLEX: exception flags, SF, ES, B
            case 0xE3: fpu.initialize()
            default: throw CPUFault.ud
            }
        case (0xDB, 5), (0xDB, 6), (0xDF, 5), (0xDF, 6):
            x87CompareToFlags(i, unordered: reg == 5, pop: op == 0xDF)
        case (0xDD, 0):
            fpu.free(i)
        case (0xDF, 0):
            fpu.free(i) // FFREEP: free and pop
            fpu.top = fpu.top + 1
        case (0xDD, 4), (0xDD, 5):
            x87Compare(i, unordered: true, pops: reg == 5 ? 1 : 0)
        case (0xDF, 4):
            guard modrm == 0xE0 else { throw CPUFault.ud }
            setReg16(0, fpu.status)
        default:
            throw CPUFault.ud
        }
    }

    func x87Exchange(_ i: Int) {
        if fpu.isEmpty(0) || fpu.isEmpty(i) {
            guard x87StackFault(overflow: false) else { return }
            let a = fpu.isEmpty(0) ? X87Float.indefinite : fpu.st(0)
            let b = fpu.isEmpty(i) ? X87Float.indefinite : fpu.st(i)
            fpu.setST(0, b); fpu.setST(i, a)
            return
        }
        let t = fpu.st(0)
        fpu.setST(0, fpu.st(i))
        fpu.setST(i, t)
        fpu.status &= ~0x0200
    }

    /// FCOM/FUCOM family: C3 C2 C0 from the relation, then pop 0–2 times.
    func x87Compare(_ i: Int, unordered: Bool, pops: Int) {
        if x87Operands(0, i) {
            let c = X87.compare(fpu.st(0), fpu.st(i), unordered: unordered)
            x87Signal(c.flags.union(c.relation.conditionFlags), conditions: 0x4700)
        } else {
            fpu.status |= 0x4500
        }
        for _ in 0..<pops { fpu.pop() }
    }

    /// FCOMI/FUCOMI(P): ZF PF CF; OF SF AF cleared.
    func x87CompareToFlags(_ i: Int, unordered: Bool, pop: Bool) {
        materializeFlags()
        flagBits &= ~(EFlags.zf | EFlags.pf | EFlags.cf | EFlags.of | EFlags.sf | EFlags.af)
        if x87Operands(0, i) {
            let c = X87.compare(fpu.st(0), fpu.st(i), unordered: unordered)
            // EFLAGS are written even with IE or DE unmasked (checked on hardware).
            x87Signal(c.flags, conditions: 0x0200)
            flagBits |= c.relation.eflags
        } else {
            flagBits |= EFlags.zf | EFlags.pf | EFlags.cf
        }
        if pop { fpu.pop() }
    }

    /// D9 E0–E7: FCHS FABS FTST FXAM.
    func x87Group4(_ modrm: UInt8) throws(CPUFault) {
        switch modrm {
        case 0xE0, 0xE1:
            guard x87Operands(0, dest: 0) else { return }
            fpu.setST(0, modrm == 0xE0 ? fpu.st(0).negated : fpu.st(0).absoluteValue)
            fpu.status &= ~0x0200
        case 0xE4:
            if x87Operands(0) {
                let c = X87.test(fpu.st(0))
                x87Signal(c.flags.union(c.relation.conditionFlags), conditions: 0x4700)
            } else {
                fpu.status |= 0x4500
            }
        case 0xE5:
            let f = fpu.isEmpty(0) ? X87.examineEmpty(sign: fpu.st(0).sign) : X87.examine(fpu.st(0))
            fpu.status = (fpu.status & ~0x4700) | (f.rawValue & 0x4700)
        default:
            throw CPUFault.ud
        }
    }

    /// D9 F0–FF.
    func x87Transcendental(_ modrm: UInt8) throws(CPUFault) {
        let cw = fpu.control
        switch modrm {
        case 0xF0: // F2XM1
            guard x87Operands(0, dest: 0) else { return }
            x87Store(0, X87.f2xm1(fpu.st(0), cw: cw))
        case 0xF1, 0xF3, 0xF9: // FYL2X, FPATAN, FYL2XP1: ST(1) = f(ST(1), ST(0)), pop
            guard x87Operands(0, 1, dest: 1) else { fpu.pop(); return }
            let y = fpu.st(1), x = fpu.st(0)
            let r = modrm == 0xF1 ? X87.yl2x(y, x, cw: cw) : (modrm == 0xF3 ? X87.patan(y, x, cw: cw) : X87.yl2xp1(y, x, cw: cw))
            if x87Signal(r.flags) {
                fpu.setST(1, r.value)
                fpu.pop()
            }
        case 0xF2: // FPTAN
            guard x87Operands(0, dest: 0) else { return }
            let r = X87.ptan(fpu.st(0), cw: cw)
            if r.flags.contains(.c2) { fpu.status |= 0x0400; return }
            if !fpu.isEmpty(7) { _ = x87StackFault(overflow: true); return }
            if x87Signal(r.flags, conditions: 0x0600) {
                fpu.setST(0, r.tan)
                x87Push(r.push)
            }
        case 0xF4: // FXTRACT
            guard x87Operands(0, dest: 0) else { return }
            if !fpu.isEmpty(7) { _ = x87StackFault(overflow: true); return }
            let r = X87.extract(fpu.st(0), cw: cw)
            if x87Signal(r.flags) {
                fpu.setST(0, r.exponent)
                x87Push(r.significand)
            }
        case 0xF5, 0xF8: // FPREM1, FPREM
            guard x87Operands(0, 1, dest: 0) else { return }
            let r = X87.partialRemainder(fpu.st(0), fpu.st(1), ieee: modrm == 0xF5, cw: cw)
            if x87Signal(r.flags, conditions: 0x4700) { fpu.setST(0, r.value) }
        case 0xF6: fpu.top = fpu.top - 1; fpu.status &= ~0x0200
        case 0xF7: fpu.top = fpu.top + 1; fpu.status &= ~0x0200
        case 0xFA:
            guard x87Operands(0, dest: 0) else { return }
            x87Store(0, X87.sqrt(fpu.st(0), cw: cw))
        case 0xFB: // FSINCOS
            guard x87Operands(0, dest: 0) else { return }
            let r = X87.sincos(fpu.st(0), cw: cw)
            if r.flags.contains(.c2) { fpu.status |= 0x0400; return }
            if !fpu.isEmpty(7) { _ = x87StackFault(overflow: true); return }
            if x87Signal(r.flags, conditions: 0x0600) {
                fpu.setST(0, r.sin)
                x87Push(r.cos)
            }
        case 0xFC:
            guard x87Operands(0, dest: 0) else { return }
            x87Store(0, X87.roundToInteger(fpu.st(0), cw: cw))
        case 0xFD:
            guard x87Operands(0, 1, dest: 0) else { return }
            x87Store(0, X87.scale(fpu.st(0), fpu.st(1), cw: cw))
        case 0xFE, 0xFF:
            guard x87Operands(0, dest: 0) else { return }
            let r = modrm == 0xFE ? X87.sin(fpu.st(0), cw: cw) : X87.cos(fpu.st(0), cw: cw)
            if x87Signal(r.flags, conditions: 0x0600) && !r.flags.contains(.c2) { fpu.setST(0, r.value) }
        default:
            throw CPUFault.ud
        }
    }

    // MARK: Environment and state images

    /// 14 bytes with a 16-bit operand size, 28 with 32-bit.
    var x87EnvironmentSize: Int { opsize32 ? 28 : 14 }

    func x87StoreEnvironment() throws(CPUFault) {
        let seg = eaSeg, off = eaOff
        let tag = fpu.architecturalTag
        let realLayout = !protectedMode || v86
        if opsize32 {
            var words: [UInt32] = [UInt32(fpu.control) | 0xFFFF_0000, UInt32(fpu.status) | 0xFFFF_0000, UInt32(tag) | 0xFFFF_0000]
            if realLayout {
                let ip = fpu.lastIP &+ (UInt32(fpu.lastCS) << 4)
                let dp = fpu.lastDP &+ (UInt32(fpu.lastDS) << 4)
                words += [ip & 0xFFFF | 0xFFFF_0000, (ip >> 16) << 12 | UInt32(fpu.lastOpcode & 0x7FF),
                          dp & 0xFFFF | 0xFFFF_0000, (dp >> 16) << 12]
            } else {
                words += [fpu.lastIP, UInt32(fpu.lastCS) | UInt32(fpu.lastOpcode & 0x7FF) << 16,
                          fpu.lastDP, UInt32(fpu.lastDS) | 0xFFFF_0000]
            }
            _ = try linearForWrite(seg, off, 28)
            for (k, w) in words.enumerated() { try write32(seg, off &+ UInt32(k * 4), w) }
        } else {
            var words: [UInt16] = [fpu.control, fpu.status, tag]
            if realLayout {
                let ip = fpu.lastIP &+ (UInt32(fpu.lastCS) << 4)
                let dp = fpu.lastDP &+ (UInt32(fpu.lastDS) << 4)
                words += [UInt16(truncatingIfNeeded: ip), UInt16(truncatingIfNeeded: (ip >> 16) << 12) | (fpu.lastOpcode & 0x7FF),
                          UInt16(truncatingIfNeeded: dp), UInt16(truncatingIfNeeded: (dp >> 16) << 12)]
            } else {
                words += [UInt16(truncatingIfNeeded: fpu.lastIP), fpu.lastCS, UInt16(truncatingIfNeeded: fpu.lastDP), fpu.lastDS]
            }
            _ = try linearForWrite(seg, off, 14)
            for (k, w) in words.enumerated() { try write16(seg, off &+ UInt32(k * 2), w) }
        }
    }

    func x87LoadEnvironment() throws(CPUFault) {
        let seg = eaSeg, off = eaOff
        let realLayout = !protectedMode || v86
        var f = [UInt32](repeating: 0, count: 7)
        if opsize32 {
            for k in 0..<7 { f[k] = try read32(seg, off &+ UInt32(k * 4)) }
        } else {
            for k in 0..<7 { f[k] = UInt32(try read16(seg, off &+ UInt32(k * 2))) }
        }
        fpu.control = UInt16(truncatingIfNeeded: f[0]) | 0x40
        fpu.status = UInt16(truncatingIfNeeded: f[1])
        // Only "empty" is taken from the tag word; other tags are derived.
        let t = UInt16(truncatingIfNeeded: f[2])
        var tag: UInt16 = 0
        for p in 0..<8 where (t >> UInt16(p * 2)) & 3 == 3 { tag |= 3 << UInt16(p * 2) }
        fpu.tag = tag
        if realLayout {
            let hiShift: UInt32 = opsize32 ? 12 : 12
            fpu.lastIP = (f[3] & 0xFFFF) | ((f[4] >> hiShift) << 16)
            fpu.lastOpcode = UInt16(f[4] & 0x7FF)
            fpu.lastDP = (f[5] & 0xFFFF) | ((f[6] >> hiShift) << 16)
            fpu.lastCS = 0; fpu.lastDS = 0
        } else {
            fpu.lastIP = f[3]
            fpu.lastCS = UInt16(truncatingIfNeeded: f[4])
            fpu.lastOpcode = opsize32 ? UInt16((f[4] >> 16) & 0x7FF) : 0
            fpu.lastDP = f[5]
            fpu.lastDS = UInt16(truncatingIfNeeded: f[6])
        }
        x87RecheckPending()
    }

    func x87StoreRegisters(at start: UInt32) throws(CPUFault) {
        _ = try linearForWrite(eaSeg, start, 80)
        for i in 0..<8 {
            let v = fpu.st(i)
            let a = start &+ UInt32(i * 10)
            try write64(eaSeg, a, v.significand)
            try write16(eaSeg, a &+ 8, v.signExp)
        }
    }

    func x87LoadRegisters(at start: UInt32) throws(CPUFault) {
        var vals = [X87Float]()
        for i in 0..<8 {
            let a = start &+ UInt32(i * 10)
            vals.append(X87Float(signExp: try read16(eaSeg, a &+ 8), significand: try read64(eaSeg, a)))
        }
        for i in 0..<8 { fpu.registers[fpu.physical(i)] = vals[i] }
    }

    // MARK: 64-bit memory helpers

    func read64(_ seg: Int, _ off: UInt32) throws(CPUFault) -> UInt64 {
        _ = try linearForRead(seg, off, 8)
        let lo = try read32(seg, off)
        let hi = try read32(seg, off &+ 4)
        return UInt64(hi) << 32 | UInt64(lo)
    }

    func write64(_ seg: Int, _ off: UInt32, _ v: UInt64) throws(CPUFault) {
        let lin = try linearForWrite(seg, off, 8)
        try probeWrite(lin, 8)
        try write32(seg, off, UInt32(truncatingIfNeeded: v))
        try write32(seg, off &+ 4, UInt32(truncatingIfNeeded: v >> 32))
    }
}
