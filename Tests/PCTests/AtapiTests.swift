import Foundation
@testable import PC
import X86
import XCTest

final class AtapiTests: XCTestCase {
    static let isoBlocks = 24

    /// Byte `i` of 2048-byte block `b` of the test image.
    static func isoByte(_ b: Int, _ i: Int) -> UInt8 {
        i < 4 ? UInt8((b >> (8 * (3 - i))) & 0xFF) : UInt8(truncatingIfNeeded: b &* 13 &+ i &* 5)
    }

    static func isoBlock(_ b: Int) -> [UInt8] { (0..<2048).map { isoByte(b, $0) } }

    /// A CD-ROM with a raw ISO-like file as the secondary master.
    func makeCD() throws -> (IdeHarness, IdeTempFile, AtapiDrive) {
        let file = try IdeTempFile(contents: (0..<AtapiTests.isoBlocks).flatMap { AtapiTests.isoBlock($0) })
        let medium = try RawFileDisk(path: file.path, readOnly: true)
        let h = IdeHarness()
        let cd = h.ide.attachCDROM(medium, channel: 1, position: 0)
        return (h, file, cd)
    }

    /// Runs a data-in PACKET command by PIO; returns data and DRQ sizes.
    func run(_ h: IdeHarness, _ cdb: [UInt8], limit: UInt16 = 0xFFFE) -> ([UInt8], [Int]) {
        h.packet(cdb, byteLimit: limit)
        let r = h.packetDataIn()
        XCTAssertEqual(h.inb(0x172) & 0x03, 0x03, "interrupt reason: status")
        return r
    }

    func testIdentifyPacketDevice() throws {
        let (h, _, _) = try makeCD()
        h.select(1, 0, lbaBits: 0)
        h.outb(0x177, 0xA1)
        XCTAssertEqual(h.irq15Count, 1)
        XCTAssertEqual(h.status(1) & 0x89, 0x08)
        let bytes = h.readData(512, ch: 1)
        let w = h.words(bytes)
        XCTAssertEqual(w[0], 0x85C0)
        XCTAssertEqual(h.ataString(w, 27, 20), "CAPSULE CD-ROM")
        XCTAssertEqual(w[49] & 0x0300, 0x0300)
        XCTAssertEqual(w[82] & 0x0010, 0x0010, "PACKET feature set")
        XCTAssertEqual(bytes.reduce(UInt8(0), &+), 0)
        XCTAssertEqual(h.irq15Count, 1, "no interrupt after the data")
        XCTAssertEqual(h.status(1) & 0xC9, 0x40)
    }

    func testInquiryCapacityAndRead10() throws {
        let (h, _, _) = try makeCD()
        // INQUIRY
        let (inq, _) = run(h, [0x12, 0, 0, 0, 96, 0])
        XCTAssertEqual(inq.count, 36)
        XCTAssertEqual(inq[0] & 0x1F, 0x05, "CD/DVD device")
        XCTAssertEqual(inq[1] & 0x80, 0x80, "removable")
        XCTAssertEqual(String(decoding: inq[8..<16], as: UTF8.self), "CAPSULE ")
        XCTAssertEqual(String(decoding: inq[16..<32], as: UTF8.self), "VIRTUAL CD-ROM  ")
        XCTAssertEqual(h.status(1) & 0x89, 0x00)

        // TEST UNIT READY: no data, good status, one interrupt.
        let before = h.irq15Count
        h.packet([0x00])
        XCTAssertEqual(h.irq15Count, before + 1)
        XCTAssertEqual(h.status(1) & 0x89, 0x00)
        XCTAssertEqual(h.inb(0x172) & 0x03, 0x03)

        // READ CAPACITY
        let (cap, _) = run(h, [0x25])
        XCTAssertEqual(cap, [0, 0, 0, UInt8(AtapiTests.isoBlocks - 1), 0, 0, 0x08, 0x00])

        // READ(10) of 3 blocks from block 5 with a 4096-byte limit:
        // DRQ blocks of 4096 and 2048 bytes.
        let (data, sizes) = run(h, [0x28, 0, 0, 0, 0, 5, 0, 0, 3, 0], limit: 4096)
        XCTAssertEqual(sizes, [4096, 2048])
        assertBytes(data, AtapiTests.isoBlock(5) + AtapiTests.isoBlock(6) + AtapiTests.isoBlock(7))
        XCTAssertEqual(h.status(1) & 0x89, 0x00)

        // An odd limit that does not divide a block.
        let (data2, sizes2) = run(h, [0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0], limit: 1001)
        XCTAssertEqual(sizes2, [1000, 1000, 48])
        assertBytes(data2, AtapiTests.isoBlock(0))

        // READ(12) of the last 20 blocks (more than one staging refill).
        let (data3, _) = run(h, [0xA8, 0, 0, 0, 0, 4, 0, 0, 0, 20, 0, 0])
        assertBytes(data3, (4..<24).flatMap { AtapiTests.isoBlock($0) })

        // Past the end: CHECK CONDITION, LBA out of range.
        h.packet([0x28, 0, 0, 0, 0, 23, 0, 0, 2, 0])
        XCTAssertEqual(h.status(1) & 0x89, 0x01)
        XCTAssertEqual(h.error(1) >> 4, 0x05)
        let (sense, _) = run(h, [0x03, 0, 0, 0, 18, 0])
        XCTAssertEqual(sense[2] & 0x0F, 0x05)
        XCTAssertEqual(sense[12], 0x21)
    }

