@testable import Capsule
import XCTest

final class LayeredDiskTests: XCTestCase {
    var store: Store!
    var root: String!

    override func setUpWithError() throws {
        root = temporaryDirectory(self)
        store = try Store(root: root + "/store")
    }

    func read(_ d: LayeredDisk, _ sector: UInt64, _ count: Int) throws -> [UInt8] {
        var out = [UInt8](repeating: 0xEE, count: count * 512)
        try out.withUnsafeMutableBytes { try d.read(sector: sector, count: count, into: $0) }
        return out
    }

    func write(_ d: LayeredDisk, _ sector: UInt64, _ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try d.write(sector: sector, count: bytes.count / 512, from: $0) }
    }

    func sectors(_ n: Int, fill: UInt8) -> [UInt8] { [UInt8](repeating: fill, count: n * 512) }

    func testNewDiskReadsZeros() throws {
        let d = try store.createDisk("d", size: 1 << 20)
        XCTAssertEqual(d.sectorCount, 2048)
        XCTAssertFalse(d.readOnly)
        XCTAssertEqual(try read(d, 0, 16), sectors(16, fill: 0))
        XCTAssertEqual(try read(d, 2047, 1), sectors(1, fill: 0))
    }

    func testOutOfRangeAccessFails() throws {
        let d = try store.createDisk("d", size: 1 << 20)
        XCTAssertThrowsMessage(try read(d, 2047, 2), "beyond")
        XCTAssertThrowsMessage(try write(d, 2048, sectors(1, fill: 1)), "beyond")
        XCTAssertThrowsMessage(try store.createDisk("odd", size: 1000), "multiple of 512")
    }

    func testWritesAcrossLayersSealAndFlatten() throws {
        var d = try store.createDisk("d", size: 4 << 20)
        var model = [UInt8](repeating: 0, count: 4 << 20)
        var rng = TestRandom(42)
        func apply(_ sector: UInt64, _ data: [UInt8]) throws {
            try write(d, sector, data)
            model.replaceSubrange(Int(sector) * 512..<(Int(sector) * 512 + data.count), with: data)
        }
        func check() throws {
            XCTAssertTrue(same(try read(d, 0, 8192), model))
        }
        // layer 1: scattered writes of odd sizes and offsets
        for _ in 0..<200 {
            let s = rng.next() % 8000, n = Int(rng.next() % 20) + 1
            try apply(s, rng.bytes(n * 512))
        }
        try check()
        let l1 = try XCTUnwrap(try d.seal())
        XCTAssertEqual(d.layers, [l1])
        try check()
        // layer 2: partial-block writes over sealed blocks (read-modify-write),
        // and zeros over data (masking)
        for _ in 0..<200 {
            let s = rng.next() % 8100, n = Int(rng.next() % 3) + 1
            try apply(s, rng.next() % 4 == 0 ? sectors(n, fill: 0) : rng.bytes(n * 512))
        }
        try apply(0, sectors(8, fill: 0))
        try check()
        let l2 = try XCTUnwrap(try d.seal())
        XCTAssertEqual(d.layers, [l1, l2])
        XCTAssertNil(try d.seal(), "an empty top layer adds no layer")
        try apply(100, rng.bytes(512))
        try check()
        // reopen: the top layer survives through its journal
        try d.flush()
        XCTAssertThrowsMessage(try store.openDisk("d"), "in use by another process")
        XCTAssertThrowsMessage(try store.openDisk("d", readOnly: true), "in use by another process")
        try d.close()
        XCTAssertThrowsMessage(try read(d, 0, 1), "closed")
        let again = try store.openDisk("d")
        d = again
        XCTAssertEqual(again.layers, [l1, l2])
        XCTAssertTrue(same(try read(again, 0, 8192), model))
        // flatten equals export
        let before = root + "/before.img", after = root + "/after.img"
        try again.export(to: before)
        try again.flatten()
        XCTAssertEqual(again.layers.count, 1)
        try check()
        try again.export(to: after)
        XCTAssertTrue(same(try FileIO.readFile(before), model))
        XCTAssertTrue(same(try FileIO.readFile(after), model))
        let flat = try store.layers.get(again.layers[0])
        XCTAssertFalse(flat.names.contains(.zero), "a flat layer needs no zero masks")
    }

    func testPartialSectorWriteKeepsTheRestOfTheBlock() throws {
        let d = try store.createDisk("d", size: 64 * 1024)
        try write(d, 0, sectors(8, fill: 0xAA))
        try d.seal()
        try write(d, 3, sectors(1, fill: 0x55))  // sector 3 of block 0
        var expect = sectors(8, fill: 0xAA)
        expect.replaceSubrange(1536..<2048, with: sectors(1, fill: 0x55))
        XCTAssertEqual(try read(d, 0, 8), expect)
        // unaligned byte-level access across a block boundary
        try [UInt8](repeating: 7, count: 200).withUnsafeBytes { try d.writeBytes(at: 4000, from: $0) }
        var buf = [UInt8](repeating: 0, count: 300)
        try buf.withUnsafeMutableBytes { try d.readBytes(at: 3950, into: $0) }
        XCTAssertEqual(Array(buf[0..<50]), [UInt8](repeating: 0xAA, count: 50))
        XCTAssertEqual(Array(buf[50..<250]), [UInt8](repeating: 7, count: 200))
    }

    func testImportExportRoundTrip() throws {
        var rng = TestRandom(7)
        var raw = [UInt8](repeating: 0, count: 3 * 1024 * 1024 + 1000)  // not a multiple of 4 KiB or 512
        for i in stride(from: 0, to: raw.count - 4096, by: 3 * 4096) { raw.replaceSubrange(i..<(i + 4096), with: sampleBlock(rng.next())) }
        raw.replaceSubrange((raw.count - 1000)..., with: rng.bytes(1000))
        let src = root + "/raw.img", out = root + "/out.img"
        try writeFile(src, raw)
        let d = try store.importDisk("imported", raw: src)
        XCTAssertEqual(d.size, UInt64(raw.count + 24))  // rounded up to 512
        XCTAssertEqual(d.layers.count, 1)
        try d.export(to: out)
        XCTAssertTrue(same(try FileIO.readFile(out), raw + [UInt8](repeating: 0, count: 24)))
        let info = try d.info()
        XCTAssertEqual(info.layers.count, 1)
        XCTAssertEqual(info.topBlocks, 0)
        XCTAssertGreaterThan(info.uniqueBytes, 0)
        XCTAssertLessThan(info.storedBytes, UInt64(raw.count) / 2, "zero blocks are not stored, the rest compresses")
    }

    func testInfoCountsSharedBlocks() throws {
        let d = try store.createDisk("d", size: 1 << 20)
        let b = sampleBlock(1)
        for s in [0, 8, 16] as [UInt64] { try write(d, s, b) }  // the same block three times
        try write(d, 24, sampleBlock(2))
        try d.seal()
        try write(d, 32, b)                                       // and once more in layer 2
        try d.seal()
        let info = try d.info()
        XCTAssertEqual(info.layers.map(\.blocks), [4, 1])
        XCTAssertEqual(info.sharedBytes, 4096)
        XCTAssertEqual(info.uniqueBytes, 4096)
        XCTAssertEqual(info.referencedBytes, 5 * 4096)
        XCTAssertEqual(info.visibleBlocks, 5)
    }

    func testUnflushedTornJournalRecordIsIgnored() throws {
        let d = try store.createDisk("d", size: 1 << 20)
        try write(d, 0, sectors(8, fill: 1))
        try d.flush()
        try write(d, 8, sectors(8, fill: 2))
        try d.flush()
        let journal = d.journalPath
        try d.close()
        // a crash in the middle of appending the second record
        var j = try FileIO.readFile(journal)
        j.removeLast(3)
        try writeFile(journal, j)
        let again = try store.openDisk("d")
        XCTAssertEqual(try read(again, 0, 8), sectors(8, fill: 1))
        XCTAssertEqual(try read(again, 8, 8), sectors(8, fill: 0), "the block whose record was torn is not in the top layer")
        XCTAssertEqual(again.topBlockCount, 1)
        // and writing goes on from a clean journal
        try write(again, 8, sectors(8, fill: 3))
        try again.close()
        XCTAssertEqual(try read(store.openDisk("d"), 8, 8), sectors(8, fill: 3))
    }

    func testCrashDuringSealLeavesTheDiskAsItWas() throws {
        let d = try store.createDisk("d", size: 1 << 20)
        try write(d, 0, sectors(8, fill: 9))
        try d.close()
        // what a seal that crashed before its commit leaves: blocks and a
        // layer in the store, next-generation top files
        let dir = try store.diskDirectory("d")
        try writeFile(dir + "/top-2.data", [1, 2, 3])
        try writeFile(dir + "/top-2.journal", [1, 2, 3])
        try writeFile(dir + "/.tmp-1-2-disk.json", [1])
        let again = try store.openDisk("d")
        XCTAssertEqual(again.layers, [])
        XCTAssertEqual(try read(again, 0, 8), sectors(8, fill: 9))
        XCTAssertFalse(FileIO.exists(dir + "/top-2.data"), "leftovers are removed on open")
        XCTAssertFalse(FileIO.exists(dir + "/.tmp-1-2-disk.json"))
    }

    func testReadOnlyViewAndCorruptBlockInLayer() throws {
        let d = try store.createDisk("d", size: 1 << 20)
        try write(d, 0, sampleBlock(5))
        try write(d, 8, sampleBlock(6))
        let l = try XCTUnwrap(try d.seal())
        let v = try LayeredDisk.view(store: store, size: 1 << 20, layers: [l])
        XCTAssertTrue(v.readOnly)
        XCTAssertEqual(try read(v, 0, 8), sampleBlock(5))
        XCTAssertThrowsMessage(try write(v, 0, sectors(1, fill: 0)), "read-only")
        // damage block 1's file: reading it names the block
        let n = BlockName.of(sampleBlock(6))
        let p = store.blocks.path(for: n)
        var f = try FileIO.readFile(p)
        f[20] ^= 1
        chmodWritable(p)
        try writeFile(p, f)
        let v2 = try LayeredDisk.view(store: store, size: 1 << 20, layers: [l])
        XCTAssertThrowsMessage(try read(v2, 8, 8), "block \(n.hex)")
        XCTAssertEqual(try read(v2, 0, 8), sampleBlock(5))
    }

    func testDamagedLayerFileIsNamed() throws {
        let d = try store.createDisk("d", size: 1 << 20)
        try write(d, 0, sampleBlock(5))
        let l = try XCTUnwrap(try d.seal())
        try d.close()
        let p = store.layers.path(for: l)
        var f = try FileIO.readFile(p)
        f[f.count - 1] ^= 1
        try writeFile(p, f)
        XCTAssertThrowsMessage(try store.openDisk("d"), "disk layer \(l.hex) is corrupt")
        try writeFile(p, Array(f[0..<40]))
        XCTAssertThrowsMessage(try store.openDisk("d"), "disk layer \(l.hex) is corrupt")
        try FileIO.remove(p)
        XCTAssertThrowsMessage(try store.openDisk("d"), "disk layer \(l.hex)", "missing")
    }

    func testCacheServesRepeatedReads() throws {
        let d = try store.createDisk("d", size: 1 << 20)
        try write(d, 0, sampleBlock(5))
        try d.seal()
        for _ in 0..<10 { _ = try read(d, 0, 8) }
        XCTAssertEqual(d.cacheStatistics.misses, 1)
        XCTAssertEqual(d.cacheStatistics.hits, 9)
    }
}

extension LayeredDiskTests {
    func testReadOnlyOpensShareButExcludeAWriter() throws {
        let d = try store.createDisk("d", size: 1 << 20)
        try write(d, 0, sectors(8, fill: 4))
        try d.close()
        let r1 = try store.openDisk("d", readOnly: true), r2 = try store.openDisk("d", readOnly: true)
        XCTAssertEqual(try read(r1, 0, 8), sectors(8, fill: 4))
        XCTAssertEqual(try read(r2, 0, 8), sectors(8, fill: 4))
        XCTAssertThrowsMessage(try store.openDisk("d"), "in use")
        XCTAssertThrowsMessage(try write(r1, 0, sectors(1, fill: 1)), "read-only")
        // gc reads the descriptor without the lock
        XCTAssertNoThrow(try store.gc())
    }
}
