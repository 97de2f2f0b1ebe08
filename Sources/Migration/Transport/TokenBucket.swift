/// A token bucket in bytes: `rate` bytes per second flow in up to
/// `capacity`; sending n bytes takes n tokens. Tokens may go negative (a
/// debt), and the answer is then the time at which the debt is paid off,
/// so a caller asking for more than `capacity` still gets the exact rate.
/// Pure arithmetic on a time the caller supplies: testable without clocks.
public struct TokenBucket: Sendable, Equatable {
    public let rate: Double
    public let capacity: Double
    public private(set) var tokens: Double
    public private(set) var time: Double

    /// Starts full at time `now` (seconds).
    public init(rate: Double, capacity: Double, now: Double) {
        precondition(rate > 0 && capacity > 0)
        self.rate = rate
        self.capacity = capacity
        self.tokens = capacity
        self.time = now
    }

    /// Takes `bytes` tokens at `now`; returns the time at which those bytes
    /// may leave (`now` when there were enough tokens).
    public mutating func reserve(_ bytes: Int, at now: Double) -> Double {
        if now > time {
            tokens = min(capacity, tokens + (now - time) * rate)
            time = now
        }
        tokens -= Double(bytes)
        return tokens >= 0 ? time : time + -tokens / rate
    }
}

/// When a send starts a burst, and so waits the one-way latency first.
///
/// Bytes handed to a link with delay L arrive L later; the sender is not
/// held up. A sender that is sending continuously has already paid L once,
/// so back-to-back sends wait nothing more; after an idle gap g the pipe
/// has drained by g, so the next send waits min(L, g). A send that follows
/// a receive answers the peer: the conversation turned around, and it waits
/// the full L (the reverse path is not delayed, so one protocol turn costs
/// one latency).
public struct BurstLatency: Sendable, Equatable {
    public let latency: Double
    /// When the previous send finished; nil before the first.
    public private(set) var lastSendEnd: Double?
    public private(set) var turnedAround = false

    public init(latency: Double) { self.latency = latency }

    /// Seconds the send starting at `now` waits before its first byte.
    public func delay(at now: Double) -> Double {
        guard let last = lastSendEnd, !turnedAround else { return latency }
        return min(latency, max(0, now - last))
    }

    public mutating func sendFinished(at now: Double) {
        lastSendEnd = now
        turnedAround = false
    }

    public mutating func received() { turnedAround = true }
}
