import PC
import X86

/// The engine behind `capsule debug`: stop conditions, run control and
/// reverse execution for a whole PC. It drives the machine only through
/// `Machine.run(instructions:)`, so devices and timers advance exactly as
/// in `capsule run`, and every forward movement goes through the reverse
/// engine (when there is one) so history can be re-run.
public final class MachineDebugger {
    public let machine: Machine
    public var cpu: CPU { machine.cpu }
    public let ports: PortWatch
    public let reverse: ReverseEngine?
    /// Polled between slices of a continue: true to stop (Ctrl-C, a key).
    public var shouldInterrupt: (() -> Bool)?
    /// Called after every instruction while a trace is on.
    public var trace: InstructionTrace?
    /// Instructions per `Machine.run` call while continuing.
    public var sliceSize: UInt64 = 1 << 20

    public private(set) var breakpoints: [DebugBreakpoint] = []
    private var nextID = 1
    /// Linear addresses currently installed for physical breakpoints.
    private var physicalAliases = Set<UInt32>()

    /// Why the machine last stopped.
    public enum Stop: Equatable {
        case stepped
        case breakpoint(Int)
        case watchpoint(Int, address: UInt32, previousEIP: UInt32)
        case event(Int, HostDebugEvent)
        case interrupted
        case halted(String)
        case limit
        case reachedAddress
        case reverseBegin
    }

    public init(machine: Machine, reverse: ReverseEngine?) {
        self.machine = machine
        self.reverse = reverse
        ports = PortWatch(cpu: machine.cpu)
        machine.cpu.io = ports
        reverse?.onReplay = { [ports] on in ports.active = !on }
    }

    /// Takes the port watch out again (the machine runs on without us).
    public func detach() {
        for b in breakpoints { uninstall(b) }
        breakpoints = []
        cpu.io = ports.inner
        reverse?.returnDirtyPages()
    }

    // MARK: Breakpoints

    @discardableResult
    public func add(_ kind: DebugBreakpoint.Kind, condition: DebugBreakpoint.Condition? = nil) -> DebugBreakpoint {
        let b = DebugBreakpoint(id: nextID, kind: kind, condition: condition)
        nextID += 1
        breakpoints.append(b)
        install(b)
        return b
    }

    public func delete(id: Int) -> Bool {
        guard let i = breakpoints.firstIndex(where: { $0.id == id }) else { return false }
        let b = breakpoints.remove(at: i)
        uninstall(b)
        return true
    }

    private func install(_ b: DebugBreakpoint) {
        switch b.kind {
        case .linear(let a): cpu.addBreakpoint(linear: a)
        case .physical: refreshPhysicalAliases()
        case .ioPort(let p): ports.ports.insert(p)
        case .vector(let v): cpu.setVectorBreak(v, true)
        case .modeChange: cpu.breakOnModeChange = true
        case .watch(let w): cpu.addWatchpoint(w)
        }
    }

    private func uninstall(_ b: DebugBreakpoint) {
        let others = breakpoints.filter { $0.id != b.id }.map(\.kind)
        switch b.kind {
        case .linear(let a): if !others.contains(.linear(a)) && !physicalAliases.contains(a) { cpu.removeBreakpoint(linear: a) }
        case .physical: refreshPhysicalAliases()
        case .ioPort(let p): if !others.contains(.ioPort(p)) { ports.ports.remove(p) }
        case .vector(let v): if !others.contains(.vector(v)) { cpu.setVectorBreak(v, false) }
        case .modeChange: cpu.breakOnModeChange = others.contains(.modeChange)
        case .watch(let w): if !others.contains(.watch(w)) { cpu.removeWatchpoint(w) }
        }
    }

    private var linearBreakpoints: Set<UInt32> {
        Set(breakpoints.compactMap { if case .linear(let a) = $0.kind { return a } else { return nil } })
    }

    private var physicalBreakpoints: Set<UInt32> {
        Set(breakpoints.compactMap { if case .physical(let a) = $0.kind { return a } else { return nil } })
    }

    /// Physical breakpoints become host breakpoints on every linear address
    /// that maps to them now (re-read at each resume; a hit is checked
    /// against the translation of that moment).
    private func refreshPhysicalAliases() {
        let wanted = physicalBreakpoints.isEmpty ? [] : PageTables(cpu: cpu).linearAliases(of: physicalBreakpoints)
        let keep = linearBreakpoints
        for a in physicalAliases.subtracting(wanted) where !keep.contains(a) { cpu.removeBreakpoint(linear: a) }
        for a in wanted.subtracting(physicalAliases) { cpu.addBreakpoint(linear: a) }
        physicalAliases = wanted
    }

    // MARK: Running

    private func runForward(_ n: UInt64) -> Machine.StopReason {
        if let reverse { return reverse.forward { machine.run(instructions: n) } }
        return machine.run(instructions: n)
    }

