@testable import Capsule
import XCTest
#if canImport(Glibc)
import Glibc
#endif

final class StoreTests: XCTestCase {
    var store: Store!
    var root: String!

    override func setUpWithError() throws {
        root = temporaryDirectory(self) + "/store"
        store = try Store(root: root)
    }

    /// 64 pages of RAM: some zero, some repeated, some distinct.
    func ram(seed: UInt64) -> [UInt8] {
        var out: [UInt8] = []
        for p in 0..<64 {
            switch p % 4 {
            case 0: out += [UInt8](repeating: 0, count: 4096)
            case 1: out += sampleBlock(1000)           // the same page many times
            default: out += sampleBlock(seed &* 100 &+ UInt64(p))
            }
        }
        return out
    }

    func state(_ count: UInt32) -> StateContainer {
        var c = StateContainer()
        c.save(TimerV2(count: count, mode: 1, latch: 2))
        c.save(Device())
        return c
    }

    @discardableResult
    func save(_ name: String, seed: UInt64, disks: [Manifest.DiskPart] = [], parent: Manifest.Parent? = nil) throws -> (manifest: Manifest, hash: BlockName) {
        let r = ram(seed: seed)
        return try r.withUnsafeBytes {
            try store.saveCapsule(name: name, machine: ["ram": "256K", "cpu": "i686"], parent: parent, state: state(UInt32(seed)),
                                  ram: $0, disks: disks, inputLog: (bytes: Array("key a @1000\n".utf8), events: 1))
        }
    }

    func loadRAM(_ name: String) throws -> [UInt8] {
        let l = try store.loadCapsule(name)
        var out = [UInt8](repeating: 0xEE, count: l.manifest.memory.pageCount * 4096)
        try out.withUnsafeMutableBytes { try store.loadMemory(l.manifest, into: $0) }
        return out
    }

    func diskWithData() throws -> Manifest.DiskPart {
        let d = try store.createDisk("hda", size: 1 << 20)
        try sampleBlock(77).withUnsafeBytes { try d.write(sector: 0, count: 8, from: $0) }
        let l = try XCTUnwrap(try d.seal())
        return Manifest.DiskPart(name: "hda", size: d.size, layers: [l])
    }

    func testSaveAndLoad() throws {
        let disk = try diskWithData()
        let (m, h) = try save("web", seed: 1, disks: [disk])
        XCTAssertEqual(m.memory.pageCount, 64)
        XCTAssertEqual(m.memory.pages.count, 48, "zero pages are omitted")
        XCTAssertEqual(try store.capsuleNames(), ["web"])
        let l = try store.loadCapsule("web")
        XCTAssertEqual(l.manifest, m)
        XCTAssertEqual(l.manifestHash, h)
        XCTAssertEqual(l.state, state(1))
        XCTAssertEqual(l.inputLog, Array("key a @1000\n".utf8))
        XCTAssertTrue(same(try loadRAM("web"), ram(seed: 1)))
        var t = TimerV2()
        try l.state.restorer().restore(&t)
        XCTAssertEqual(t.count, 1)
        let v = try LayeredDisk.view(store: store, size: disk.size, layers: disk.layers)
        var b = [UInt8](repeating: 0, count: 4096)
        try b.withUnsafeMutableBytes { try v.read(sector: 0, count: 8, into: $0) }
        XCTAssertEqual(b, sampleBlock(77))
        XCTAssertGreaterThan(try store.verifyCapsule("web"), 0)
    }

    func testManifestIsReadableJSON() throws {
        let (m, _) = try save("web", seed: 1, parent: .init(name: "base", manifestHash: .zero))
        let text = String(decoding: try FileIO.readFile(store.capsulesDirectory + "/web/manifest.json"), as: UTF8.self)
        XCTAssertTrue(text.contains("\"formatVersion\" : 1"))
        XCTAssertTrue(text.contains("\"00001000\" : \"\(BlockName.of(sampleBlock(1000)).hex)\""), "page at 0x1000")
        XCTAssertTrue(text.contains("\"manifestHash\" : \"\(BlockName.zero.hex)\""))
        XCTAssertEqual(try Manifest.decode(Array(text.utf8)), m)
        // keys are sorted: "created" comes before "disks" before "formatVersion"
        let c = text.range(of: "\"created\"")!.lowerBound, d = text.range(of: "\"disks\"")!.lowerBound, f = text.range(of: "\"formatVersion\"")!.lowerBound
        XCTAssertTrue(c < d && d < f)
    }

