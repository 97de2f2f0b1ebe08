/// The execution loop: instruction boundaries are where external
/// interrupts, single-step traps, debug-register breakpoints and the
/// caller's limits are checked.
extension CPU {
    /// Runs up to `maxInstructions` instructions.
    public func run(maxInstructions: Int) -> RunOutcome {
        runLoop(limit: maxInstructions, stopEIP: nil)
    }

    /// Runs until EIP equals `stopEIP` at an instruction boundary (test harnesses).
    public func run(until stopEIP: UInt32, maxInstructions: Int) -> RunOutcome {
        runLoop(limit: maxInstructions, stopEIP: stopEIP)
    }

    /// Executes exactly one instruction (or delivers one pending interrupt),
    /// as a debugger's single step does.
    @discardableResult
    public func step() -> RunOutcome {
        runLoop(limit: 1, stopEIP: nil)
    }

    func runLoop(limit: Int, stopEIP: UInt32?) -> RunOutcome {
        sliceRemaining = limit
        // A stop address is rare (test harnesses): it raises `attention`
        // rather than costing a compare on every instruction.
        stopAtEIP = stopEIP
        defer { stopAtEIP = nil }
        while sliceRemaining > 0 {
            sliceRemaining &-= 1
            if attention {
                if let outcome = boundaryWork() { return outcome }
                // `codeBreakpointsActive` is part of `attention`.
                if codeBreakpointsActive, flagBits & EFlags.rf == 0, let hit = instructionBreakpointHit() {
                    instrStart = eip
                    dr[6] = (dr[6] & ~0xF) | hit
                    if let outcome = fault(CPUFault(.debug)) { return outcome }
                    continue
                }
            }
            let debugFlags = flagBits & (EFlags.tf | EFlags.rf)
            do {
                try executeOne()
            } catch {
                if let outcome = fault(error) { return outcome }
                continue
            }
            instructionCount &+= 1
            if debugFlags == 0 && !postAttention { continue }
            // RF suppresses instruction breakpoints for one instruction; IRET
            // may set it for the next, so only a flag already set is cleared.
            if debugFlags & EFlags.rf != 0 { flagBits &= ~EFlags.rf }
            if let w = watchpointHit {
                watchpointHit = nil
                pendingDataBreakpoints = 0
                return .watchpoint(address: w)
            }
            if debugShadow {
                // After MOV SS / POP SS the trap comes after the next instruction.
                debugShadow = false
                continue
            }
            let trapFlag = debugFlags & EFlags.tf
            if trapFlag != 0 || pendingDataBreakpoints != 0 || taskSwitchTrap {
                if let outcome = debugTrap(singleStep: trapFlag != 0) { return outcome }
            }
        }
        return .instructionLimit
    }

    /// The rare work at an instruction boundary: the stop address, shutdown,
    /// stop requests, interrupts, halt, host breakpoints. Returns an outcome to stop `run`.
    func boundaryWork() -> RunOutcome? {
        if let stop = stopAtEIP, eip == stop { return .reachedEIP }
        if shutdownRequested { return .shutdown }
        if stopRequested {
            stopRequested = false
            return .breakpoint
        }
        if debugEventPending { return debugEventStop() }
        if !interruptShadow && (intrLine || nmiPending) {
            if serviceInterrupt(), stopOnException, let e = lastException {
                return .exception(vector: e.vector, errorCode: e.hasErrorCode ? e.errorCode : nil)
            }
            if debugEventPending { return debugEventStop() }
        }
        if halted { return .halted }
        if !hostBreakpoints.isEmpty {
            if skipBreakpointOnce {
                skipBreakpointOnce = false
            } else if hostBreakpoints.contains(segs[CPU.segCS].base &+ eip) {
                stopRequestedByHost = false
                return .breakpoint
            }
        }
        if interruptShadow { interruptShadow = false }
        return nil
    }

    /// Restores the faulting instruction's EIP and delivers (or reports) the fault.
    func fault(_ f: CPUFault) -> RunOutcome? {
        eip = instrStart
        pendingDataBreakpoints = 0
        watchpointHit = nil
        lastException = f
        if stopOnException {
            return .exception(vector: f.vector, errorCode: f.hasErrorCode ? f.errorCode : nil)
        }
        if f.vector == CPUFault.Vector.debug.rawValue { materializeFlags() }
        raiseException(f)
        return shutdownRequested ? .shutdown : nil
    }

