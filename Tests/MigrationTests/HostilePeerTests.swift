import Capsule
import Foundation
@testable import Migration
import XCTest

/// A peer that breaks the protocol on purpose: every case must end with an
/// ERROR frame that names the problem and a closed connection — never a
/// crash, a hang, or anything written outside the receiver's store — and
/// the server must go on serving honest peers.
final class HostilePeerTests: XCTestCase {
    var dir: String!
    var away: Store!
    var server: LoopbackServer!

    override func setUpWithError() throws {
        dir = temporaryDirectory(self)
        away = try Store(root: dir + "/away")
        server = try LoopbackServer(store: away.root)
        addTeardownBlock { [unowned self] in self.server.stop() }
    }

    func connect() throws -> FramedConnection {
        FramedConnection(try TCPChannel.connect(to: server.address, timeout: 5, ioTimeout: 10))
    }

    func hello(_ c: FramedConnection, role: Role = .push) throws {
        _ = try Handshake.hello(c, role: role)
    }

    /// Reads until the peer's ERROR; checks its text, then that the connection is closed.
    func expectRefusal(_ c: FramedConnection, _ fragment: String, file: StaticString = #filePath, line: UInt = #line) {
        var failure: MigrationError?
        for _ in 0..<100 {
            do throws(MigrationError) { _ = try c.receive() } catch { failure = error; break }
        }
        guard case .peer(_, let text)? = failure else {
            XCTFail("expected an ERROR frame, got \(String(describing: failure))", file: file, line: line)
            return
        }
        XCTAssertTrue(text.contains(fragment), "\(String(reflecting: text)) does not contain \(String(reflecting: fragment))", file: file, line: line)
        do { _ = try c.receive(); XCTFail("connection still open", file: file, line: line) } catch {
            guard case .channel = error else { XCTFail("expected a closed connection, got \(error)", file: file, line: line); return }
        }
    }

    /// OFFER as protocol version 2 has it (the flags byte last).
    func offer(_ c: FramedConnection, name: String, hash: BlockName = .zero, size: UInt64 = 100, flags: UInt8 = 0) throws {
        var w = ByteWriter()
        w.string(name); w.name(hash); w.u64(size); w.u8(flags)
        try sendRaw(c, .offer, w.bytes)
    }

    /// A frame as a hostile peer writes it: no check of our own limits.
    func sendRaw(_ c: FramedConnection, _ type: FrameType, _ payload: [UInt8]) throws {
        var frame: [UInt8] = [type.rawValue, 0, 0, 0]
        for i in 0..<4 { frame.append(UInt8(truncatingIfNeeded: payload.count >> (8 * i))) }
        try c.channel.send(frame + payload)
    }