    func testManifestValidation() throws {
        let (m, _) = try save("web", seed: 1)
        func reject(_ edit: (inout Manifest) -> Void, _ fragment: String) {
            var x = m
            edit(&x)
            XCTAssertThrowsMessage(try Manifest.decode(x.encoded()), fragment)
        }
        reject({ $0.formatVersion = 2 }, "format version 2 is newer than this build understands (max 1)")
        reject({ $0.memory.pages[1000] = .zero }, "beyond the page count")
        reject({ $0.state.file = "../../etc/passwd" }, "not a plain file name")
        reject({ $0.name = "../x" }, "invalid name")
        XCTAssertThrowsMessage(try Manifest.decode(Array("{\"formatVersion\": 1".utf8)), "manifest", "not valid JSON")
        XCTAssertThrowsMessage(try Manifest.decode(Array("{\"formatVersion\": 1}".utf8)), "manifest", "missing")
    }

    func testHostileNamesAreRejected() {
        for bad in ["", ".", "..", "../x", "a/b", "/abs", ".hidden", "a\\b", "x..y", "-rf", "tab\there", "nul\0", "bell\u{7}",
                    "del\u{7F}", "rtl\u{202E}txt", " lead", "trail ", String(repeating: "a", count: 129)] {
            XCTAssertThrowsError(try Store.validateName(bad), String(reflecting: bad))
            XCTAssertThrowsError(try store.capsuleDirectory(bad))
            XCTAssertThrowsError(try store.createDisk(bad, size: 4096))
        }
        for good in ["web", "web-2", "a.b", "Ubuntu_22.04", "élan", String(repeating: "a", count: 128)] {
            XCTAssertNoThrow(try Store.validateName(good), good)
        }
    }

    // MARK: every part damaged, truncated, swapped

    func testDamagedManifest() throws {
        try save("web", seed: 1)
        let p = store.capsulesDirectory + "/web/manifest.json"
        let good = try FileIO.readFile(p)
        try writeFile(p, Array(good[0..<(good.count / 2)]))
        XCTAssertThrowsMessage(try store.loadCapsule("web"), "capsule web", "manifest")
        var bad = good
        bad[bad.firstIndex(of: UInt8(ascii: "{"))!] = UInt8(ascii: "[")
        try writeFile(p, bad)
        XCTAssertThrowsMessage(try store.loadCapsule("web"), "capsule web", "manifest")
        // an edit that keeps the JSON valid: the checksum catches it
        var text = String(decoding: good, as: UTF8.self)
        text = text.replacingOccurrences(of: "\"i686\"", with: "\"i386\"")
        try writeFile(p, Array(text.utf8))
        XCTAssertThrowsMessage(try store.loadCapsule("web"), "capsule web: manifest: checksum mismatch")
    }

    func testSwappedManifests() throws {
        try save("a", seed: 1)
        try save("b", seed: 2)
        let pa = store.capsulesDirectory + "/a/manifest.json", pb = store.capsulesDirectory + "/b/manifest.json"
        let ma = try FileIO.readFile(pa)
        try writeFile(pa, try FileIO.readFile(pb))
        try writeFile(pb, ma)
        XCTAssertThrowsMessage(try store.loadCapsule("a"), "capsule a", "names capsule \"b\"")
    }

    func testDamagedTruncatedSwappedState() throws {
        try save("a", seed: 1)
        try save("b", seed: 2)
        let ma = try store.manifest(of: "a").manifest, mb = try store.manifest(of: "b").manifest
        let pa = store.capsulesDirectory + "/a/" + ma.state.file
        let good = try FileIO.readFile(pa)
        var flipped = good
        flipped[40] ^= 1
        try writeFile(pa, flipped)
        XCTAssertThrowsMessage(try store.loadCapsule("a"), "capsule a: state (\(ma.state.file))", "damaged or swapped")
        try writeFile(pa, Array(good.dropLast(5)))
        XCTAssertThrowsMessage(try store.loadCapsule("a"), "capsule a: state", "truncated")
        try writeFile(pa, try FileIO.readFile(store.capsulesDirectory + "/b/" + mb.state.file))
        XCTAssertThrowsMessage(try store.loadCapsule("a"), "capsule a: state")
        try FileIO.remove(pa)
        XCTAssertThrowsMessage(try store.loadCapsule("a"), "capsule a: state", "missing")
    }

    func testDamagedInputLog() throws {
        let (m, _) = try save("a", seed: 1)
        let p = store.capsulesDirectory + "/a/" + m.inputLog!.file
        try writeFile(p, Array("key b @1000\n".utf8))
        XCTAssertThrowsMessage(try store.loadCapsule("a"), "capsule a: input log")
    }

