import Capsule
import Foundation
@testable import Migration
import XCTest

/// Whole migrations over real loopback TCP between two stores.
final class MigrationTransferTests: XCTestCase {
    var home: Store!
    var away: Store!
    var server: LoopbackServer!

    override func setUpWithError() throws {
        let dir = temporaryDirectory(self)
        home = try Store(root: dir + "/home")
        away = try Store(root: dir + "/away")
        server = try LoopbackServer(store: away.root)
        addTeardownBlock { [unowned self] in self.server?.stop() }
    }

    func testFirstMigrationToEmptyStoreMovesEveryBlockOnceAndCommits() throws {
        try makeCapsule(self, store: home, name: "web")
        let names = try referencedBlocks(home, "web")
        let hash = try home.manifest(of: "web").hash
        let stats = try migrator(home, to: server.address).migrate("web", keep: true)

        XCTAssertEqual(try away.manifest(of: "web").hash, hash, "receiver holds the identical manifest")
        XCTAssertGreaterThan(try away.verifyCapsule("web"), 0)
        XCTAssertEqual(stats.blocksOffered, names.count)
        XCTAssertEqual(stats.blocksTransferred, names.count, "every distinct non-zero block travels exactly once")
        XCTAssertEqual(stats.skippedPresent, 0)
        XCTAssertGreaterThan(stats.skippedZero, 500, "most of the 4 MiB are zero pages, which never travel")
        XCTAssertEqual(stats.layersTransferred, stats.layersOffered)
        XCTAssertGreaterThan(stats.compressionRatio, 1.5, "text-like disk blocks compress")
        XCTAssertGreaterThan(stats.wireBytes(.memory), 0)
        XCTAssertGreaterThan(stats.wireBytes(.disk), 0)
        XCTAssertGreaterThan(stats.wireBytes(.state), 0)
        XCTAssertGreaterThan(stats.wireBytes(.control), 0)
        XCTAssertLessThan(stats.totalWireBytes, stats.blockRawBytes + 300_000, "wire bytes stay near the compressed payload")
        XCTAssertTrue(home.hasCapsule("web"), "--keep keeps the source")
        let received = server.waitForResults(1)
        XCTAssertNil(received[0].1)
        XCTAssertEqual(received[0].0.duplicateArrivals, 0)
        XCTAssertEqual(received[0].0.blocksTransferred, names.count)
    }

    func testMigratingAgainWithNothingNewSendsNoBlocks() throws {
        try makeCapsule(self, store: home, name: "web")
        _ = try migrator(home, to: server.address).migrate("web", keep: true)
        let stats = try migrator(home, to: server.address).migrate("web", keep: true)
        XCTAssertEqual(stats.blocksTransferred, 0)
        XCTAssertEqual(stats.layersTransferred, 0)
        XCTAssertEqual(stats.skippedPresent, stats.blocksOffered)
        XCTAssertEqual(stats.wireBytes(.state), 0, "the receiver has the state file too")
        XCTAssertEqual(stats.wireBytes(.memory) + stats.wireBytes(.disk), 0)
    }

    func testWithoutKeepTheSourceIsDroppedAfterTheCommit() throws {
        try makeCapsule(self, store: home, name: "web")
        let stats = try migrator(home, to: server.address).migrate("web", keep: false)
        XCTAssertTrue(stats.droppedSource)
        XCTAssertFalse(home.hasCapsule("web"))
        XCTAssertTrue(away.hasCapsule("web"))
        XCTAssertNoThrow(try away.verifyCapsule("web"))
    }

    /// Bytes a whole migration of a capsule like the tests' puts on the wire
    /// (measured between two scratch stores), to place injected failures inside it.
    func wireBytesOfOneMigration() throws -> Int {
        let dir = temporaryDirectory(self)
        let a = try Store(root: dir + "/a"), b = try LoopbackServer(store: dir + "/b")
        defer { b.stop() }
        try makeCapsule(self, store: a, name: "probe")
        return Int(try migrator(a, to: b.address).migrate("probe", keep: true).totalWireBytes)
    }

    func testACapsuleInUseIsNotDroppedAfterItsMigration() throws {
        try makeCapsule(self, store: home, name: "web")
        // A machine running on the capsule: its working disk is open read-write.
        let running = try MachineCapsule(resuming: "web", store: home)
        XCTAssertThrowsError(try migrator(home, to: server.address).migrate("web", keep: false)) { e in
            XCTAssertTrue("\(e)".contains("in use"), "\(e)")
        }
        XCTAssertTrue(home.hasCapsule("web"))
        XCTAssertTrue(away.hasCapsule("web"), "the receiver has committed it all the same")
        _ = running
    }

