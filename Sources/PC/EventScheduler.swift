/// The machine's virtual clock and its timer events.
///
/// Time is counted in virtual nanoseconds and derived only from executed
/// instructions (one instruction = one nanosecond, i.e. a 1 GHz guest) plus
/// the time skipped while the CPU halts waiting for the next event. Nothing
/// here reads the host's clock, so the same capsule and the same input give
/// the same event order, bit for bit.
///
/// Devices schedule callbacks at absolute virtual times. Events with the
/// same due time fire in the order they were scheduled (a sequence number
/// breaks ties), which keeps execution deterministic.
public final class EventScheduler {
    public typealias Callback = () -> Void

    /// Identifies a scheduled event so it can be cancelled.
    public struct Token: Hashable { let id: UInt64 }

    struct Event {
        var due: UInt64
        var seq: UInt64
        var callback: Callback
    }

    /// Source of the instruction-derived part of the clock.
    private let instructions: () -> UInt64
    /// Nanoseconds skipped while halted.
    public private(set) var idleTime: UInt64 = 0
    private var events: [UInt64: Event] = [:]
    private var nextSeq: UInt64 = 0

    public init(instructions: @escaping () -> UInt64) {
        self.instructions = instructions
    }

    /// Current virtual time in nanoseconds.
    public var now: UInt64 { instructions() &+ idleTime }

    /// Runs `callback` once virtual time reaches `due`.
    @discardableResult
    public func schedule(at due: UInt64, _ callback: @escaping Callback) -> Token {
        let seq = nextSeq
        nextSeq += 1
        events[seq] = Event(due: due, seq: seq, callback: callback)
        return Token(id: seq)
    }

    @discardableResult
    public func schedule(after delay: UInt64, _ callback: @escaping Callback) -> Token {
        schedule(at: now &+ delay, callback)
    }

    public func cancel(_ token: Token?) {
        if let token { events[token.id] = nil }
    }

    /// Due time of the earliest event, if any.
    public var nextDue: UInt64? { events.values.min { ($0.due, $0.seq) < ($1.due, $1.seq) }?.due }

    /// Fires every event due at or before now, earliest first.
    public func runDue() {
        while true {
            let t = now
            guard let e = events.values.filter({ $0.due <= t }).min(by: { ($0.due, $0.seq) < ($1.due, $1.seq) }) else { return }
            events[e.seq] = nil
            e.callback()
        }
    }

    /// Skips virtual time forward to the next event (the CPU is halted
    /// with interrupts enabled: nothing can happen before it).
    public func skipToNextEvent() -> Bool {
        guard let due = nextDue else { return false }
        let t = now
        if due > t { idleTime &+= due - t }
        return true
    }

    /// Restores the idle component (capsule resume).
    public func restore(idleTime: UInt64) { self.idleTime = idleTime }
}