    func testRead10ByDMA() throws {
        let (h, _, _) = try makeCD()
        h.enableBusMaster()
        h.writePRD(at: 0x9000, [(0x50000, 3000), (0x60000, 2 * 2048 - 3000)])
        h.setupBM(ch: 1, table: 0x9000, toMemory: true)
        h.startBM(ch: 1, toMemory: true)
        h.packet([0x28, 0, 0, 0, 0, 10, 0, 0, 2, 0], dma: true)
        XCTAssertEqual(h.irq15Count, 1)
        XCTAssertEqual(h.bmStatus(ch: 1) & 0x07, 0x04)
        XCTAssertEqual(h.status(1) & 0x89, 0x00)
        XCTAssertEqual(h.inb(0x172) & 0x03, 0x03)
        let expected = AtapiTests.isoBlock(10) + AtapiTests.isoBlock(11)
        let got = h.memory.read(0x50000, count: 3000) + h.memory.read(0x60000, count: 4096 - 3000)
        assertBytes(got, expected)
    }

    func testUnknownCommandAndRequestSense() throws {
        let (h, _, _) = try makeCD()
        var logged: [String] = []
        h.ide.log = { logged.append($0) }
        h.packet([0xFF, 1, 2, 3])
        XCTAssertEqual(h.irq15Count, 1)
        XCTAssertEqual(h.status(1) & 0x89, 0x01, "CHECK CONDITION")
        XCTAssertEqual(h.error(1), 0x54, "ILLEGAL REQUEST, ABRT")
        XCTAssertEqual(h.inb(0x172) & 0x03, 0x03)
        let (sense, _) = run(h, [0x03, 0, 0, 0, 252, 0])
        XCTAssertEqual(sense.count, 18)
        XCTAssertEqual(sense[0], 0x70)
        XCTAssertEqual(sense[2], 0x05)
        XCTAssertEqual(sense[7], 10)
        XCTAssertEqual(sense[12], 0x20, "INVALID COMMAND OPERATION CODE")
        XCTAssertEqual(sense[13], 0x00)
        XCTAssertEqual(logged, ["IDE secondary master: unimplemented packet command FFh, aborted"])
        h.packet([0xFF])
        XCTAssertEqual(logged.count, 1, "reported once")
        _ = run(h, [0x03, 0, 0, 0, 18, 0])
        // Sense is consumed.
        let (again, _) = run(h, [0x03, 0, 0, 0, 18, 0])
        XCTAssertEqual(again[2], 0)
        XCTAssertEqual(again[12], 0)
        // Allocation length cuts the reply.
        let (short, _) = run(h, [0x03, 0, 0, 0, 8, 0])
        XCTAssertEqual(short.count, 8)
    }