    func testDamagedMemoryBlockNamesThePage() throws {
        let (m, _) = try save("a", seed: 1)
        let (page, name) = m.memory.pages.first { $0.key == 2 }!
        let p = store.blocks.path(for: name)
        var f = try FileIO.readFile(p)
        f[f.count - 3] ^= 0x10
        chmodWritable(p)
        try writeFile(p, f)
        XCTAssertThrowsMessage(try loadRAM("a"), "capsule a: memory page at 0x\(String(page * 4096, radix: 16))", "block \(name.hex) is corrupt")
        XCTAssertThrowsMessage(try store.verifyCapsule("a"), "memory page at 0x2000", name.hex)
        try FileIO.remove(p)
        XCTAssertThrowsMessage(try loadRAM("a"), "memory page at 0x2000", "block \(name.hex) is missing")
    }

    func testDamagedDiskPartsAreNamed() throws {
        let disk = try diskWithData()
        try save("a", seed: 1, disks: [disk])
        let layer = try store.layers.get(disk.layers[0])
        let block = layer.names[0]
        let bp = store.blocks.path(for: block)
        let good = try FileIO.readFile(bp)
        chmodWritable(bp)
        try writeFile(bp, Array(good.dropLast(1)))
        XCTAssertThrowsMessage(try store.verifyCapsule("a"), "capsule a: disk hda", "block \(block.hex)", "truncated")
        try writeFile(bp, good)
        let lp = store.layers.path(for: disk.layers[0])
        try writeFile(lp, Array(try FileIO.readFile(lp).dropLast(40)))
        XCTAssertThrowsMessage(try store.verifyCapsule("a"), "capsule a: disk hda", "disk layer \(disk.layers[0].hex) is corrupt")
    }

    // MARK: crash safety

    func testInterruptedSaveLeavesThePreviousCapsule() throws {
        try save("web", seed: 1)
        let before = try FileIO.readFile(store.capsulesDirectory + "/web/manifest.json")
        struct Crash: Error {}
        for point in ["state-written", "log-written", "before-commit"] {
            store.faultInjection = { if $0 == point { throw Crash() } }
            XCTAssertThrowsError(try save("web", seed: 2))
            store.faultInjection = nil
            XCTAssertEqual(try FileIO.readFile(store.capsulesDirectory + "/web/manifest.json"), before, point)
            XCTAssertEqual(try store.loadCapsule("web").state, state(1), point)
            XCTAssertTrue(same(try loadRAM("web"), ram(seed: 1)), point)
            XCTAssertGreaterThan(try store.verifyCapsule("web"), 0)
        }
        store.faultInjection = { if $0 == "committed" { throw Crash() } }
        XCTAssertThrowsError(try save("web", seed: 2))
        store.faultInjection = nil
        XCTAssertEqual(try store.loadCapsule("web").state, state(2), "after the commit point the new capsule is there")
        XCTAssertTrue(same(try loadRAM("web"), ram(seed: 2)))
        try store.gc()
        XCTAssertGreaterThan(try store.verifyCapsule("web"), 0)
    }

    func testLeftoverTemporaryFilesAreCleanedByGC() throws {
        try save("web", seed: 1)
        let n = try store.manifest(of: "web").manifest.memory.pages[1]!
        let tmps = [FileIO.directoryOf(store.blocks.path(for: n)) + "/.tmp-1-2-" + n.hex.dropFirst(2),
                    store.capsulesDirectory + "/web/.tmp-1-2-manifest.json",
                    store.layers.root + "/.tmp-9-9-abc"]
        for t in tmps { try writeFile(t, [1, 2, 3]) }
        XCTAssertTrue(same(try loadRAM("web"), ram(seed: 1)))
        let report = try store.gc()
        XCTAssertEqual(report.temporaryFilesRemoved, 3)
        for t in tmps { XCTAssertFalse(FileIO.exists(t)) }
        XCTAssertTrue(same(try loadRAM("web"), ram(seed: 1)))
    }

    /// Kills a child process at random moments while it saves the capsule
    /// over and over; after each kill the capsule must load and verify.
    func testKilledDuringSuspend() throws {
        try save("web", seed: 1)
        var rng = TestRandom(1234)
        var observedSeeds = Set<UInt32>()
        for round in 0..<12 {
            let pid = capsule_fork()
            if pid == 0 {
                // child: save new versions until killed
                if let s = try? Store(root: root) {
                    self.store = s
                    var seed: UInt64 = 2
                    while true { _ = try? save("web", seed: seed); seed = seed % 5 + 2 }
                }
                _exit(0)
            }
            XCTAssertGreaterThan(pid, 0)
            usleep(useconds_t(20_000 + rng.next() % 150_000))
            kill(pid, SIGKILL)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
            let s = try Store(root: root)
            self.store = s
            let l = try s.loadCapsule("web")
            var t = TimerV2()
            try l.state.restorer().restore(&t)
            observedSeeds.insert(t.count)
            XCTAssertTrue(same(try loadRAM("web"), ram(seed: UInt64(t.count))), "round \(round)")
            XCTAssertGreaterThan(try s.verifyCapsule("web"), 0, "round \(round)")
        }
        try store.gc()
        XCTAssertGreaterThan(try store.verifyCapsule("web"), 0)
        print("kill test: capsule versions seen after kills: \(observedSeeds.sorted())")
    }

