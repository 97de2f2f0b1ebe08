@testable import Capsule
import XCTest

final class BlockStoreTests: XCTestCase {
    func testNamesAreSHA256() {
        // FIPS 180-2 test vector: SHA-256("abc")
        XCTAssertEqual(BlockName.of(Array("abc".utf8)).hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(BlockName(hex: BlockName.zero.hex), .zero)
        XCTAssertEqual(BlockName.zero.hex, "ad7facb2586fc6e966c004d7d1d16b024f5805ff7cb47c7a85dabd8b48892ca7")
        XCTAssertNil(BlockName(hex: "xyz"))
        XCTAssertNil(BlockName(hex: String(repeating: "g", count: 64)))
        let h = SHA256.Hasher()
        h.update(Array("ab".utf8)); h.update(Array("c".utf8))
        XCTAssertEqual(h.finish(), BlockName.of(Array("abc".utf8)))
    }

    func testRoundTripCompressibleAndNot() throws {
        let store = try BlockStore(directory: temporaryDirectory(self) + "/blocks")
        for seed in 1...20 as ClosedRange<UInt64> {
            let b = sampleBlock(seed, compressible: seed % 2 == 0)
            let n = try store.put(b)
            XCTAssertEqual(n, BlockName.of(b))
            XCTAssertTrue(store.has(n))
            XCTAssertEqual(try store.get(n), b)
            let file = try FileIO.readFile(store.path(for: n))
            XCTAssertEqual(file[5], seed % 2 == 0 ? 1 : 0, "LZ4 only when it helps")
            if seed % 2 == 0 { XCTAssertLessThan(file.count, 4096) } else { XCTAssertEqual(file.count, 4096 + 16) }
        }
        // odd sizes are fine too
        let small: [UInt8] = [1, 2, 3]
        XCTAssertEqual(try store.get(try store.put(small)), small)
        XCTAssertEqual(try store.allBlocks().count, 21)
    }

    func testZeroBlockNeverStored() throws {
        let store = try BlockStore(directory: temporaryDirectory(self) + "/blocks")
        let n = try store.put([UInt8](repeating: 0, count: 4096))
        XCTAssertEqual(n, .zero)
        XCTAssertTrue(store.has(.zero))
        XCTAssertEqual(try store.get(.zero), [UInt8](repeating: 0, count: 4096))
        XCTAssertEqual(try store.allBlocks(), [])
        XCTAssertFalse(FileIO.exists(store.path(for: .zero)))
        XCTAssertEqual(store.stats.zeroPuts, 1)
    }

    func testPutIsIdempotent() throws {
        let store = try BlockStore(directory: temporaryDirectory(self) + "/blocks")
        let b = sampleBlock(7)
        let n1 = try store.put(b), n2 = try store.put(b)
        XCTAssertEqual(n1, n2)
        XCTAssertEqual(store.stats.blocksWritten, 1)
        XCTAssertEqual(store.stats.duplicatePuts, 1)
    }

    func testFlippedByteNamesTheBlock() throws {
        let store = try BlockStore(directory: temporaryDirectory(self) + "/blocks")
        for compressible in [true, false] {
            let n = try store.put(sampleBlock(11, compressible: compressible))
            let p = store.path(for: n)
            var f = try FileIO.readFile(p)
            f[f.count - 100] ^= 0x40
            chmodWritable(p)
            try writeFile(p, f)
            XCTAssertThrowsMessage(try store.get(n), "block \(n.hex)", "corrupt")
        }
    }

    func testTruncatedBlockNamesTheBlock() throws {
        let store = try BlockStore(directory: temporaryDirectory(self) + "/blocks")
        let n = try store.put(sampleBlock(12))
        let p = store.path(for: n)
        let f = try FileIO.readFile(p)
        chmodWritable(p)
        for cut in [0, 8, 16, f.count - 1] {
            try writeFile(p, Array(f[0..<cut]))
            XCTAssertThrowsMessage(try store.get(n), "block \(n.hex)", "truncated")
        }
    }

    func testSwappedBlocksNameTheBlock() throws {
        let store = try BlockStore(directory: temporaryDirectory(self) + "/blocks")
        let a = try store.put(sampleBlock(21)), b = try store.put(sampleBlock(22))
        let fa = try FileIO.readFile(store.path(for: a)), fb = try FileIO.readFile(store.path(for: b))
        chmodWritable(store.path(for: a)); chmodWritable(store.path(for: b))
        try writeFile(store.path(for: a), fb)
        try writeFile(store.path(for: b), fa)
        XCTAssertThrowsMessage(try store.get(a), "block \(a.hex)", "content hashes to \(b.hex)")
        XCTAssertThrowsMessage(try store.get(b), "block \(b.hex)", "content hashes to \(a.hex)")
    }

    func testMissingBlock() throws {
        let store = try BlockStore(directory: temporaryDirectory(self) + "/blocks")
        let n = BlockName.of(sampleBlock(99))
        XCTAssertFalse(store.has(n))
        XCTAssertThrowsError(try store.get(n)) { XCTAssertEqual($0 as? CapsuleError, .missingBlock(n)) }
    }

    func testBatchBlocksAreReadableBeforeCommitAndNamedAfter() throws {
        let store = try BlockStore(directory: temporaryDirectory(self) + "/blocks")
        var names: [BlockName] = []
        try store.batch {
            for s in 1...50 as ClosedRange<UInt64> {
                let n = try store.put(sampleBlock(s))
                names.append(n)
                XCTAssertEqual(try store.get(n), sampleBlock(s))
                XCTAssertFalse(FileIO.exists(store.path(for: n)), "named only at commit")
            }
        }
        for n in names { XCTAssertTrue(FileIO.exists(store.path(for: n))) }
        XCTAssertEqual(try store.temporaryFiles(), [])
    }

    func testFailedBatchLeavesNothing() throws {
        let store = try BlockStore(directory: temporaryDirectory(self) + "/blocks")
        struct Boom: Error {}
        XCTAssertThrowsError(try store.batch { _ = try store.put(sampleBlock(5)); throw Boom() })
        XCTAssertEqual(try store.allBlocks(), [])
        XCTAssertEqual(try store.temporaryFiles(), [])
    }

    func testLeftoverTemporaryFileIsIgnored() throws {
        let store = try BlockStore(directory: temporaryDirectory(self) + "/blocks")
        let n = try store.put(sampleBlock(3))
        let tmp = FileIO.directoryOf(store.path(for: n)) + "/.tmp-123-456-" + n.hex.dropFirst(2)
        try writeFile(tmp, [1, 2, 3])
        XCTAssertEqual(try store.allBlocks(), [n])
        XCTAssertEqual(try store.temporaryFiles(), [tmp])
        XCTAssertEqual(try store.get(n), sampleBlock(3))
    }

    func testNewerBlockFormatIsNamed() throws {
        let store = try BlockStore(directory: temporaryDirectory(self) + "/blocks")
        let n = try store.put(sampleBlock(4))
        var f = try FileIO.readFile(store.path(for: n))
        f[4] = 9
        chmodWritable(store.path(for: n))
        try writeFile(store.path(for: n), f)
        XCTAssertThrowsMessage(try store.get(n), n.hex, "version 9 is newer")
    }
}
