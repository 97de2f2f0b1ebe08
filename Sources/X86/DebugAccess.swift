/// What a debugger (the GDB stub, `capsule debug`) needs from the CPU:
/// side-effect-free memory inspection, host-side breakpoints and
/// watchpoints that the guest cannot see, and register access.
///
/// Host breakpoints are separate from the guest's DR0–DR7: a guest that
/// uses its own debug registers is not disturbed by a debugger.
public struct Watchpoint: Hashable {
    public enum Kind: Hashable { case write, read, access }
    public var address: UInt32
    public var length: UInt32
    public var kind: Kind
    public init(address: UInt32, length: UInt32, kind: Kind) {
        self.address = address
        self.length = max(1, length)
        self.kind = kind
    }
}

extension CPU {
    /// Translates a linear address without touching accessed/dirty bits or
    /// CR2; nil when the page is not mapped for a supervisor read.
    public func debugTranslate(_ lin: UInt32) -> UInt32? {
        if !pagingEnabled { return lin & a20Mask }
        let pde = memory.read(((cr3 & 0xFFFF_F000) | ((lin >> 20) & 0xFFC)) & a20Mask, width: 4)
        if pde & 1 == 0 { return nil }
        if pde & 0x80 != 0, cr4 & CR4.pse != 0 { return ((pde & 0xFFC0_0000) | (lin & 0x003F_FFFF)) & a20Mask }
        let pte = memory.read(((pde & 0xFFFF_F000) | ((lin >> 10) & 0xFFC)) & a20Mask, width: 4)
        if pte & 1 == 0 { return nil }
        return ((pte & 0xFFFF_F000) | (lin & 0xFFF)) & a20Mask
    }

    /// Reads guest memory at a linear address; nil if any page is unmapped.
    public func debugRead(linear: UInt32, count: Int) -> [UInt8]? {
        var out = [UInt8]()
        out.reserveCapacity(count)
        for i in 0..<count {
            guard let p = debugTranslate(linear &+ UInt32(i)) else { return nil }
            out.append(memory.kind(ofPage: p >> 12) == .mmio ? 0xFF : memory.read8(p))
        }
        return out
    }

    /// Writes guest memory at a linear address (ROM and MMIO are skipped);
    /// false if any page is unmapped.
    @discardableResult
    public func debugWrite(linear: UInt32, bytes: [UInt8]) -> Bool {
        var phys = [UInt32]()
        for i in 0..<bytes.count {
            guard let p = debugTranslate(linear &+ UInt32(i)) else { return false }
            phys.append(p)
        }
        for (p, b) in zip(phys, bytes) where memory.kind(ofPage: p >> 12) == .ram { memory.write8(p, b) }
        return true
    }

    /// The linear address of CS:EIP.
    public var linearPC: UInt32 { segs[CPU.segCS].base &+ eip }

    /// Sets a control register as MOV CRn would, with its side effects.
    public func setControlRegister(_ n: Int, _ value: UInt32) {
        switch n {
        case 0: try? writeCR0(value)
        case 2: cr2 = value
        case 3:
            cr3 = value & 0xFFFF_F018
            flushTLB(includingGlobal: false)
        case 4:
            cr4 = value & CR4.supported
            flushTLB(includingGlobal: true)
        default: break
        }
    }

    /// Loads a segment register from the debugger: real/V86 mode computes
    /// the base; protected mode reads the descriptor (no privilege checks).
    public func setSegmentSelector(_ index: Int, _ sel: UInt16) {
        guard (0..<6).contains(index) else { return }
        if !protectedMode || v86 {
            loadRealModeSegment(index, sel)
        } else if sel & 0xFFFC == 0 {
            if index != CPU.segCS && index != CPU.segSS { segs[index] = Segment.unusable(selector: sel) }
        } else if let d = try? readDescriptor(sel) {
            segs[index] = d.segment(selector: sel)
        }
        updateModeCaches()
    }

    public func setEflagsForDebugger(_ v: UInt32) { setFlagsRaw(v) }

    // MARK: Host breakpoints and watchpoints

    public func addBreakpoint(linear: UInt32) { hostBreakpoints.insert(linear) }
    public func removeBreakpoint(linear: UInt32) { hostBreakpoints.remove(linear) }
    public var breakpoints: Set<UInt32> { hostBreakpoints }

    public var watchpoints: [Watchpoint] { hostWatchpoints }

    public func addWatchpoint(_ w: Watchpoint) {
        hostWatchpoints.append(w)
        updateBreakpointState()
    }

    public func removeWatchpoint(_ w: Watchpoint) {
        hostWatchpoints.removeAll { $0 == w }
        updateBreakpointState()
    }

    /// Matches an access against the debugger's watchpoints.
    func noteHostWatch(_ lin: UInt32, _ width: Int, write: Bool) {
        for w in hostWatchpoints {
            if w.kind == .write && !write { continue }
            if w.kind == .read && write { continue }
            if lin <= w.address &+ w.length &- 1 && w.address <= lin &+ UInt32(width - 1) {
                watchpointHit = w.address
                lastWatchpointHit = w
            }
        }
    }
}

extension CPU {
    /// Sets GDTR and IDTR directly (boot loaders that start the CPU in
    /// protected mode, and capsule restore).
    public func loadDescriptorTables(gdtBase: UInt32, gdtLimit: UInt32, idtBase: UInt32, idtLimit: UInt32) {
        gdtrBase = gdtBase; gdtrLimit = gdtLimit
        idtrBase = idtBase; idtrLimit = idtLimit
    }
}

extension CPU {
    /// Virtual time that passed while halted still advances the TSC.
    public func addIdleTime(_ ticks: UInt64) { tscOffset &+= ticks &* tscPerInstruction }

    /// Asks `run` to return at the next instruction boundary (from a signal
    /// handler's flag, a console escape, a debugger's Ctrl-C).
    public func requestStop() {
        stopRequested = true
        stopRequestedByHost = true
    }
}

extension CPU {
    /// The A20 gate (port 0x92 / i8042 output port): when off, physical
    /// address bit 20 is forced to zero, as on an 8086 wrapping at 1 MiB.
    public func setA20(_ enabled: Bool) {
        let mask: UInt32 = enabled ? 0xFFFF_FFFF : 0xFFEF_FFFF
        if mask != a20Mask {
            a20Mask = mask
            flushTLB(includingGlobal: true)
        }
    }

    public var a20Enabled: Bool { a20Mask == 0xFFFF_FFFF }
}

extension CPU {
    /// EIP of the instruction being executed (differs from `eip` while an
    /// instruction is being decoded): what a crash report should name.
    public var currentInstructionStart: UInt32 { instrStart }
}
