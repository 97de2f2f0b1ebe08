@testable import Migration
import XCTest

/// A clock that only moves when the shaper sleeps: the arithmetic of the
/// shaper is checked exactly, with no real time involved.
final class FakeShaperClock: ShaperClock {
    var time: Double
    init(_ t: Double = 100) { time = t }
    func now() -> Double { time }
    func sleep(until t: Double) { time = max(time, t) }
}

/// The inner channel for the fake-clock tests: records when each chunk
/// was handed on (the real-socket case is testShaperOverRealSocket...).
final class ShaperRecordingChannel: MigrationChannel {
    let clock: FakeShaperClock
    var sends: [(time: Double, bytes: [UInt8])] = []
    var incoming: [UInt8] = []
    init(_ clock: FakeShaperClock) { self.clock = clock }
    func send(_ bytes: UnsafeRawBufferPointer) throws(ChannelError) { sends.append((clock.time, [UInt8](bytes))) }
    func receive(into buffer: UnsafeMutableRawBufferPointer) throws(ChannelError) {
        guard incoming.count >= buffer.count else { throw .closed("no more test input") }
        buffer.copyBytes(from: incoming.prefix(buffer.count))
        incoming.removeFirst(buffer.count)
    }
    func close() {}
    var peerDescription: String { "recording" }
}

final class LinkShaperTests: XCTestCase {
    func testBandwidthParsingFollowsTcUnits() throws {
        XCTAssertEqual(try LinkRate.parseBandwidth("384kbit"), 384_000)
        XCTAssertEqual(try LinkRate.parseBandwidth("384Kbit"), 384_000)
        XCTAssertEqual(try LinkRate.parseBandwidth("1.5mbit"), 1_500_000)
        XCTAssertEqual(try LinkRate.parseBandwidth("48kbps"), 384_000, "kbps is kilobytes per second, as in tc")
        XCTAssertEqual(try LinkRate.parseBandwidth("1mibit"), 1_048_576)
        XCTAssertEqual(try LinkRate.parseBandwidth("2gbit"), 2e9)
        XCTAssertEqual(try LinkRate.parseBandwidth("100bps"), 800)
        for bad in ["384", "kbit", "384kbits", "-3kbit", "1.2.3mbit", "", "1e3kbit", ".5mbit", "0kbit", "384 kbit"] {
            XCTAssertThrowsError(try LinkRate.parseBandwidth(bad), bad) { e in
                XCTAssertTrue("\(e)".contains("--bandwidth"), "\(e)")
            }
        }
        XCTAssertEqual(LinkRate.describe(bitsPerSecond: 384_000), "384 kbit/s")
    }

    func testLatencyParsing() throws {
        XCTAssertEqual(try LinkRate.parseLatency("20ms"), 0.02, accuracy: 1e-12)
        XCTAssertEqual(try LinkRate.parseLatency("1.5s"), 1.5)
        XCTAssertEqual(try LinkRate.parseLatency("250us"), 0.00025, accuracy: 1e-12)
        XCTAssertEqual(try LinkRate.parseLatency("0"), 0)
        for bad in ["20", "20m", "ms", "61s", "-1ms"] {
            XCTAssertThrowsError(try LinkRate.parseLatency(bad), bad)
        }
    }

    func testTokenBucketPacesAtTheRateAfterTheBurst() {
        // 1000 B/s, 100 B burst, starting full at t = 10.
        var b = TokenBucket(rate: 1000, capacity: 100, now: 10)
        XCTAssertEqual(b.reserve(100, at: 10), 10, "a full bucket sends at once")
        XCTAssertEqual(b.reserve(100, at: 10), 10.1, accuracy: 1e-9, "the next 100 B wait 0.1 s")
        XCTAssertEqual(b.reserve(50, at: 10.1), 10.15, accuracy: 1e-9)
        // Idle for a long time refills only up to capacity.
        XCTAssertEqual(b.reserve(100, at: 20), 20)
        XCTAssertEqual(b.reserve(1, at: 20), 20.001, accuracy: 1e-9)
        // A request larger than the bucket gets exactly the rate too.
        var c = TokenBucket(rate: 1000, capacity: 100, now: 0)
        XCTAssertEqual(c.reserve(1100, at: 0), 1.0, accuracy: 1e-9)
    }

