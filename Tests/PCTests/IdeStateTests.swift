import Foundation
@testable import PC
import X86
import XCTest

/// Save in the middle of a transfer, restore into a fresh controller with
/// the same drives, continue: the result must be what the original gives.
final class IdeStateTests: XCTestCase {
    func machine(disk: [UInt8], cd: [UInt8]) -> (IdeHarness, MemoryBlockDevice) {
        let h = IdeHarness()
        let d = MemoryBlockDevice(contents: disk)
        h.ide.attachDisk(d, channel: 0, position: 0)
        h.ide.attachCDROM(MemoryBlockDevice(contents: cd, readOnly: true), channel: 1, position: 1)
        h.enableBusMaster()
        return (h, d)
    }

    /// Through JSON, as a capsule would store it.
    func roundTrip(_ s: IdeControllerState) throws -> IdeControllerState {
        try JSONDecoder().decode(IdeControllerState.self, from: JSONEncoder().encode(s))
    }

    func testMidPIOTransfers() throws {
        let disk = idePatternImage(sectors: 64)
        let cd = (0..<8).flatMap { AtapiTests.isoBlock($0) }
        let (a, _) = machine(disk: disk, cd: cd)
        a.lba28(0x20, lba: 3, count: 4)
        let first = a.readData(768)
        a.packet([0x28, 0, 0, 0, 0, 2, 0, 0, 5, 0], ch: 1, dev: 1, byteLimit: 3000)
        _ = a.status(1)
        let cdFirst = a.readData(1000, ch: 1)

        let saved = try roundTrip(a.ide.saveState())
        XCTAssertEqual(saved, a.ide.saveState())
        let (b, _) = machine(disk: disk, cd: cd)
        try b.ide.restoreState(saved)
        XCTAssertEqual(b.ide.saveState(), saved)

        for h in [a, b] {
            var rest: [UInt8] = []
            while h.altStatus() & 0x08 != 0 {
                _ = h.status()
                rest += h.readData(256)
            }
            assertBytes(first + rest, idePattern(sector: 3, count: 4))
            var cdRest = h.readData(2000, ch: 1)
            let (more, _) = h.packetDataIn(ch: 1)
            cdRest += more
            assertBytes(cdFirst + cdRest, (2..<7).flatMap { AtapiTests.isoBlock($0) })
            XCTAssertEqual(h.inb(0x172) & 0x03, 0x03)
        }
        XCTAssertEqual(a.ide.saveState(), b.ide.saveState())
    }

    func testDMAWaitingForTheBusMaster() throws {
        let disk = idePatternImage(sectors: 64)
        let (a, _) = machine(disk: disk, cd: [UInt8](repeating: 0, count: 2048))
        a.writePRD(at: 0x8000, [(0x10000, 2048)])
        a.setupBM(table: 0x8000, toMemory: true)
        a.lba28(0xC8, lba: 9, count: 4)
        let saved = try roundTrip(a.ide.saveState())

        let (b, _) = machine(disk: disk, cd: [UInt8](repeating: 0, count: 2048))
        b.writePRD(at: 0x8000, [(0x10000, 2048)]) // memory is restored separately
        try b.ide.restoreState(saved)
        b.startBM(toMemory: true)
        XCTAssertEqual(b.irq14Count, 1)
        XCTAssertEqual(b.bmStatus() & 0x07, 0x04)
        assertBytes(b.memory.read(0x10000, count: 2048), idePattern(sector: 9, count: 4))
        XCTAssertEqual(b.ide.busMasterBase, IdeHarness.bmBase, "BAR4 decoding restored")
    }

    func testMismatchedDrivesAreRefused() throws {
        let (a, _) = machine(disk: idePatternImage(sectors: 8), cd: [UInt8](repeating: 0, count: 2048))
        let saved = a.ide.saveState()
        let b = IdeHarness()
        b.ide.attachDisk(MemoryBlockDevice(sectors: 8), channel: 0, position: 0)
        XCTAssertThrowsError(try b.ide.restoreState(saved)) { e in
            XCTAssertTrue("\(e)".contains("position 1"), "\(e)")
        }
        var old = saved
        old.version = 99
        XCTAssertThrowsError(try a.ide.restoreState(old))
    }
}