    func testSecondMigrationSendsOnlyNewBlocksAndLayers() throws {
        let c = try makeCapsule(self, store: home, name: "web", closeDisks: false)
        _ = try migrator(home, to: server.address).migrate("web", keep: true)
        let before = Set(try away.blocks.allBlocks())
        // A session of work at home: more instructions and disk writes, sealed as a new layer.
        _ = c.machine.run(instructions: 30_000)
        var fresh = [UInt8](repeating: 0, count: 8 * 4096)
        for i in 0..<fresh.count { fresh[i] = UInt8(truncatingIfNeeded: i * 7 + i / 4096) }
        try fresh.withUnsafeBytes { try c.disks[0].disk.write(sector: 64, count: 64, from: $0) }
        try c.save()
        let expected = try referencedBlocks(home, "web").subtracting(before)
        XCTAssertGreaterThan(expected.count, 8)

        let stats = try migrator(home, to: server.address).migrate("web", keep: true)
        XCTAssertEqual(stats.blocksTransferred, expected.count, "only blocks the receiver's store lacks travel")
        XCTAssertEqual(stats.layersOffered, 2)
        XCTAssertEqual(stats.layersTransferred, 1, "the base layer the receiver has is not sent again")
        XCTAssertGreaterThan(stats.skippedInPresentLayers, 100, "blocks of the present layer are skipped whole (COW)")
        XCTAssertEqual(try away.manifest(of: "web").hash, try home.manifest(of: "web").hash)
        XCTAssertNoThrow(try away.verifyCapsule("web"))
    }

    func testBlocksOfAnyCapsuleInTheReceiverStoreCount() throws {
        try makeCapsule(self, store: home, name: "a", diskSeed: 5)
        // The receiver holds an unrelated capsule with the same disk content.
        try makeCapsule(self, store: away, name: "other", rom: "t4_except", diskSeed: 5)
        let have = Set(try away.blocks.allBlocks())
        let expected = try referencedBlocks(home, "a").subtracting(have)
        let stats = try migrator(home, to: server.address).migrate("a", keep: true)
        XCTAssertEqual(stats.blocksTransferred, expected.count)
        XCTAssertGreaterThan(stats.skippedPresent, 150)
        XCTAssertNoThrow(try away.verifyCapsule("a"))
    }

    func testCorruptedBlocksAreDetectedReportedAndResent() throws {
        try makeCapsule(self, store: home, name: "web")
        let total = try referencedBlocks(home, "web").count
        var injected: [BlockName] = []
        let m = migrator(home, to: server.address) { ch in
            let f = FaultyChannel(ch)
            f.corruptNextBlocks = 5
            injected = []
            // remember what was damaged
            return CorruptionRecorder(f) { injected = $0 }
        }
        let stats = try m.migrate("web", keep: true)
        XCTAssertEqual(injected.count, 5)
        XCTAssertEqual(stats.corruptBlocks, 5, "the receiver reported each damaged block")
        XCTAssertEqual(stats.blocksTransferred, total + 5, "the damaged ones travelled twice, nothing else")
        XCTAssertEqual(stats.rounds, 2)
        let r = server.waitForResults(1)[0].0
        XCTAssertEqual(r.corruptBlocks, 5)
        XCTAssertEqual(r.blocksTransferred, total, "only verified blocks were stored")
        XCTAssertEqual(try away.verifyCapsule("web"), try home.verifyCapsule("web"))
        for n in injected { XCTAssertNoThrow(try away.blocks.verify(n)) }
    }

    func testConnectionsKilledAtRandomPointsCompleteWithNoBlockSentTwice() throws {
        try makeCapsule(self, store: home, name: "web")
        let total = try referencedBlocks(home, "web").count
        let budgetRange = try wireBytesOfOneMigration()
        var r = Rand(42)
        var attempts = 0
        let m = migrator(home, to: server.address) { ch in
            attempts += 1
            // the first 6 connections die after a random number of bytes
            return attempts <= 6 ? FaultyChannel(ch, sendBudget: 200 + r.below(budgetRange / 4)) : ch
        }
        let stats = try m.migrate("web", keep: true)
        XCTAssertGreaterThanOrEqual(stats.connections, 3, "several connections died on the way")
        XCTAssertEqual(stats.blocksTransferred, total, "a block whose frame left whole is never sent again")
        let results = server.waitForResults(stats.connections)
        XCTAssertEqual(results.reduce(0) { $0 + $1.0.blocksTransferred }, total, "each block was received and stored once")
        XCTAssertEqual(results.reduce(0) { $0 + $1.0.duplicateArrivals }, 0)
        XCTAssertEqual(try away.manifest(of: "web").hash, try home.manifest(of: "web").hash)
        XCTAssertNoThrow(try away.verifyCapsule("web"))
    }

