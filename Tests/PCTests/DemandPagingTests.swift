import XCTest
import X86
@testable import PC

/// The machine-side demand-paging hooks: absent pages resolved on the
/// first touch by the CPU (fetch, load, store) and by DMA, background
/// supply, failure handling, and the TLB-sampled recency record.
final class DemandPagingTests: XCTestCase {
    /// A machine whose reset vector runs: mov ax,[5000h]; mov [6004h],ax;
    /// mov ax,[7000h]; cli; hlt (real mode, DS = 0).
    func machine() throws -> Machine {
        let m = try Machine(memorySize: 1 << 20)
        var rom = [UInt8](repeating: 0xF4, count: 0x10000)
        let code: [UInt8] = [0xA1, 0x00, 0x50, 0xA3, 0x04, 0x60, 0xA1, 0x00, 0x70, 0xFA, 0xF4]
        rom.replaceSubrange(0xFFF0..<(0xFFF0 + code.count), with: code)
        try m.loadFirmware(rom)
        return m
    }

    func page(_ fill: UInt8, word0: UInt16? = nil) -> [UInt8] {
        var p = [UInt8](repeating: fill, count: 4096)
        if let w = word0 { p[0] = UInt8(w & 0xFF); p[1] = UInt8(w >> 8) }
        return p
    }

    func testCPUTouchFetchesAbsentPagesThenRunsOnRAM() throws {
        let m = try machine()
        var asked: [UInt32] = []
        let pager = m.enableDemandPaging { p in
            asked.append(p)
            return p == 5 ? self.page(0, word0: 0x1234) : self.page(0xAA)
        }
        m.memory.write(0x5000, width: 2, value: 0xFFFF) // stale bytes the pager must replace
        XCTAssertEqual(pager.markAbsent([5, 6, 9]), 3)
        XCTAssertTrue(m.hasAbsentPages)
        XCTAssertEqual(m.run(instructions: 1000), .haltedWithInterruptsDisabled)
        XCTAssertEqual(asked, [5, 6], "fetched in touch order, only what was touched")
        XCTAssertEqual(m.cpu.gpr(0) & 0xFFFF, 0, "mov ax,[7000h] ran after the load")
        XCTAssertEqual(m.memory.read(0x6004, width: 2), 0x1234, "the loaded word, stored into the fetched page")
        XCTAssertEqual(m.memory.read(0x6000, width: 1), 0xAA, "the rest of page 6 is the fetched contents")
        XCTAssertEqual(pager.resolvedOnDemand, 2)
        XCTAssertEqual(pager.absent.pages, [9])
        // The background stream fills the rest; pages already present are not overwritten.
        XCTAssertTrue(try pager.supply(page: 9, contents: page(0x99)))
        XCTAssertFalse(try pager.supply(page: 6, contents: page(0x11)))
        XCTAssertEqual(m.memory.read(0x6004, width: 2), 0x1234)
        XCTAssertEqual(m.memory.read(0x9FFF, width: 1), 0x99)
        XCTAssertFalse(m.hasAbsentPages)
        XCTAssertFalse(try pager.supply(page: 10, contents: [1, 2, 3]), "not absent: ignored")
        _ = pager.markAbsent([10])
        XCTAssertThrowsError(try pager.supply(page: 10, contents: [1, 2, 3]), "wrong size")
    }

    func testDMATouchFetchesAbsentPages() throws {
        let m = try machine()
        let pager = m.enableDemandPaging { _ in self.page(0x5A) }
        pager.markAbsent([0x20, 0x21])
        // A device writing a block across both pages (IDE bus-master style).
        m.memory.write([UInt8](repeating: 0x01, count: 16), at: 0x20FF8)
        XCTAssertEqual(m.memory.read(0x20FF7, width: 1), 0x5A)
        XCTAssertEqual(m.memory.read(0x20FF8, count: 16), [UInt8](repeating: 0x01, count: 16))
        XCTAssertEqual(m.memory.read(0x21008, width: 1), 0x5A)
        XCTAssertEqual(pager.absent.count, 0)
        // Pages that are not plain RAM are never marked.
        XCTAssertEqual(pager.markAbsent([0xF0, 0xFFFF]), 0, "BIOS ROM page, beyond RAM")
    }

    func testFailedFetchStopsTheMachine() throws {
        let m = try machine()
        struct Gone: Error {}
        let pager = m.enableDemandPaging { _ in throw Gone() }
        pager.markAbsent([5])
        XCTAssertEqual(m.run(instructions: 1000), .stopRequested)
        XCTAssertNotNil(pager.failure)
        XCTAssertTrue(pager.failure!.contains("page 0x5"), pager.failure!)
        XCTAssertTrue(m.hasAbsentPages)
    }

    func testRecencyOrdersTouchedPagesFirst() throws {
        let m = try machine()
        let r = m.enablePageRecency(interval: 1 << 40)
        XCTAssertEqual(m.run(instructions: 1000), .haltedWithInterruptsDisabled)
        r.sample(m.cpu)
        XCTAssertEqual(Set(r.pagesByRecency().prefix(3)), [5, 6, 7])
        XCTAssertEqual(r.lastEpoch(of: 7), 0)
        XCTAssertNil(r.lastEpoch(of: 8))
        r.sample(m.cpu) // nothing touched since: the TLB was flushed by the first sample
        r.touch(0x42)
        XCTAssertEqual(r.pagesByRecency().first, 0x42)
        XCTAssertEqual(r.epoch, 2)
    }
}
