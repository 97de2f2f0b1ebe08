@testable import Capsule
import XCTest

/// Every file a capsule consists of, damaged in every way in turn: a
/// flipped byte at the start, middle and end, truncation, emptying, and
/// replacement by a file of the same kind from another capsule. Loading
/// the capsule completely must fail, and the error must name the part.
final class CorruptionSweepTests: XCTestCase {
    var store: Store!

    func page(_ seed: UInt64) -> [UInt8] { sampleBlock(seed, compressible: seed % 2 == 0) }

    func makeCapsule(_ name: String, seed: UInt64) throws {
        var ram: [UInt8] = []
        for p in 0..<6 as Range<UInt64> { ram += p == 0 ? [UInt8](repeating: 0, count: 4096) : page(seed * 10 + p) }
        let disk = try store.createDisk(name + "-disk", size: 64 * 1024)
        try (page(seed * 10 + 7) + page(seed * 10 + 8)).withUnsafeBytes { try disk.write(sector: 8, count: 16, from: $0) }
        try disk.seal()
        var state = StateContainer()
        state.save(TimerV2(count: UInt32(seed), mode: 1, latch: 7))
        state.save(Device())
        try ram.withUnsafeBytes {
            _ = try store.saveCapsule(name: name, machine: ["cpu": "i686"], state: state, ram: $0,
                                      disks: [.init(name: "hda", size: disk.size, layers: disk.layers)],
                                      inputLog: (bytes: Array("100 key \(seed)\n".utf8), events: 1))
        }
        try disk.close()
    }

    /// Loads everything: manifest, state (and restores it), memory, every disk block.
    func loadCompletely(_ name: String) throws {
        let l = try store.loadCapsule(name)
        let restore = l.state.restorer()
        var t = TimerV2()
        try restore.restore(&t)
        try restore.restore(Device())
        try restore.finish()
        var ram = [UInt8](repeating: 0, count: l.manifest.memory.pageCount * 4096)
        try ram.withUnsafeMutableBytes { try store.loadMemory(l.manifest, into: $0) }
        for d in l.manifest.disks {
            let v = try LayeredDisk.view(store: store, size: d.size, layers: d.layers)
            var buf = [UInt8](repeating: 0, count: Int(d.size))
            try buf.withUnsafeMutableBytes { try v.read(sector: 0, count: Int(v.sectorCount), into: $0) }
        }
        try store.verifyCapsule(name)
    }

    func testEveryPartDamagedInTurn() throws {
        store = try Store(root: temporaryDirectory(self) + "/store")
        try makeCapsule("a", seed: 1)
        try makeCapsule("b", seed: 2)
        try loadCompletely("a")
        let ma = try store.manifest(of: "a").manifest, mb = try store.manifest(of: "b").manifest
        let dirA = store.capsulesDirectory + "/a/", dirB = store.capsulesDirectory + "/b/"
        let layerA = try store.layers.get(ma.disks[0].layers[0]), layerB = try store.layers.get(mb.disks[0].layers[0])

        // (path, what the error must mention, a same-kind file from capsule b)
        var parts: [(String, String, String)] = [
            (dirA + "manifest.json", "manifest", dirB + "manifest.json"),
            (dirA + ma.state.file, "state", dirB + mb.state.file),
            (dirA + ma.inputLog!.file, "input log", dirB + mb.inputLog!.file),
            (store.layers.path(for: ma.disks[0].layers[0]), ma.disks[0].layers[0].hex, store.layers.path(for: mb.disks[0].layers[0])),
        ]
        let pagesB = mb.memory.pages.sorted { $0.key < $1.key }.map(\.value)
        for (k, (_, n)) in ma.memory.pages.sorted(by: { $0.key < $1.key }).enumerated() {
            parts.append((store.blocks.path(for: n), n.hex, store.blocks.path(for: pagesB[k])))
        }
        for (k, n) in layerA.names.enumerated() {
            parts.append((store.blocks.path(for: n), n.hex, store.blocks.path(for: layerB.names[k])))
        }
        XCTAssertEqual(parts.count, 4 + 5 + 2)

        var checked = 0
        for (path, mention, other) in parts {
            let good = try FileIO.readFile(path)
            chmodWritable(path)
            var damages: [(String, [UInt8])] = [
                ("truncated to half", Array(good[0..<(good.count / 2)])),
                ("emptied", []),
                ("last byte removed", Array(good.dropLast())),
                ("byte appended", good + [0]),
                ("swapped with b's", try FileIO.readFile(other)),
            ]
            for at in [0, good.count / 3, good.count / 2, good.count - 2] {
                var b = good
                b[at] ^= 0x04
                damages.append(("bit flipped at \(at)", b))
            }
            for (how, bytes) in damages {
                try writeFile(path, bytes)
                do {
                    try loadCompletely("a")
                    XCTFail("\(path) \(how): loaded anyway")
                } catch {
                    let text = "\(error)"
                    XCTAssertTrue(text.contains(mention), "\(path) \(how): \(text) does not mention \(mention)")
                    XCTAssertTrue(text.contains("capsule a") || text.contains("block") || text.contains("layer"), "\(how): \(text)")
                }
                checked += 1
            }
            try writeFile(path, good)
            try loadCompletely("a")
            try FileIO.remove(path)
            XCTAssertThrowsError(try loadCompletely("a"), "\(path) missing")
            try writeFile(path, good)
        }
        try loadCompletely("a")
        try loadCompletely("b")
        print("corruption sweep: \(parts.count) files × \(checked / parts.count) damages, each reported")
    }
}
