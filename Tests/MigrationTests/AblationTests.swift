import Capsule
import Foundation
@testable import Migration
import XCTest

/// The experiment switches of `capsule migrate`: each one really turns
/// its optimisation off, and the capsule still arrives whole.
final class AblationTests: XCTestCase {
    func testEachSwitchTurnsItsOptimisationOff() throws {
        let dir = temporaryDirectory(self)
        let home = try Store(root: dir + "/home")
        let server = try LoopbackServer(store: dir + "/away")
        defer { server.stop() }
        try makeCapsule(self, store: home, name: "web")
        let first = try migrator(home, to: server.address).migrate("web", keep: true)
        XCTAssertGreaterThan(first.blocksTransferred, 0)
        XCTAssertGreaterThan(first.layersTransferred, 0)
        XCTAssertLessThan(first.blockWireBytes, first.blockRawBytes, "LZ4 shrinks the test capsule's blocks")

        // Again, with everything already there: nothing travels...
        let again = try migrator(home, to: server.address).migrate("web", keep: true)
        XCTAssertEqual(again.blocksTransferred, 0)
        XCTAssertEqual(again.layersTransferred, 0)

        // ...unless the receiver may not use its hash cache,
        var m = migrator(home, to: server.address)
        m.ablation = Ablation(noHashing: true)
        let noHash = try m.migrate("web", keep: true)
        XCTAssertEqual(noHash.blocksTransferred, noHash.blocksOffered)
        XCTAssertEqual(noHash.skippedPresent, 0)

        // or its layers (only the disk's blocks travel again),
        m = migrator(home, to: server.address)
        m.ablation = Ablation(noCOW: true)
        let noCOW = try m.migrate("web", keep: true)
        XCTAssertEqual(noCOW.layersTransferred, noCOW.layersOffered)
        let manifest = try home.manifest(of: "web").manifest
        let diskBlocks = Set(try manifest.disks.flatMap { d in try d.layers.flatMap { try home.layers.get($0).names } }).subtracting([.zero]).count
        XCTAssertEqual(noCOW.blocksTransferred, diskBlocks)

        // and without LZ4 the blocks travel as they are.
        m = migrator(home, to: server.address)
        m.ablation = Ablation(noHashing: true, compress: false)
        let raw = try m.migrate("web", keep: true)
        XCTAssertEqual(raw.blockWireBytes, raw.blockRawBytes)
        XCTAssertGreaterThan(raw.totalWireBytes, noHash.totalWireBytes)
        XCTAssertNoThrow(try Store(root: dir + "/away").verifyCapsule("web"))
    }
}

extension AblationTests {
    /// Without hashing, a block that occurs at two positions travels twice.
    func testWithoutHashingDuplicatesTravelEachTime() throws {
        let dir = temporaryDirectory(self)
        let home = try Store(root: dir + "/home")
        let server = try LoopbackServer(store: dir + "/away")
        defer { server.stop() }
        // RAM with the same page at four addresses and one other page.
        var ram = [UInt8](repeating: 0, count: 64 * 4096)
        for p in [3, 9, 17, 40] { for i in 0..<4096 { ram[p * 4096 + i] = UInt8(truncatingIfNeeded: i * 7 + 1) } }
        for i in 0..<4096 { ram[50 * 4096 + i] = 0xA5 }
        try ram.withUnsafeBytes { r in
            var c = StateContainer()
            var w = StateWriter(); w.write(UInt32(1))
            c.add(w.section(tag: "test", version: 1))
            _ = try home.saveCapsule(name: "dup", state: c, ram: r)
        }
        let hashed = try migrator(home, to: server.address).migrate("dup", keep: true)
        XCTAssertEqual(hashed.blocksTransferred, 2, "two distinct pages")
        let m = migrator(home, to: server.address)
        m.ablation = Ablation(noHashing: true)
        let all = try m.migrate("dup", keep: true)
        XCTAssertEqual(all.blocksOffered, 5)
        XCTAssertEqual(all.blocksTransferred, 5, "every non-zero position")
        XCTAssertNoThrow(try Store(root: dir + "/away").verifyCapsule("dup"))
    }
}
