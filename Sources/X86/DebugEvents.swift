/// Host debug events: a debugger (not the guest) asks to stop when the
/// processor changes mode, when it delivers an interrupt or exception
/// vector, or (through the debugger's port wrapper) when an I/O port is
/// touched. None of this is on the per-instruction path: mode changes are
/// noticed where the mode caches are recomputed, vectors where they are
/// delivered, and a pending event stops `run` through the same `attention`
/// test every boundary already makes.

/// The processor's operating mode as a teacher names it.
public struct ExecutionMode: Equatable, Sendable, CustomStringConvertible {
    public var protected: Bool
    public var paging: Bool
    public var v86: Bool

    public init(protected: Bool, paging: Bool, v86: Bool) {
        self.protected = protected
        self.paging = paging
        self.v86 = v86
    }

    public var description: String {
        let base = !protected ? "real" : v86 ? "v86" : "protected"
        return paging ? base + "+paging" : base
    }
}

/// Why a host debug event stopped the machine.
public enum HostDebugEvent: Equatable, Sendable {
    /// The instruction that just retired changed the mode.
    case modeChange(from: ExecutionMode, to: ExecutionMode)
    /// A vector was delivered; the CPU stands at the handler's first
    /// instruction. `external` is true for hardware interrupts.
    case vector(UInt8, external: Bool)
    /// An IN/OUT (or string I/O) touched a watched port.
    case ioPort(port: UInt16, width: Int, write: Bool, value: UInt32)
}

extension CPU {
    public var executionMode: ExecutionMode {
        ExecutionMode(protected: protectedMode, paging: pagingEnabled, v86: v86)
    }

    /// SS.B in protected mode: the stack pointer is ESP, not SP.
    public var stackIs32: Bool { stackBig }
    /// CS.D in protected mode: 32-bit code.
    public var codeIs32: Bool { codeBig }

    /// Stop after any instruction that changes real/protected/V86 or paging.
    public var breakOnModeChange: Bool {
        get { breakOnModeChangeFlag }
        set { breakOnModeChangeFlag = newValue }
    }

    /// Stops at the first instruction of the handler whenever `vector` is
    /// delivered (exception, INT n or hardware interrupt).
    public func setVectorBreak(_ vector: UInt8, _ on: Bool) {
        let bit = UInt64(1) << UInt64(vector & 63)
        func update(_ w: inout UInt64) { if on { w |= bit } else { w &= ~bit } }
        switch vector >> 6 {
        case 0: update(&vectorBreakBits.0)
        case 1: update(&vectorBreakBits.1)
        case 2: update(&vectorBreakBits.2)
        default: update(&vectorBreakBits.3)
        }
        vectorBreaksActive = (vectorBreakBits.0 | vectorBreakBits.1 | vectorBreakBits.2 | vectorBreakBits.3) != 0
    }

    public func hasVectorBreak(_ vector: UInt8) -> Bool {
        let w: UInt64
        switch vector >> 6 {
        case 0: w = vectorBreakBits.0
        case 1: w = vectorBreakBits.1
        case 2: w = vectorBreakBits.2
        default: w = vectorBreakBits.3
        }
        return w & (UInt64(1) << UInt64(vector & 63)) != 0
    }

    /// Asks `run` to stop at the next boundary, reporting `event` (used by
    /// the debugger's I/O port watch, which lives outside the CPU).
    public func raiseDebugEvent(_ event: HostDebugEvent) {
        if hostDebugEvent == nil { hostDebugEvent = event }
        debugEventPending = true
    }

    /// The event that stopped `run` (or that is still waiting to, when a
    /// slice ended on the very instruction that raised it); clears it.
    public func takeDebugEvent() -> HostDebugEvent? {
        let e = hostDebugEvent
        hostDebugEvent = nil
        debugEventPending = false
        return e
    }

    /// Forgets any pending event (after a debugger restores a checkpoint).
    public func clearDebugEvent() {
        hostDebugEvent = nil
        debugEventPending = false
    }

    func noteModeChange(from before: ExecutionMode) {
        let after = executionMode
        if after != before { raiseDebugEvent(.modeChange(from: before, to: after)) }
    }

    func noteVector(_ vector: UInt8, external: Bool) {
        if hasVectorBreak(vector) { raiseDebugEvent(.vector(vector, external: external)) }
    }

    /// A pending event ends `run` like a host breakpoint does; the event
    /// itself stays readable through `takeDebugEvent`.
    func debugEventStop() -> RunOutcome {
        debugEventPending = false
        stopRequestedByHost = false
        return .breakpoint
    }
}