    /// Executes up to `count` instructions; stops early at a breakpoint,
    /// watchpoint or event (the one at the starting PC is stepped over).
    public func step(_ count: UInt64 = 1) -> Stop {
        resumeFromBreakpoint()
        let target = cpu.instructionCount &+ count
        if trace != nil {
            // One at a time: the trace sees every instruction.
            while cpu.instructionCount < target {
                let pc = cpu.linearPC
                trace?.record(self)
                if let stop = classify(runForward(1), previousEIP: pc, stepping: true), stop != .stepped { return stop }
                if cpu.instructionCount < target, let s = interruptStop() { return s }
            }
            return .stepped
        }
        while cpu.instructionCount < target {
            let before = cpu.instructionCount
            let pc = cpu.linearPC
            if let stop = classify(runForward(target - cpu.instructionCount), previousEIP: pc, stepping: true), stop != .stepped {
                return stop
            }
            if cpu.instructionCount == before { return .halted("no progress") }
        }
        return .stepped
    }

    /// Runs until a stop condition, an interrupt, or `limit` instructions.
    public func continueRunning(limit: UInt64 = UInt64.max) -> Stop {
        resumeFromBreakpoint()
        refreshPhysicalAliases()
        let start = cpu.instructionCount
        while true {
            let done = cpu.instructionCount &- start
            if done >= limit { return .limit }
            if trace != nil {
                let pc = cpu.linearPC
                trace?.record(self)
                if let stop = classify(runForward(1), previousEIP: pc, stepping: false) { return stop }
                if (cpu.instructionCount & 0xFFF) == 0, let s = interruptStop() { return s }
                continue
            }
            let pc = cpu.linearPC
            if let stop = classify(runForward(min(sliceSize, limit - done)), previousEIP: pc, stepping: false) { return stop }
            if let s = interruptStop() { return s }
        }
    }

    /// Runs to the linear address `address` (or another stop).
    public func runTo(linear address: UInt32, limit: UInt64 = UInt64.max) -> Stop {
        let had = cpu.breakpoints.contains(address)
        if !had { cpu.addBreakpoint(linear: address) }
        defer { if !had { cpu.removeBreakpoint(linear: address) } }
        let stop = continueRunning(limit: limit)
        if case .breakpoint = stop, cpu.linearPC == address, !linearBreakpoints.contains(address) { return .reachedAddress }
        if stop == .halted("unknown breakpoint"), cpu.linearPC == address { return .reachedAddress }
        return stop
    }

    /// Steps one instruction, but runs a CALL (or INT n) to its return and
    /// a REP string instruction to its end. The call is recognised by what
    /// it did — the return address it pushed points just past the
    /// instruction — so any call-like instruction is covered.
    public func next() -> Stop {
        let cs = cpu.segment(1)
        let startEIP = cpu.eip
        let startSP = stackPointer
        let stop = step(1)
        guard stop == .stepped else { return stop }
        // A REP string instruction stays at its EIP until its count runs out.
        if cpu.eip == startEIP && cpu.segment(1).selector == cs.selector {
            // Run at full speed to the instruction after it (its length from
            // the CPU's decoder); a jump to itself has no "after" and steps.
            let bytes = InstructionText.bytes(cpu, cs.base &+ startEIP)
            let (r, d) = InstructionText.decoder.decode(bytes, code32: cpu.codeIs32)
            guard r == .ok, d.repPrefix != 0 else { return .stepped }
            let s = runTo(linear: cs.base &+ startEIP &+ UInt32(d.length))
            return s == .reachedAddress ? .stepped : s
        }
        let size: UInt32 = stackIs32 ? 4 : 2
        let sp = stackPointer
        guard sp &+ size <= startSP, startSP &- sp <= 6 * size,
              let ret = readStack(at: sp, size: size) else { return .stepped }
        let length = ret &- startEIP
        guard (2...15).contains(length), cpu.eip != ret || cpu.segment(1).selector != cs.selector else { return .stepped }
        let target = cs.base &+ ret
        while true {
            let s = runTo(linear: target)
            guard s == .reachedAddress else { return s }
            // A recursive call reaches the same address deeper in the stack.
            if stackPointer >= startSP || stackPointer < sp { return .stepped }
        }
    }

    private var stackIs32: Bool { cpu.stackIs32 }
    private var stackPointer: UInt32 { stackIs32 ? cpu.gpr(4) : cpu.gpr(4) & 0xFFFF }

    private func readStack(at sp: UInt32, size: UInt32) -> UInt32? {
        guard let b = cpu.debugRead(linear: cpu.segment(2).base &+ sp, count: Int(size)) else { return nil }
        return b.enumerated().reduce(0) { $0 | UInt32($1.element) << (8 * UInt32($1.offset)) }
    }

    private func resumeFromBreakpoint() {
        cpu.skipBreakpointOnce = cpu.breakpoints.contains(cpu.linearPC)
    }

    private func interruptStop() -> Stop? {
        if let f = shouldInterrupt, f() { return .interrupted }
        return nil
    }

    /// What a run outcome means; nil to keep going.
    /// The watch breakpoints a watchpoint stop at `address` belongs to: the
    /// one the CPU says it hit, or (without that) those on the address.
    private func watchBreakpoints(hit: Watchpoint?, address: UInt32) -> [DebugBreakpoint] {
        breakpoints.filter { b in
            guard case .watch(let w) = b.kind else { return false }
            return hit.map { $0 == w } ?? (w.address == address)
        }
    }