    func testReceiverSideDropsResumeToo() throws {
        server.stop()
        let budgetRange = try wireBytesOfOneMigration()
        var r = Rand(7)
        let lock = NSLock()
        var served = 0
        server = try LoopbackServer(store: away.root) { (tcp) throws(ChannelError) -> MigrationChannel in
            lock.lock(); served += 1; let n = served; lock.unlock()
            return n <= 4 ? FaultyChannel(tcp, receiveBudget: 100 + r.below(budgetRange / 4)) : tcp
        }
        try makeCapsule(self, store: home, name: "web")
        let total = try referencedBlocks(home, "web").count
        let stats = try migrator(home, to: server.address).migrate("web", keep: false)
        XCTAssertGreaterThanOrEqual(stats.connections, 3, "several connections died on the way")
        let results = server.waitForResults(stats.connections)
        XCTAssertEqual(results.reduce(0) { $0 + $1.0.blocksTransferred }, total)
        XCTAssertEqual(results.reduce(0) { $0 + $1.0.duplicateArrivals }, 0)
        XCTAssertNoThrow(try away.verifyCapsule("web"))
        XCTAssertFalse(home.hasCapsule("web"))
    }

    func testSenderKeepsItsCapsuleUntilTheReceiverCommitted() throws {
        try makeCapsule(self, store: home, name: "web")
        away.faultInjection = nil
        // The receiver dies on every connection: the migration fails and the source stays.
        server.stop()
        server = try LoopbackServer(store: away.root) { (tcp) throws(ChannelError) -> MigrationChannel in
            FaultyChannel(tcp, receiveBudget: 20_000)
        }
        let m = migrator(home, to: server.address)
        m.retries = 2
        XCTAssertGreaterThan(try wireBytesOfOneMigration(), 40_000)
        XCTAssertThrowsError(try m.migrate("web", keep: false))
        XCTAssertTrue(home.hasCapsule("web"))
        XCTAssertNoThrow(try home.verifyCapsule("web"))
        XCTAssertFalse(away.hasCapsule("web"), "nothing is committed without every block")
        // The partial data is garbage gc can remove.
        _ = server.waitForResults(3)
        let gc = try away.gc()
        XCTAssertGreaterThan(gc.blocksRemoved + gc.layersRemoved + gc.temporaryFilesRemoved, 0)
    }

    func testConcurrentMigrationsIntoOneServerAreSafe() throws {
        let other = try Store(root: temporaryDirectory(self) + "/other")
        try makeCapsule(self, store: home, name: "a", diskSeed: 3)
        try makeCapsule(self, store: other, name: "b", rom: "t4_except", diskSeed: 3)
        let group = DispatchGroup()
        final class Failures: @unchecked Sendable { let lock = NSLock(); var list: [String] = [] }
        let failures = Failures()
        for (store, name) in [(home!, "a"), (other, "b")] {
            group.enter()
            Thread {
                do { _ = try migrator(store, to: self.server.address).migrate(name, keep: true) } catch {
                    failures.lock.lock(); failures.list.append("\(name): \(error)"); failures.lock.unlock()
                }
                group.leave()
            }.start()
        }
        XCTAssertEqual(group.wait(timeout: .now() + 60), .success)
        XCTAssertEqual(failures.list, [])
        XCTAssertEqual(try away.capsuleNames(), ["a", "b"])
        XCTAssertNoThrow(try away.verifyCapsule("a"))
        XCTAssertNoThrow(try away.verifyCapsule("b"))
    }

    func testFetchPullsFromAServingPeer() throws {
        try makeCapsule(self, store: away, name: "shared")
        let stats = try migrator(home, to: server.address).fetch("shared")
        XCTAssertEqual(try home.manifest(of: "shared").hash, try away.manifest(of: "shared").hash)
        XCTAssertNoThrow(try home.verifyCapsule("shared"))
        XCTAssertTrue(away.hasCapsule("shared"), "a fetch copies; the server keeps its capsule")
        XCTAssertEqual(stats.blocksTransferred, try referencedBlocks(away, "shared").count)
        XCTAssertThrowsError(try migrator(home, to: server.address).fetch("missing")) { e in
            XCTAssertTrue("\(e)".contains("not found"), "\(e)")
        }
    }

