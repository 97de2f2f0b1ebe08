@testable import Capsule
import XCTest

/// Random bytes and random mutations of valid files into every decoder:
/// each must return an error, never trap.
final class FuzzTests: XCTestCase {
    func mutate(_ b: [UInt8], _ r: inout TestRandom) -> [UInt8] {
        var out = b
        switch r.next() % 5 {
        case 0: if !out.isEmpty { let i = Int(r.next() % UInt64(out.count)); out[i] = UInt8(truncatingIfNeeded: r.next()) }
        case 1: out = Array(out.prefix(Int(r.next() % UInt64(out.count + 1))))
        case 2: out += r.bytes(Int(r.next() % 64))
        case 3: if out.count > 8 { let i = Int(r.next() % UInt64(out.count - 8)); for k in 0..<8 { out[i + k] = 0xFF } }
        default: if !out.isEmpty { let i = Int(r.next() % UInt64(out.count)); out.insert(UInt8(truncatingIfNeeded: r.next()), at: i) }
        }
        return out
    }

    func testDecodersNeverTrap() throws {
        var r = TestRandom(2024)
        var c = StateContainer()
        var w = StateWriter()
        w.write(UInt32(1)); w.write(["a": 1]); w.write(bytes: [1, 2, 3])
        w.subsection("x", version: 2, optional: true) { $0.write("s"); $0.subsection("y") { $0.write(true) } }
        c.add(w.section(tag: "cpu", version: 3))
        c.add(StateSection(tag: "ram", version: 1, payload: [1, 2, 3, 4]))
        let state = c.encoded()
        let layer = DiskLayer(diskSize: 1 << 20, indexes: [0, 5, 255], names: [.zero, BlockName.of([1]), BlockName.of([2])]).encoded()
        let manifest = Manifest(name: "m", state: .init(file: "s.bin", hash: .zero, size: 1),
                                memory: .init(pageCount: 4, pages: [1: BlockName.of([3])])).encoded()
        var decoded = 0
        for _ in 0..<3000 {
            let s = mutate(state, &r)
            if let back = try? StateContainer.decode(s) {
                decoded += 1
                for sec in back.sections {
                    var rd = StateReader(sec)
                    _ = try? rd.readU32(); _ = try? rd.readDictionary(); _ = try? rd.readBytes(); _ = try? rd.finish()
                }
            }
            _ = try? DiskLayer.decode(mutate(layer, &r), name: "fuzz")
            _ = try? Manifest.decode(mutate(manifest, &r))
            _ = try? StateContainer.decode(r.bytes(Int(r.next() % 100)))
        }
        // readers over arbitrary payloads
        for _ in 0..<3000 {
            var rd = StateReader(StateSection(tag: "f", version: 1, payload: r.bytes(Int(r.next() % 40))))
            _ = try? rd.readDictionary(); _ = try? rd.readString(); _ = try? rd.readU64Array(); _ = try? rd.readBool()
            var o = 0
            let junk = r.bytes(Int(r.next() % 80))
            _ = try? StateSection.decode(junk, offset: &o, end: junk.count, path: "")
        }
        XCTAssertLessThan(decoded, 3000)
    }

    func testDamagedBlockFilesNeverTrap() throws {
        let store = try BlockStore(directory: temporaryDirectory(self) + "/b")
        var r = TestRandom(77)
        let n = try store.put(sampleBlock(1))
        let good = try FileIO.readFile(store.path(for: n))
        chmodWritable(store.path(for: n))
        for _ in 0..<300 {
            let bad = mutate(good, &r)
            try writeFile(store.path(for: n), bad)
            // either an error, or (an LZ4 back-reference moved to another
            // copy of the same bytes) exactly the right content
            if let content = try? store.get(n) { XCTAssertEqual(content, sampleBlock(1)) }
        }
    }
}
