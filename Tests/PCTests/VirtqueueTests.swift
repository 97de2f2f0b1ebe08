import XCTest
import X86
@testable import PC

/// Split virtqueues read from a hand-built ring in guest RAM, including
/// rings a hostile guest builds: every violation is an error, never a trap.
final class VirtqueueTests: XCTestCase {
    let ram = PhysicalMemory(ramSize: 1 << 20)
    var gm: VirtioGuestMemory { VirtioGuestMemory(ram) }

    /// A queue of `size` with its rings at 0x10000 (desc), 0x11000 (avail), 0x12000 (used).
    func makeQueue(size: UInt16 = 8) -> Virtqueue {
        var q = Virtqueue(size: size)
        q.descAddress = 0x10000
        q.availAddress = 0x11000
        q.usedAddress = 0x12000
        q.enabled = true
        return q
    }

    func desc(_ i: Int, addr: UInt64, len: UInt32, flags: UInt16, next: UInt16) {
        let d = UInt32(0x10000 + 16 * i)
        ram.write(d, width: 4, value: UInt32(truncatingIfNeeded: addr))
        ram.write(d + 4, width: 4, value: UInt32(truncatingIfNeeded: addr >> 32))
        ram.write(d + 8, width: 4, value: len)
        ram.write(d + 12, width: 2, value: UInt32(flags))
        ram.write(d + 14, width: 2, value: UInt32(next))
    }

    func offer(_ heads: [UInt16], startingAt slot: UInt16 = 0) {
        for (i, h) in heads.enumerated() { ram.write(0x11004 + 2 * ((UInt32(slot) + UInt32(i)) % 8), width: 2, value: UInt32(h)) }
        ram.write(0x11002, width: 2, value: UInt32(slot) + UInt32(heads.count))
    }

    func testPopsAChainAndPublishesUsed() throws {
        var q = makeQueue()
        try q.validate(maxSize: 8, memory: gm)
        desc(3, addr: 0x2000, len: 16, flags: 1, next: 5)
        desc(5, addr: 0x3000, len: 100, flags: 2, next: 0)
        offer([3])
        let c = try XCTUnwrap(q.pop(gm))
        XCTAssertEqual(c.head, 3)
        XCTAssertEqual(c.buffers, [.init(address: 0x2000, length: 16, writable: false), .init(address: 0x3000, length: 100, writable: true)])
        XCTAssertNil(try q.pop(gm), "nothing more available")
        try q.push(gm, head: 3, written: 42)
        XCTAssertEqual(ram.read(0x12002, width: 2), 1, "used idx")
        XCTAssertEqual(ram.read(0x12004, width: 4), 3, "used id")
        XCTAssertEqual(ram.read(0x12008, width: 4), 42, "used len")
    }

    func testIndicesWrapAround() throws {
        var q = makeQueue()
        q.lastAvail = 0xFFFF
        q.usedIndex = 0xFFFF
        desc(0, addr: 0x2000, len: 4, flags: 0, next: 0)
        ram.write(0x11004 + 2 * 7, width: 2, value: 0) // slot 0xFFFF % 8 = 7
        ram.write(0x11002, width: 2, value: 0) // idx wrapped to 0: one pending
        XCTAssertEqual(try q.pop(gm)?.head, 0)
        try q.push(gm, head: 0, written: 0)
        XCTAssertEqual(q.usedIndex, 0)
        XCTAssertEqual(ram.read(0x12002, width: 2), 0)
    }

    func assertRejected(_ q: inout Virtqueue, _ needle: String, file: StaticString = #filePath, line: UInt = #line) {
        do {
            _ = try q.pop(gm)
            XCTFail("accepted a hostile ring", file: file, line: line)
        } catch {
            XCTAssertTrue(error.description.contains(needle), error.description, file: file, line: line)
        }
    }

    func testHostileRingsAreErrors() {
        var q = makeQueue()
        ram.write(0x11002, width: 2, value: 9) // 9 ahead of a queue of 8
        assertRejected(&q, "ahead")

        q = makeQueue()
        offer([8]) // head outside the table
        assertRejected(&q, "names descriptor 8")

        q = makeQueue()
        desc(0, addr: 0x2000, len: 4, flags: 1, next: 200)
        offer([0])
        assertRejected(&q, "links to 200")

        q = makeQueue()
        desc(0, addr: 0x2000, len: 4, flags: 1, next: 1)
        desc(1, addr: 0x2000, len: 4, flags: 1, next: 0)
        offer([0])
        assertRejected(&q, "loop")

        q = makeQueue()
        desc(0, addr: 0xF_F000, len: 0x2000, flags: 0, next: 0) // runs past the end of RAM
        offer([0])
        assertRejected(&q, "outside guest RAM")

        q = makeQueue()
        desc(0, addr: 0xFFFF_FFFF_FFFF_F000, len: 0x2000, flags: 0, next: 0) // wraps around 2^64
        offer([0])
        assertRejected(&q, "outside guest RAM")

        q = makeQueue()
        desc(0, addr: 0x2000, len: 16, flags: 4, next: 0)
        offer([0])
        assertRejected(&q, "indirect")
    }

    func testSetUpIsValidated() {
        var q = makeQueue(size: 6)
        XCTAssertThrowsError(try q.validate(maxSize: 8, memory: gm), "size not a power of two")
        q = makeQueue(size: 16)
        XCTAssertThrowsError(try q.validate(maxSize: 8, memory: gm), "size above the maximum")
        q = makeQueue()
        q.usedAddress = 0xF_FFF0
        XCTAssertThrowsError(try q.validate(maxSize: 8, memory: gm), "used ring past RAM")
        q = makeQueue()
        q.descAddress = 0x10008
        XCTAssertThrowsError(try q.validate(maxSize: 8, memory: gm), "misaligned table")
        q = makeQueue()
        q.availAddress = 0xFFFF_FFFF_FFFF_FFFE
        XCTAssertThrowsError(try q.validate(maxSize: 8, memory: gm), "wrapping address")
    }

    func testPageSetSavesOnlyWhatItHolds() {
        var s = GuestPageSet(pageCount: 100)
        XCTAssertTrue(s.insert(3))
        XCTAssertFalse(s.insert(3))
        XCTAssertTrue(s.insert(99))
        XCTAssertFalse(s.insert(100), "past the end of RAM")
        XCTAssertEqual(s.pages, [3, 99])
        var t: [String: UInt64] = [:]
        s.save("p.", into: &t)
        XCTAssertEqual(t.count, 2)
        t["p.1"] = ~0 // frames 64…127: only 64…99 exist
        var r = GuestPageSet(pageCount: 100)
        r.restore("p.", from: t)
        XCTAssertEqual(r.count, 36 + 1)
        XCTAssertFalse(r.contains(100))
    }
}