    /// Nothing but the store's own layout exists under the test directory.
    func assertNothingEscaped(file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir).sorted(), ["away"], file: file, line: line)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: away.root).sorted(), ["blocks", "capsules", "disks", "layers", "lock"], file: file, line: line)
        XCTAssertEqual(try away.capsuleNames(), [], file: file, line: line)
    }

    func testBadMagicUnknownTypesAndOversizedFramesAreRefused() throws {
        var c = try connect()
        var w = ByteWriter()
        w.raw(Array("HTTP/1.1".utf8)); w.u16(1); w.u16(1); w.u8(1); w.u8(0); w.u16(0)
        try c.send(.hello, w.bytes)
        expectRefusal(c, "bad HELLO magic")

        c = try connect()
        try c.channel.send([0xEE, 0, 0, 0, 0, 0, 0, 0])
        expectRefusal(c, "unknown frame type 238")

        c = try connect()
        try c.channel.send([FrameType.hello.rawValue, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF])
        expectRefusal(c, "claims 4294967295 payload bytes")

        c = try connect()
        try hello(c)
        try c.channel.send([FrameType.part.rawValue, 0, 0, 0, 0x00, 0x00, 0x00, 0x10])
        expectRefusal(c, "part frame claims 268435456 payload bytes")
        try assertNothingEscaped()
    }

    func testVersionNegotiationFailsClearly() throws {
        let c = try connect()
        var w = ByteWriter()
        w.raw(WireLimits.magic); w.u16(7); w.u16(9); w.u8(1); w.u8(0); w.u16(0)
        try c.send(.hello, w.bytes)
        expectRefusal(c, "no common protocol version: the client speaks 7…9")
    }

    func testNamesThatCouldEscapeTheStoreAreRejected() throws {
        for name in ["../../etc/passwd", "..", "a/b", ".hidden", "-rf", "evil\u{1B}[2J", "x\u{202E}gpj", String(repeating: "n", count: 129)] {
            let c = try connect()
            try hello(c)
            try offer(c, name: name)
            expectRefusal(c, name.utf8.count > 128 ? "limit" : "name rejected")
        }
        // a fetch of an escaping name
        let c = try connect()
        try hello(c, role: .pull)
        try Handshake.sendFetch(c, name: "../away")
        expectRefusal(c, "path separator")
        try assertNothingEscaped()
    }

    func testHostileLengthsAndHashesInTheOfferAreRejected() throws {
        var c = try connect()
        try hello(c)
        try offer(c, name: "m", size: WireLimits.maxManifestBytes + 1)
        expectRefusal(c, "manifest of 268435457 bytes")

        // the manifest's content does not match the offered hash
        c = try connect()
        try hello(c)
        let junk = Array("{\"not\": \"a manifest\"}".utf8)
        try offer(c, name: "m", hash: .zero, size: UInt64(junk.count))
        try Parts.send(junk, kind: .manifest, index: 0, over: c)
        expectRefusal(c, "does not match the offered size and hash")

        // a hash that matches but a manifest that is not one
        c = try connect()
        try hello(c)
        try offer(c, name: "m", hash: BlockName.of(junk), size: UInt64(junk.count))
        try Parts.send(junk, kind: .manifest, index: 0, over: c)
        expectRefusal(c, "offered manifest is invalid")

        // a chunk claiming more than the part limit
        c = try connect()
        try hello(c)
        try offer(c, name: "m", size: 10)
        var w = ByteWriter()
        w.u8(PartKind.manifest.rawValue); w.u8(0); w.u16(0); w.u32(0)
        w.u64(1 << 40); w.u64(0); w.u32(4); w.raw([1, 2, 3, 4])
        try c.send(.part, w.bytes)
        expectRefusal(c, "limit")

        // a manifest longer than the offer announced
        c = try connect()
        try hello(c)
        try offer(c, name: "m", size: 10)
        try Parts.send([UInt8](repeating: 0x20, count: 11), kind: .manifest, index: 0, over: c)
        expectRefusal(c, "manifest part of 11 bytes where 10 were announced")

        // a chunk whose LZ4 payload is garbage
        c = try connect()
        try hello(c)
        try offer(c, name: "m", size: 10)
        w = ByteWriter()
        w.u8(PartKind.manifest.rawValue); w.u8(1); w.u16(0); w.u32(0)
        w.u64(10); w.u64(0); w.u32(10); w.raw([0xFF, 0xFF, 0xFF])
        try c.send(.part, w.bytes)
        expectRefusal(c, "does not decode")

        // OFFER flags this build does not know
        c = try connect()
        try hello(c)
        try offer(c, name: "m", size: 10, flags: 0x80)
        expectRefusal(c, "unknown flags 0x80")
        try assertNothingEscaped()
    }

    /// A version-1 sender (its OFFER has no flags byte) is still received.
    func testVersionOneSenderIsStillReceived() throws {
        let home = try Store(root: temporaryDirectory(self) + "/home")
        try makeCapsule(self, store: home, name: "old", diskSeed: nil)
        let e = try home.exportCapsule("old")
        let c = try connect()
        var w = ByteWriter()
        w.raw(WireLimits.magic); w.u16(1); w.u16(1); w.u8(Role.push.rawValue); w.u8(0); w.u16(0)
        try c.send(.hello, w.bytes)
        let welcome = try c.receive()
        XCTAssertEqual(welcome.payload, [1, 0], "the server chose version 1")
        w = ByteWriter()
        w.string("old"); w.name(e.manifestHash); w.u64(UInt64(e.manifestBytes.count))
        try c.send(.offer, w.bytes)
        try Parts.send(e.manifestBytes, kind: .manifest, index: 0, over: c)
        XCTAssertEqual(try c.receive().type, .needLayers, "the offer was accepted")
        c.close()
    }

    /// A peer that follows the protocol up to the blocks, then sends ones
    /// nobody asked for or that break the limits.
    func testBlocksNotAskedForOrOversizedAreRejectedAndNotStored() throws {
        let home = try Store(root: temporaryDirectory(self) + "/home")
        try makeCapsule(self, store: home, name: "vm", diskSeed: nil)
        let e = try home.exportCapsule("vm")
        func start() throws -> FramedConnection {
            let c = try connect()
            try hello(c)
            try offer(c, name: "vm", hash: e.manifestHash, size: UInt64(e.manifestBytes.count))
            try Parts.send(e.manifestBytes, kind: .manifest, index: 0, over: c)
            let layers = try c.receive()
            XCTAssertEqual(layers.type, .needLayers)
            let need = try c.receive()
            XCTAssertEqual(need.type, .needBlocks)
            return c
        }
        let stranger = [UInt8](repeating: 0x41, count: 4096)
        var c = try start()
        var w = ByteWriter()
        w.name(BlockName.of(stranger)); w.u8(0); w.u8(0); w.u16(0); w.u32(4096); w.raw(stranger)
        try c.send(.block, w.bytes)
        expectRefusal(c, "was not asked for")
        XCTAssertFalse(away.blocks.has(BlockName.of(stranger)))

        c = try start()
        w = ByteWriter()
        w.name(BlockName.of(stranger)); w.u8(0); w.u8(0); w.u16(0); w.u32(1 << 20)
        try c.send(.block, w.bytes)
        expectRefusal(c, "limit 65536")

        // a part that was not asked for (the layer list was empty)
        c = try start()
        try Parts.send([1, 2, 3], kind: .layer, index: 3, over: c)
        expectRefusal(c, "was not asked for")

        XCTAssertFalse(away.hasCapsule("vm"))
        // The server still serves an honest peer afterwards.
        _ = try migrator(home, to: server.address).migrate("vm", keep: true)
        XCTAssertNoThrow(try away.verifyCapsule("vm"))
    }

    /// A hostile *server* answering a fetch: offers another capsule than the one asked for.
    func testFetchRefusesAServerThatOffersAnotherCapsule() throws {
        let l = try TCPListener(address: "127.0.0.1:0")
        let fakeDone = DispatchSemaphore(value: 0)
        let fake = Thread {
            defer { fakeDone.signal() }
            guard let ch = try? l.accept(timeout: 10) else { return }
            let c = FramedConnection(ch)
            _ = try? Handshake.welcome(c)
            _ = try? Handshake.receiveFetch(c)
            var w = ByteWriter()
            w.string("other"); w.name(.zero); w.u64(10); w.u8(0)
            try? c.send(.offer, w.bytes)
            _ = try? c.receive()
        }
        fake.start()
        let home = try Store(root: temporaryDirectory(self) + "/home")
        let m = migrator(home, to: "127.0.0.1:\(l.address.port)")
        XCTAssertThrowsError(try m.fetch("wanted")) { e in
            XCTAssertTrue("\(e)".contains("\"wanted\" was asked for"), "\(e)")
        }
        l.close()
        _ = fakeDone.wait(timeout: .now() + 10)
        XCTAssertEqual(try home.capsuleNames(), [])
    }
}
