@testable import Capsule
import XCTest

/// A disk whose sealed layers name blocks the store does not hold yet (a
/// migration's receiver running early) fetches each on first read through
/// `missingBlockResolver`, verified against its name.
final class MissingBlockResolverTests: XCTestCase {
    func testMissingBlocksAreFetchedOnFirstRead() throws {
        let root = temporaryDirectory(self)
        let sender = try Store(root: root + "/a"), receiver = try Store(root: root + "/b")
        let d = try sender.createDisk("d", size: 1 << 20)
        let data = (0..<(8 * 512)).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        try data.withUnsafeBytes { try d.write(sector: 16, count: 8, from: $0) }
        let layer = try XCTUnwrap(try d.seal())
        // Only the layer (the list of names) has arrived.
        XCTAssertEqual(try receiver.layers.put(try sender.layers.get(layer)), layer)
        let view = try LayeredDisk.view(store: receiver, size: 1 << 20, layers: [layer])
        var out = [UInt8](repeating: 0, count: 8 * 512)
        XCTAssertThrowsError(try out.withUnsafeMutableBytes { try view.read(sector: 16, count: 8, into: $0) }, "no resolver: the block is missing")

        var fetched: [BlockName] = []
        view.missingBlockResolver = { name in
            fetched.append(name)
            return try sender.blocks.get(name)
        }
        try out.withUnsafeMutableBytes { try view.read(sector: 16, count: 8, into: $0) }
        XCTAssertEqual(out, data)
        XCTAssertEqual(fetched.count, 1)
        try out.withUnsafeMutableBytes { try view.read(sector: 16, count: 8, into: $0) }
        XCTAssertEqual(fetched.count, 1, "fetched once, then read from the store")
        XCTAssertTrue(receiver.blocks.has(fetched[0]))

        // A resolver that delivers the wrong contents is refused.
        let d2 = try sender.createDisk("e", size: 1 << 20)
        let other = Array(data.reversed())
        try other.withUnsafeBytes { try d2.write(sector: 0, count: 8, from: $0) }
        let l2 = try XCTUnwrap(try d2.seal())
        _ = try receiver.layers.put(try sender.layers.get(l2))
        let view2 = try LayeredDisk.view(store: receiver, size: 1 << 20, layers: [l2])
        view2.missingBlockResolver = { _ in [UInt8](repeating: 9, count: 4096) }
        XCTAssertThrowsMessage(try out.withUnsafeMutableBytes { try view2.read(sector: 0, count: 8, into: $0) }, "has the contents of")
    }
}
