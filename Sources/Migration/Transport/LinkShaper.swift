#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// The shaper's notion of time, injectable so tests run on a fake clock.
public protocol ShaperClock: AnyObject {
    /// Seconds on a monotonic scale.
    func now() -> Double
    /// Returns once `now() >= time`.
    func sleep(until time: Double)
}

/// Real time: CLOCK_MONOTONIC and nanosleep.
public final class MonotonicShaperClock: ShaperClock, @unchecked Sendable {
    public init() {}
    public func now() -> Double { SocketIO.monotonicNow() }
    public func sleep(until time: Double) {
        while true {
            let left = time - now()
            if left <= 0 { return }
            var ts = timespec(tv_sec: Int(left), tv_nsec: Int((left - Double(Int(left))) * 1e9))
            _ = nanosleep(&ts, nil)
        }
    }
}

/// `--bandwidth RATE --latency DELAY` for experiments: a MigrationChannel
/// that wraps another (plain TCP or TLS over the real socket) and paces
/// what it sends.
///
/// Bandwidth: a token bucket (TokenBucket) over the bytes given to the
/// inner channel's `send` — application bytes, so TLS record overhead and
/// TCP/IP headers ride on top (a few percent; `tc` on a veth counts them).
/// Sends are cut into chunks of at most the bucket's burst so the stream
/// leaves at an even pace rather than in large bursts.
///
/// Latency: a one-way delay added to each send burst (BurstLatency).
/// Receives pass straight through; the reverse direction is neither
/// delayed nor rate-limited. For a faithful round trip, the benchmark's
/// network-namespace run with `tc netem` on both directions is the
/// reference; this wrapper is for quick loopback experiments.
public final class LinkShaper: MigrationChannel, @unchecked Sendable {
    public let inner: MigrationChannel
    /// nil: unlimited (latency only).
    public let bitsPerSecond: Double?
    public let latency: Double
    /// Bytes the bucket holds when full: the largest burst at line rate.
    public let burst: Int
    /// Application bytes handed to the inner channel so far.
    public private(set) var bytesSent = 0
    /// Seconds spent waiting for tokens or latency so far.
    public private(set) var secondsWaited = 0.0

    private let clock: ShaperClock
    private var bucket: TokenBucket?
    private var bursts: BurstLatency
    /// Guards `bursts`, which the receiving thread touches too.
    private let lock = NSLock()

    /// The default burst: 5 ms at line rate, at least one Ethernet frame.
    public static func defaultBurst(bitsPerSecond: Double) -> Int {
        max(1514, Int(bitsPerSecond / 8 * 0.005))
    }

    public init(wrapping inner: MigrationChannel, bitsPerSecond: Double?, latency: Double = 0,
                burst: Int? = nil, clock: ShaperClock = MonotonicShaperClock()) {
        precondition(bitsPerSecond.map { $0 > 0 } ?? true && latency >= 0)
        self.inner = inner
        self.bitsPerSecond = bitsPerSecond
        self.latency = latency
        self.clock = clock
        self.burst = max(1, burst ?? bitsPerSecond.map(Self.defaultBurst) ?? 64 << 10)
        self.bursts = BurstLatency(latency: latency)
        if let b = bitsPerSecond {
            bucket = TokenBucket(rate: b / 8, capacity: Double(self.burst), now: clock.now())
        }
    }

    public var peerDescription: String { inner.peerDescription }

    public func send(_ bytes: UnsafeRawBufferPointer) throws(ChannelError) {
        guard !bytes.isEmpty else { return }
        let start = clock.now()
        lock.lock()
        let delay = bursts.delay(at: start)
        lock.unlock()
        if delay > 0 { wait(until: start + delay) }
        var done = 0
        while done < bytes.count {
            let n = min(burst, bytes.count - done)
            if bucket != nil {
                let at = bucket!.reserve(n, at: clock.now())
                wait(until: at)
            }
            try inner.send(UnsafeRawBufferPointer(rebasing: bytes[done..<done + n]))
            done += n
            bytesSent += n
        }
        let end = clock.now()
        lock.lock()
        bursts.sendFinished(at: end)
        lock.unlock()
    }

    public func receive(into buffer: UnsafeMutableRawBufferPointer) throws(ChannelError) {
        try inner.receive(into: buffer)
        lock.lock()
        bursts.received()
        lock.unlock()
    }

    public func close() { inner.close() }

    private func wait(until t: Double) {
        let now = clock.now()
        guard t > now else { return }
        secondsWaited += t - now
        clock.sleep(until: t)
    }
}