    /// Single-step and data-breakpoint #DB after an instruction (a trap:
    /// the saved EIP is the next instruction).
    func debugTrap(singleStep: Bool) -> RunOutcome? {
        var bits = pendingDataBreakpoints
        pendingDataBreakpoints = 0
        if singleStep { bits |= 0x4000 }
        if taskSwitchTrap { bits |= 0x8000 }
        taskSwitchTrap = false
        dr[6] = (dr[6] & ~0xC00F) | bits
        let f = CPUFault(.debug)
        lastException = f
        if stopOnException { return .exception(vector: 1, errorCode: nil) }
        raiseException(f)
        return shutdownRequested ? .shutdown : nil
    }

    /// Takes an NMI or a maskable interrupt if one can be taken now.
    /// Returns true when something was delivered.
    func serviceInterrupt() -> Bool {
        if nmiPending {
            nmiPending = false
            halted = false
            do { try deliver(2, errorCode: nil, source: .external) } catch { raiseException(error) }
            return true
        }
        guard intrLine, flagBits & EFlags.if != 0, let pic = interruptController else { return false }
        let vector = pic.acknowledgeInterrupt()
        halted = false
        do { try deliver(vector, errorCode: nil, source: .external) } catch { raiseException(error) }
        return true
    }

    // MARK: Debug registers

    /// Recomputes which kinds of breakpoints DR7 enables.
    func updateBreakpointState() {
        var code = false, data = false
        for i in 0..<4 where dr[7] & (3 << (i * 2)) != 0 {
            let rw = (dr[7] >> (16 + i * 4)) & 3
            if rw == 0 { code = true } else if rw != 2 { data = true }
        }
        if !hostWatchpoints.isEmpty { data = true }
        var io = false
        if cr4 & CR4.de != 0 {
            for i in 0..<4 where dr[7] & (3 << (i * 2)) != 0 && (dr[7] >> (16 + i * 4)) & 3 == 2 { io = true }
        }
        ioBreakpointsActive = io
        codeBreakpointsActive = code
        if data != dataBreakpointsActive || data {
            dataBreakpointsActive = data
            flushTLB(includingGlobal: true)
        }
    }

    /// DR6 B0–B3 bits of enabled execute breakpoints at CS:EIP.
    func instructionBreakpointHit() -> UInt32? {
        let lin = segs[CPU.segCS].base &+ eip
        var hit: UInt32 = 0
        for i in 0..<4 where dr[7] & (3 << (i * 2)) != 0 {
            if (dr[7] >> (16 + i * 4)) & 3 == 0 && dr[i] == lin { hit |= 1 << UInt32(i) }
        }
        return hit == 0 ? nil : hit
    }

    /// Notes data breakpoints matched by an access (slow path only: pages
    /// holding a watched address are never given TLB entries).
    func noteDataAccess(_ lin: UInt32, _ width: Int, write: Bool) {
        if !hostWatchpoints.isEmpty { noteHostWatch(lin, width, write: write) }
        for i in 0..<4 where dr[7] & (3 << (i * 2)) != 0 {
            let rw = (dr[7] >> (16 + i * 4)) & 3
            if rw == 0 || rw == 2 { continue }
            if rw == 1 && !write { continue }
            let len = UInt32([1, 2, 8, 4][Int((dr[7] >> (18 + i * 4)) & 3)])
            let start = dr[i] & ~(len - 1)
            if lin <= start &+ len &- 1 && start <= lin &+ UInt32(width - 1) {
                pendingDataBreakpoints |= 1 << UInt32(i)
            }
        }
    }

    /// I/O breakpoints (DR7 R/W = 10 with CR4.DE): a trap after the
    /// instruction, like data breakpoints.
    func noteIOAccess(_ port: UInt16, _ width: Int) {
        for i in 0..<4 where dr[7] & (3 << (i * 2)) != 0 && (dr[7] >> (16 + i * 4)) & 3 == 2 {
            let len = UInt32([1, 2, 8, 4][Int((dr[7] >> (18 + i * 4)) & 3)])
            let start = (dr[i] & 0xFFFF) & ~(len - 1)
            let p = UInt32(port)
            if p <= start + len - 1 && start <= p + UInt32(width - 1) { pendingDataBreakpoints |= 1 << UInt32(i) }
        }
    }

    func pageHasDataBreakpoint(_ lin: UInt32) -> Bool {
        let page = lin & 0xFFFF_F000
        for w in hostWatchpoints {
            let first = w.address & 0xFFFF_F000
            let last = (w.address &+ w.length &- 1) & 0xFFFF_F000
            if first <= last ? (page >= first && page <= last) : (page >= first || page <= last) { return true }
        }
        for i in 0..<4 where dr[7] & (3 << (i * 2)) != 0 {
            let rw = (dr[7] >> (16 + i * 4)) & 3
            if rw == 1 || rw == 3, dr[i] & 0xFFFF_F000 == lin & 0xFFFF_F000 { return true }
        }
        return false
    }
}