    func testReportHasEveryKindAndParsesAsJSON() throws {
        try makeCapsule(self, store: home, name: "web")
        let stats = try migrator(home, to: server.address).migrate("web", keep: true)
        let obj = try JSONSerialization.jsonObject(with: Data(stats.json().utf8)) as! [String: Any]
        let wire = obj["wireBytes"] as! [String: Any]
        XCTAssertEqual(Set(wire.keys), ["state", "memory", "disk", "protocol"])
        XCTAssertEqual(Set((obj["skipped"] as! [String: Any]).keys), ["zero", "balloon", "present", "presentInLayers"])
        XCTAssertNotNil(obj["secondsUntilRunnable"])
        let table = stats.table()
        for s in ["bytes on the wire", "memory", "disk", "state", "protocol", "zero", "balloon", "already present", "compression ratio", "time until runnable", "total time"] {
            XCTAssertTrue(table.contains(s), "table lacks \(s)")
        }
    }
}

/// Hands the FaultyChannel's list of corrupted blocks to the test after each send.
final class CorruptionRecorder: MigrationChannel {
    let inner: FaultyChannel
    let record: ([BlockName]) -> Void
    init(_ inner: FaultyChannel, _ record: @escaping ([BlockName]) -> Void) { self.inner = inner; self.record = record }
    var peerDescription: String { inner.peerDescription }
    func send(_ bytes: UnsafeRawBufferPointer) throws(ChannelError) { try inner.send(bytes); record(inner.corrupted) }
    func receive(into buffer: UnsafeMutableRawBufferPointer) throws(ChannelError) { try inner.receive(into: buffer) }
    func close() { inner.close() }
}

/// Migration over TLS 1.3 with a pre-shared key and over the link shaper:
/// the protocol runs unchanged on the secured, shaped channel; peers
/// without the key are refused before any capsule data moves.
final class SecuredMigrationTests: XCTestCase {
    func testPSKMigrationWorksAndUnauthenticatedClientsAreRefused() throws {
        let dir = temporaryDirectory(self)
        let home = try Store(root: dir + "/home"), away = try Store(root: dir + "/away")
        let key = try PresharedKey.generate(), otherKey = try PresharedKey.generate()
        let serverContext = try TLSContext(role: .server, authentication: .presharedKey(key))
        let server = try LoopbackServer(store: away.root) { (tcp) throws(ChannelError) -> MigrationChannel in
            try TLSChannel(over: tcp, context: serverContext)
        }
        defer { server.stop() }
        try makeCapsule(self, store: home, name: "web")

        // plain TCP client
        let plain = migrator(home, to: server.address)
        plain.retries = 0
        XCTAssertThrowsError(try plain.migrate("web", keep: false))
        // wrong key
        let wrongContext = try TLSContext(role: .client, authentication: .presharedKey(otherKey))
        let wrong = Migrator(store: home) { () throws(ChannelError) -> MigrationChannel in
            try TLSChannel(over: try TCPChannel.connect(to: server.address), context: wrongContext)
        }
        wrong.retries = 3
        XCTAssertThrowsError(try wrong.migrate("web", keep: false)) { e in
            XCTAssertFalse((e as! MigrationError).isRetryable)
            XCTAssertTrue("\(e)".contains("not authenticated"), "\(e)")
        }
        XCTAssertTrue(home.hasCapsule("web"))
        XCTAssertEqual(try away.capsuleNames(), [])
        XCTAssertEqual(try away.blocks.allBlocks(), [], "nothing travelled to an unauthenticated peer")

        // the right key, through a shaped link
        let clientContext = try TLSContext(role: .client, authentication: .presharedKey(key))
        let good = Migrator(store: home) { () throws(ChannelError) -> MigrationChannel in
            let tls = try TLSChannel(over: try TCPChannel.connect(to: server.address), context: clientContext)
            return LinkShaper(wrapping: tls, bitsPerSecond: 200_000_000, latency: 0.001)
        }
        let stats = try good.migrate("web", keep: false)
        XCTAssertEqual(stats.connections, 1)
        XCTAssertTrue(stats.peer.contains("pre-shared key"), stats.peer)
        XCTAssertNoThrow(try away.verifyCapsule("web"))
        XCTAssertFalse(home.hasCapsule("web"))
    }
}