    // MARK: gc, inspect, remove

    func testGCKeepsReferencedBlocksAndRemovesOthers() throws {
        let disk = try diskWithData()
        try save("a", seed: 1, disks: [disk])
        try save("b", seed: 2)
        let orphan = try store.blocks.put(sampleBlock(4242))
        let orphanLayer = try store.layers.put(DiskLayer(diskSize: 4096, indexes: [0], names: [orphan]))
        var r = try store.gc()
        XCTAssertEqual(r.blocksRemoved, 1)
        XCTAssertEqual(r.layersRemoved, 1)
        XCTAssertFalse(store.blocks.has(orphan))
        XCTAssertFalse(store.layers.has(orphanLayer))
        XCTAssertGreaterThan(try store.verifyCapsule("a"), 0)
        XCTAssertGreaterThan(try store.verifyCapsule("b"), 0)
        // removing a capsule frees only what nobody else uses
        try store.removeCapsule("b")
        XCTAssertEqual(try store.capsuleNames(), ["a"])
        r = try store.gc()
        XCTAssertEqual(r.blocksRemoved, 32, "b's 32 distinct pages; the shared page stays")
        XCTAssertTrue(same(try loadRAM("a"), ram(seed: 1)))
        // the working disk keeps its layer alive after the capsule is gone
        try store.removeCapsule("a")
        try store.gc()
        XCTAssertTrue(store.layers.has(disk.layers[0]))
        XCTAssertEqual(try store.blocks.allBlocks().count, 1)
        try store.removeDisk("hda")
        try store.gc()
        XCTAssertEqual(try store.blocks.allBlocks(), [])
        XCTAssertEqual(try store.layers.all(), [])
    }

    func testGCRefusesWhenAManifestIsDamaged() throws {
        try save("a", seed: 1)
        try save("b", seed: 2, parent: .init(name: "a", manifestHash: try store.manifest(of: "a").hash))
        try writeFile(store.capsulesDirectory + "/a/manifest.json", Array("{".utf8))
        let list = try store.list()
        XCTAssertEqual(list.map(\.name), ["a", "b"])
        XCTAssertNotNil(list[0].problem, "a damaged capsule is listed with its problem")
        XCTAssertEqual(list[1].parent, "a")
        XCTAssertEqual(list[1].storedPages, 48)
        XCTAssertThrowsMessage(try store.gc(), "gc: stopped, capsule a")
        XCTAssertGreaterThan(try store.blocks.allBlocks().count, 0)
    }

    func testInspectUniqueAndShared() throws {
        try save("a", seed: 1)
        let solo = try store.inspect("a")
        XCTAssertEqual(solo.sharedBytes, 0)
        XCTAssertEqual(solo.memoryPages, 64)
        XCTAssertEqual(solo.memoryStoredPages, 48)
        XCTAssertEqual(solo.distinctBlocks, 33)
        XCTAssertEqual(solo.stateSections.map(\.tag), ["timer", "dev"])
        try save("b", seed: 2)
        let a = try store.inspect("a")
        let shared = store.blocks.storedSize(BlockName.of(sampleBlock(1000)))!
        XCTAssertEqual(a.sharedBytes, shared)
        XCTAssertEqual(a.uniqueBytes + a.sharedBytes, solo.uniqueBytes)
    }

    func testIncrementalMemorySave() throws {
        var r = ram(seed: 1)
        let (m1, _) = try r.withUnsafeBytes { try store.saveCapsule(name: "a", state: state(1), ram: $0) }
        r.replaceSubrange(0..<4096, with: sampleBlock(555))  // page 0 dirty
        let putsBefore = store.blocks.stats.puts
        let (m2, _) = try r.withUnsafeBytes {
            try store.saveCapsule(name: "a", parent: .init(name: "a", manifestHash: .zero), state: state(2), ram: $0,
                                  previous: m1.memory, dirtyPage: { $0 == 0 })
        }
        XCTAssertEqual(store.blocks.stats.puts - putsBefore, 1, "only the dirty page is hashed")
        XCTAssertEqual(m2.memory.pages[0], BlockName.of(sampleBlock(555)))
        XCTAssertTrue(same(try loadRAM("a"), r))
    }
}