    private func classify(_ reason: Machine.StopReason, previousEIP: UInt32, stepping: Bool) -> Stop? {
        if let e = cpu.takeDebugEvent() { return .event(eventBreakpointID(e), e) }
        switch reason {
        case .instructionLimit:
            return stepping ? .stepped : nil
        case .breakpoint:
            let pc = cpu.linearPC
            let phys = cpu.debugTranslate(pc)
            let candidates = breakpoints.filter { $0.kind == .linear(pc) || (phys != nil && $0.kind == .physical(phys!)) }
            if let b = candidates.first(where: { $0.condition?.holds(cpu) ?? true }) { return .breakpoint(b.id) }
            if !candidates.isEmpty || physicalAliases.contains(pc) {
                // A condition that does not hold, or a physical alias whose
                // mapping changed since it was read: not a hit, run on.
                cpu.skipBreakpointOnce = true
                return stepping ? .stepped : nil
            }
            return .halted("unknown breakpoint")
        case .watchpoint(let a):
            let id = watchBreakpoints(hit: cpu.lastWatchpointHit, address: a).first?.id ?? 0
            // The instruction that made the access is the one that just retired.
            return .watchpoint(id, address: a, previousEIP: cpu.segment(1).base &+ cpu.currentInstructionStart)
        case .stopRequested:
            return .interrupted
        case .haltedWithInterruptsDisabled:
            return .halted("halted with interrupts disabled")
        case .haltedForever:
            return .halted("halted with nothing left to wake the CPU")
        case .shutdown:
            return .halted("triple fault (shutdown)")
        }
    }

    private func eventBreakpointID(_ e: HostDebugEvent) -> Int {
        let kind: DebugBreakpoint.Kind
        switch e {
        case .modeChange: kind = .modeChange
        case .vector(let v, _): kind = .vector(v)
        case .ioPort(let p, let width, _, _):
            let hit = breakpoints.first { b in
                if case .ioPort(let q) = b.kind { return q >= p && UInt32(q) < UInt32(p) + UInt32(width) }
                return false
            }
            return hit?.id ?? 0
        }
        return breakpoints.first { $0.kind == kind }?.id ?? 0
    }

    // MARK: Reverse

    /// Goes back `count` instructions (stops at the start of history).
    public func reverseStep(_ count: UInt64 = 1) throws -> Stop {
        guard let reverse else { throw DebuggerError("reverse execution is off for this machine") }
        guard let first = reverse.earliest else { return .reverseBegin }
        let now = cpu.instructionCount
        let target = now >= first &+ count ? now - count : first
        reverse.travel(to: target)
        return target == first && now - first < count ? .reverseBegin : .stepped
    }

    /// Goes back to the latest earlier stop at a linear or physical
    /// breakpoint, or to just before the latest earlier instruction that
    /// triggered a watchpoint (conditions are honoured for both).
    public func reverseContinue() throws -> Stop {
        guard let reverse else { throw DebuggerError("reverse execution is off for this machine") }
        refreshPhysicalAliases()
        let all = linearBreakpoints.union(physicalAliases)
        let stops = breakpoints
        let watches = stops.compactMap { b -> Watchpoint? in if case .watch(let w) = b.kind { return w } else { return nil } }
        var watchID = 0 // of the latest accepted watch hit: the one returned if it is a watch
        let hit = reverse.lastHit(before: cpu.instructionCount, breakpoints: all, watchpoints: watches) { [cpu] stop in
            switch stop {
            case .breakpoint:
                let pc = cpu.linearPC
                let phys = cpu.debugTranslate(pc)
                return stops.contains { b in
                    (b.kind == .linear(pc) || (phys != nil && b.kind == .physical(phys!))) && (b.condition?.holds(cpu) ?? true)
                }
            case .watchpoint(let a):
                guard let b = self.watchBreakpoints(hit: cpu.lastWatchpointHit, address: a).first(where: { $0.condition?.holds(cpu) ?? true }) else { return false }
                watchID = b.id
                return true
            case .historyBegin:
                return false
            }
        }
        guard let hit else {
            if let first = reverse.earliest { reverse.travel(to: first) }
            return .reverseBegin
        }
        reverse.travelToHit(hit, breakpoints: all)
        if case .watchpoint(let a) = hit.stop {
            // Standing before the accessing instruction: it is the next one.
            return .watchpoint(watchID, address: a, previousEIP: cpu.linearPC)
        }
        return classify(.breakpoint, previousEIP: cpu.linearPC, stepping: true) ?? .stepped
    }

    // MARK: Host input

    /// Types `bytes` into COM1 (recorded so re-execution queues it again).
    public func typeSerial(_ bytes: [UInt8]) {
        reverse?.noteInputQueued(serial: bytes)
        machine.queueSerialInput(bytes)
    }

    /// The user changed registers or memory: history's future is void.
    public func stateEdited() { reverse?.forgetFuture() }
}

public struct DebuggerError: Error, CustomStringConvertible {
    public let description: String
    public init(_ d: String) { description = d }
}
