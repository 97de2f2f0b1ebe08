import Capsule
import Foundation
@testable import Migration
import XCTest

/// The hooks demand paging builds on: a receiver-side request for one
/// block overtakes the stream, and the sender can stream recently used
/// pages first.
final class DemandHookTests: XCTestCase {
    func testRecentlyUsedPagesStreamFirst() throws {
        let dir = temporaryDirectory(self)
        let home = try Store(root: dir + "/home")
        let server = try LoopbackServer(store: dir + "/away")
        defer { server.stop() }
        try makeCapsule(self, store: home, name: "web")
        let m = try home.manifest(of: "web").manifest
        let hot = Array(m.memory.pages.keys.sorted().suffix(5).reversed())
        let recorder = BlockOrderRecorder()
        let mig = migrator(home, to: server.address) { ch in recorder.wrap(ch) }
        mig.recentPages = hot
        _ = try mig.migrate("web", keep: true)
        let expected = hot.map { m.memory.pages[$0]! }
        XCTAssertEqual(Array(recorder.names.prefix(5)), expected, "the hinted pages travel first, most recent first")
        XCTAssertEqual(Set(recorder.names).count, recorder.names.count)
    }

    func testADemandRequestOvertakesTheStream() throws {
        let dir = temporaryDirectory(self)
        let home = try Store(root: dir + "/home"), away = try Store(root: dir + "/away")
        // The serving side sends through a 1 Mbit/s link, so the stream takes a while.
        let server = try LoopbackServer(store: away.root) { (tcp) throws(ChannelError) -> MigrationChannel in
            LinkShaper(wrapping: tcp, bitsPerSecond: 1_000_000, latency: 0.002)
        }
        defer { server.stop() }
        try makeCapsule(self, store: away, name: "web")
        // The block the sender would send last: the last disk block in offer order.
        let m = try away.manifest(of: "web").manifest
        let layer = try away.layers.get(m.disks[0].layers.last!)
        let last = layer.names.last(where: { $0 != .zero })!
        let expected = try away.blocks.get(last)

        let demand = DemandRequests(storeRoot: home.root)
        let client = migrator(home, to: server.address)
        client.demand = demand
        final class Clock: @unchecked Sendable { var end = Date.distantFuture }
        let clock = Clock()
        let done = DispatchSemaphore(value: 0)
        let t = Thread {
            _ = try? client.fetch("web")
            clock.end = Date()
            done.signal()
        }
        t.start()
        let start = Date()
        let got = try demand.fetch(last, timeout: 30)
        let gotAt = Date()
        XCTAssertEqual(done.wait(timeout: .now() + 60), .success)
        XCTAssertTrue(same(got, expected))
        XCTAssertEqual(demand.requestsSent, 1)
        XCTAssertLessThan(gotAt.timeIntervalSince(start), clock.end.timeIntervalSince(start) / 2,
                          "the requested block arrived long before the stream would have brought it")
        let sent = server.waitForResults(1)[0].0
        XCTAssertEqual(sent.priorityBlocks, 1)
        XCTAssertNoThrow(try home.verifyCapsule("web"))
    }
}

/// Records the names of the BLOCK frames a channel sends, in order.
final class BlockOrderRecorder {
    var names: [BlockName] = []
    func wrap(_ ch: MigrationChannel) -> MigrationChannel { Recording(ch, self) }

    final class Recording: MigrationChannel {
        let inner: MigrationChannel
        let owner: BlockOrderRecorder
        init(_ inner: MigrationChannel, _ owner: BlockOrderRecorder) { self.inner = inner; self.owner = owner }
        var peerDescription: String { inner.peerDescription }
        func send(_ bytes: UnsafeRawBufferPointer) throws(ChannelError) {
            if bytes.count > 40, bytes[0] == FrameType.block.rawValue {
                owner.names.append(BlockName(digest: bytes.baseAddress! + 8))
            }
            try inner.send(bytes)
        }
        func receive(into buffer: UnsafeMutableRawBufferPointer) throws(ChannelError) { try inner.receive(into: buffer) }
        func close() { inner.close() }
    }
}

/// Byte-array equality.
func same(_ a: [UInt8], _ b: [UInt8]) -> Bool { a == b }