/// fork(2) (Swift's Glibc marks it unavailable). The child only runs
/// plain Swift and system calls before it is killed.
@_silgen_name("fork") func capsule_fork() -> Int32

extension StoreTests {
    func diskPattern(_ k: UInt64) -> [UInt8] {
        (0..<16).reduce(into: [UInt8]()) { $0 += sampleBlock(k * 1000 + UInt64($1)) }
    }

    /// One suspend with a disk: write the disk's pattern, seal it, save.
    func suspendWithDisk(_ disk: LayeredDisk, seed: UInt64) throws {
        try diskPattern(seed).withUnsafeBytes { try disk.write(sector: 0, count: 128, from: $0) }
        try disk.seal()
        try save("web", seed: seed, disks: [Manifest.DiskPart(name: "hda", size: disk.size, layers: disk.layers)])
    }

    /// Like `testKilledDuringSuspend`, with a disk sealed in every suspend:
    /// after each kill the capsule, its memory and its disk agree, and the
    /// working disk opens.
    func testKilledDuringSuspendWithDisk() throws {
        let disk = try store.createDisk("hda", size: 1 << 20)
        try suspendWithDisk(disk, seed: 1)
        try disk.close()
        var rng = TestRandom(99)
        var observedSeeds = Set<UInt32>()
        for round in 0..<10 {
            let pid = capsule_fork()
            if pid == 0 {
                if let s = try? Store(root: root), let d = try? s.openDisk("hda") {
                    self.store = s
                    var seed: UInt64 = 2
                    while true { try? suspendWithDisk(d, seed: seed); seed = seed % 5 + 2 }
                }
                _exit(0)
            }
            usleep(useconds_t(30_000 + rng.next() % 200_000))
            kill(pid, SIGKILL)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
            store = try Store(root: root)
            let l = try store.loadCapsule("web")
            var t = TimerV2()
            try l.state.restorer().restore(&t)
            observedSeeds.insert(t.count)
            XCTAssertTrue(same(try loadRAM("web"), ram(seed: UInt64(t.count))), "round \(round)")
            let part = try XCTUnwrap(l.manifest.disks.first)
            let view = try LayeredDisk.view(store: store, size: part.size, layers: part.layers)
            var content = [UInt8](repeating: 0, count: 16 * 4096)
            try content.withUnsafeMutableBytes { try view.read(sector: 0, count: 128, into: $0) }
            XCTAssertTrue(same(content, diskPattern(UInt64(t.count))), "round \(round): the capsule's disk matches its memory")
            XCTAssertGreaterThan(try store.verifyCapsule("web"), 0)
            let working = try store.openDisk("hda")
            try content.withUnsafeMutableBytes { try working.read(sector: 0, count: 128, into: $0) }
            try working.close()
        }
        try store.gc()
        XCTAssertGreaterThan(try store.verifyCapsule("web"), 0)
        print("kill test with disk: capsule versions seen after kills: \(observedSeeds.sorted())")
    }
}

extension StoreTests {
    /// Suspend → resume → write → crash (no suspend) → resume again: the
    /// second resume sees the capsule's disk, not the lost writes.
    func testResumeWorkingDiskFollowsTheCapsule() throws {
        let disk = try store.createDisk("install", size: 1 << 20)
        try sampleBlock(1).withUnsafeBytes { try disk.write(sector: 0, count: 8, from: $0) }
        try disk.seal()
        try save("web", seed: 1, disks: [.init(name: "hda", size: disk.size, layers: disk.layers)])
        try disk.close()
        let part = try store.manifest(of: "web").manifest.disks[0]
        var block = [UInt8](repeating: 0, count: 4096)
        do {
            let w = try store.workingDisk(capsule: "web", part: part)
            try block.withUnsafeMutableBytes { try w.read(sector: 0, count: 8, into: $0) }
            XCTAssertEqual(block, sampleBlock(1))
            try sampleBlock(2).withUnsafeBytes { try w.write(sector: 0, count: 8, from: $0) }
            try w.close()  // the machine dies here without suspending
        }
        let again = try store.workingDisk(capsule: "web", part: part)
        try block.withUnsafeMutableBytes { try again.read(sector: 0, count: 8, into: $0) }
        XCTAssertEqual(block, sampleBlock(1))
        XCTAssertEqual(again.layers, part.layers)
        XCTAssertEqual(try store.diskNames(), ["install", "web.hda"])
    }
}