    func testBurstLatencyRules() {
        var l = BurstLatency(latency: 0.02)
        XCTAssertEqual(l.delay(at: 5), 0.02, "first send")
        l.sendFinished(at: 5)
        XCTAssertEqual(l.delay(at: 5), 0, "back to back: the pipe is still full")
        XCTAssertEqual(l.delay(at: 5.005), 0.005, accuracy: 1e-12, "a short gap")
        XCTAssertEqual(l.delay(at: 9), 0.02, "idle longer than the latency")
        l.received()
        XCTAssertEqual(l.delay(at: 5), 0.02, "answering the peer starts a burst")
        l.sendFinished(at: 6)
        XCTAssertEqual(l.delay(at: 6), 0)
    }

    func testShaperTakesTheTimeTheRateDemands() throws {
        let clock = FakeShaperClock(100)
        let inner = ShaperRecordingChannel(clock)
        // 384 kbit/s = 48000 B/s, burst 1514 B, latency 20 ms.
        let shaper = LinkShaper(wrapping: inner, bitsPerSecond: 384_000, latency: 0.02, clock: clock)
        XCTAssertEqual(shaper.burst, 1514)
        var r = TLSTestBytes(seed: 7)
        let data = r.bytes(480_000)
        try shaper.send(data)
        // 20 ms latency, then the first burst at once, the rest at 48000 B/s.
        let expected = 100 + 0.02 + Double(480_000 - 1514) / 48_000
        XCTAssertEqual(clock.time, expected, accuracy: 1e-6)
        XCTAssertEqual(inner.sends.flatMap(\.bytes), data, "the bytes pass unchanged")
        XCTAssertTrue(inner.sends.allSatisfy { $0.bytes.count <= 1514 })
        XCTAssertEqual(inner.sends.first?.time ?? 0, 100.02, accuracy: 1e-9)
        // Chunk k leaves when the bucket has refilled for it: even pacing.
        for (k, s) in inner.sends.enumerated().dropFirst() {
            let sentBefore = inner.sends[..<k].reduce(0) { $0 + $1.bytes.count }
            let due = 100.02 + Double(sentBefore + s.bytes.count - 1514) / 48_000
            XCTAssertEqual(s.time, max(100.02, due), accuracy: 1e-6, "chunk \(k)")
        }
        XCTAssertEqual(shaper.bytesSent, 480_000)
        XCTAssertEqual(shaper.secondsWaited, expected - 100, accuracy: 1e-6)

        // Back to back: no second latency; after a reply: one latency.
        let t0 = clock.time
        try shaper.send([1])
        XCTAssertEqual(clock.time, t0 + 1.0 / 48_000, accuracy: 1e-9)
        inner.incoming = [42]
        XCTAssertEqual(try shaper.receive(count: 1), [42])
        let t1 = clock.time
        try shaper.send([2])
        // (the 20 ms refilled the bucket, so the byte needs no tokens wait)
        XCTAssertEqual(inner.sends.last!.time, t1 + 0.02, accuracy: 1e-9)
    }

    func testLatencyOnlyShaper() throws {
        let clock = FakeShaperClock(0)
        let inner = ShaperRecordingChannel(clock)
        let shaper = LinkShaper(wrapping: inner, bitsPerSecond: nil, latency: 0.5, clock: clock)
        try shaper.send([UInt8](repeating: 1, count: 200_000))
        XCTAssertEqual(clock.time, 0.5)
        XCTAssertEqual(inner.sends.reduce(0) { $0 + $1.bytes.count }, 200_000)
    }

    /// The shaper over a real TLS connection on loopback: data integrity
    /// only (timing is for benchmarks, not for a test on a loaded machine).
    func testShaperOverRealSocketKeepsTheBytes() throws {
        let key = try PresharedKey.generate()
        let (c, s) = try tlsHandshake(client: try TLSContext(role: .client, authentication: .presharedKey(key)),
                                      server: try TLSContext(role: .server, authentication: .presharedKey(key)))
        let client = LinkShaper(wrapping: try c.get(), bitsPerSecond: try LinkRate.parseBandwidth("400mbit"),
                                latency: try LinkRate.parseLatency("1ms"))
        let server = try s.get()
        var r = TLSTestBytes(seed: 9)
        let data = r.bytes(3 << 20 + 17)
        let sender = TLSTestThread { try client.send(data) }
        XCTAssertTrue(try server.receive(count: data.count) == data)
        try sender.wait().get()
        try server.send([5, 6])
        XCTAssertEqual(try client.receive(count: 2), [5, 6])
        XCTAssertEqual(client.bytesSent, data.count)
        client.close()
        XCTAssertThrowsError(try server.receive(count: 1))
    }
}