    func testTOCModeSenseConfigurationAndEvents() throws {
        let (h, _, cd) = try makeCD()
        // READ TOC format 0, LBA.
        let (toc, _) = run(h, [0x43, 0, 0, 0, 0, 0, 0, 0x03, 0x24, 0])
        XCTAssertEqual(toc, [0, 18, 1, 1,
                             0, 0x14, 1, 0, 0, 0, 0, 0,
                             0, 0x14, 0xAA, 0, 0, 0, 0, UInt8(AtapiTests.isoBlocks)])
        // MSF: track 1 at 00:02:00, lead-out at 24 + 150 frames = 00:02:24.
        let (msf, _) = run(h, [0x43, 0x02, 0, 0, 0, 0, 0, 0x03, 0x24, 0])
        XCTAssertEqual(Array(msf[8..<12]), [0, 0, 2, 0])
        XCTAssertEqual(Array(msf[16..<20]), [0, 0, 2, 24])
        // Session info.
        let (session, _) = run(h, [0x43, 0, 1, 0, 0, 0, 0, 0, 12, 0])
        XCTAssertEqual(session.count, 12)
        XCTAssertEqual(session[1], 10)

        // MODE SENSE(10) capabilities page.
        let (mode, _) = run(h, [0x5A, 0, 0x2A, 0, 0, 0, 0, 0, 128, 0])
        let length = Int(mode[0]) << 8 | Int(mode[1])
        XCTAssertEqual(length + 2, mode.count)
        XCTAssertEqual(mode[6] << 8 | mode[7], 0, "no block descriptors")
        XCTAssertEqual(mode[8], 0x2A)
        XCTAssertEqual(Int(mode[9]) + 2, mode.count - 8)
        // Saved values are not supported.
        h.packet([0x5A, 0, 0xEA, 0, 0, 0, 0, 0, 128, 0])
        XCTAssertEqual(h.status(1) & 0x01, 0x01)

        // GET CONFIGURATION: current profile CD-ROM.
        let (conf, _) = run(h, [0x46, 0x00, 0, 0, 0, 0, 0, 0x01, 0x00, 0])
        XCTAssertEqual(Int(conf[6]) << 8 | Int(conf[7]), 0x0008)
        XCTAssertEqual(Int(conf[0]) << 24 | Int(conf[1]) << 16 | Int(conf[2]) << 8 | Int(conf[3]), conf.count - 4)
        XCTAssertEqual(Array(conf[8..<10]), [0, 0], "profile list first")
        let (one, _) = run(h, [0x46, 0x02, 0, 0x1E, 0, 0, 0, 0x01, 0x00, 0])
        XCTAssertEqual(one.count, 8 + 8)
        XCTAssertEqual(Array(one[8..<10]), [0, 0x1E])

        // GET EVENT STATUS NOTIFICATION: no event, medium present.
        let (ev, _) = run(h, [0x4A, 0x01, 0, 0, 0x10, 0, 0, 0, 8, 0])
        XCTAssertEqual(ev, [0, 6, 0x04, 0x10, 0, 0x02, 0, 0])

        // READ DISC INFORMATION.
        let (disc, _) = run(h, [0x51, 0, 0, 0, 0, 0, 0, 0, 34, 0])
        XCTAssertEqual(disc.count, 34)
        XCTAssertEqual(disc[2], 0x0E)

        // Lock, refused eject, unlock, eject, then the disc is gone.
        h.packet([0x1E, 0, 0, 0, 1, 0])
        XCTAssertEqual(h.status(1) & 0x01, 0)
        h.packet([0x1B, 0, 0, 0, 0x02, 0])
        XCTAssertEqual(h.status(1) & 0x01, 0x01)
        XCTAssertEqual(h.error(1) >> 4, 0x05)
        h.packet([0x1E, 0, 0, 0, 0, 0])
        h.packet([0x1B, 0, 0, 0, 0x02, 0])
        XCTAssertEqual(h.status(1) & 0x01, 0)
        XCTAssertTrue(cd.trayOpen)
        h.packet([0x00])
        XCTAssertEqual(h.status(1) & 0x01, 0x01)
        XCTAssertEqual(h.error(1) >> 4, 0x02, "NOT READY")
        let (sense, _) = run(h, [0x03, 0, 0, 0, 18, 0])
        XCTAssertEqual(sense[12], 0x3A, "MEDIUM NOT PRESENT")
        let (ev2, _) = run(h, [0x4A, 0x01, 0, 0, 0x10, 0, 0, 0, 8, 0])
        XCTAssertEqual(ev2[4], 3, "media removal event")
        XCTAssertEqual(ev2[5], 0x01, "tray open, no medium")

        // Load again: UNIT ATTENTION once, then ready.
        h.packet([0x1B, 0, 0, 0, 0x03, 0])
        XCTAssertEqual(h.status(1) & 0x01, 0)
        h.packet([0x00])
        XCTAssertEqual(h.error(1) >> 4, 0x06, "UNIT ATTENTION")
        h.packet([0x00])
        XCTAssertEqual(h.status(1) & 0x01, 0)
    }

    func testHostMediaChange() throws {
        let (h, _, cd) = try makeCD()
        cd.eject()
        h.packet([0x00])
        XCTAssertEqual(h.error(1) >> 4, 0x06, "UNIT ATTENTION first")
        h.packet([0x00])
        XCTAssertEqual(h.error(1) >> 4, 0x02, "then NOT READY")
        let other = MemoryBlockDevice(contents: [UInt8](repeating: 0xAB, count: 4 * 2048), readOnly: true)
        cd.insert(other)
        // REQUEST SENSE first returns the last command's sense, then the
        // pending unit attention.
        let (last, _) = run(h, [0x03, 0, 0, 0, 18, 0])
        XCTAssertEqual(last[2], 0x02)
        let (sense, _) = run(h, [0x03, 0, 0, 0, 18, 0])
        XCTAssertEqual(sense[2], 0x06)
        XCTAssertEqual(sense[12], 0x28)
        let (cap, _) = run(h, [0x25])
        XCTAssertEqual(cap.count, 8)
                XCTAssertEqual(cap.prefix(4).last, 3)
        let (d, _) = run(h, [0x28, 0, 0, 0, 0, 1, 0, 0, 1, 0])
        assertBytes(d, [UInt8](repeating: 0xAB, count: 2048))
    }
}
