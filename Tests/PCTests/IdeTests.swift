import Foundation
@testable import PC
import X86
import XCTest

final class IdeTests: XCTestCase {
    /// A harness with a raw-file disk of `sectors` sectors (sector n holds
    /// `idePattern(n)`) as primary master.
    func makeDisk(sectors: Int) throws -> (IdeHarness, IdeTempFile, RawFileDisk) {
        let file = try IdeTempFile(contents: idePatternImage(sectors: sectors))
        let disk = try RawFileDisk(path: file.path)
        let h = IdeHarness()
        h.ide.attachDisk(disk, channel: 0, position: 0)
        return (h, file, disk)
    }

    func testPCIIdentityAndLegacyMode() {
        let h = IdeHarness()
        XCTAssertEqual(h.ide.configRead(offset: 0, width: 4), 0x7010_8086)
        XCTAssertEqual(h.ide.configRead(offset: 0x08, width: 4) >> 8, 0x01_0180)
        // BAR4 is a 16-byte I/O BAR.
        h.ide.configWrite(offset: 0x20, width: 4, value: 0xFFFF_FFFF)
        XCTAssertEqual(h.ide.configRead(offset: 0x20, width: 4), 0xFFFF_FFF1)
        XCTAssertNil(h.ide.busMasterBase)
        h.enableBusMaster()
        XCTAssertEqual(h.ide.busMasterBase, IdeHarness.bmBase)
        // Empty channels float.
        XCTAssertEqual(h.status(0), 0xFF)
        XCTAssertEqual(h.status(1), 0xFF)
    }

    func testIdentifyDevice() throws {
        let (h, _, _) = try makeDisk(sectors: 20000)
        XCTAssertEqual(h.status() & 0xC9, 0x40, "ready after power-on")
        h.select(0, 0)
        h.outb(0x1F7, 0xEC)
        XCTAssertEqual(h.irq14Count, 1)
        XCTAssertEqual(h.altStatus() & 0x89, 0x08, "DRQ, no BSY, no ERR")
        XCTAssertTrue(h.irq14)
        _ = h.status()
        XCTAssertFalse(h.irq14, "reading status acknowledges the interrupt")
        let bytes = h.readData(512)
        XCTAssertEqual(h.status() & 0x89, 0x00)
        let w = h.words(bytes)
        XCTAssertEqual(w[0] & 0x8000, 0, "ATA device")
        XCTAssertEqual(h.ataString(w, 27, 20), "CAPSULE HARDDISK")
        XCTAssertEqual(h.ataString(w, 23, 4), "1.0")
        XCTAssertFalse(h.ataString(w, 10, 10).isEmpty)
        XCTAssertEqual(UInt32(w[60]) | UInt32(w[61]) << 16, 20000)
        XCTAssertEqual(UInt64(w[100]) | UInt64(w[101]) << 16 | UInt64(w[102]) << 32 | UInt64(w[103]) << 48, 20000)
        XCTAssertEqual(w[49] & 0x0300, 0x0300, "LBA and DMA")
        XCTAssertEqual(w[83] & 0xC400, 0x4400, "48-bit feature set")
        XCTAssertEqual(w[86] & 0x0400, 0x0400, "48-bit enabled")
        XCTAssertEqual(w[53] & 0x0006, 0x0006)
        XCTAssertEqual(w[63] & 0x0007, 0x0007, "MWDMA 0-2")
        XCTAssertEqual(w[63] & 0x0400, 0x0400, "MWDMA 2 selected")
        XCTAssertEqual(w[88] & 0x003F, 0x003F, "UDMA 0-5")
        XCTAssertEqual(w[47] & 0xFF, 16)
        XCTAssertEqual(w[1], 19, "20000 / (16 * 63) cylinders")
        XCTAssertEqual(w[3], 16)
        XCTAssertEqual(w[6], 63)
        XCTAssertEqual(w[255] & 0xFF, 0xA5)
        XCTAssertEqual(bytes.reduce(UInt8(0), &+), 0, "integrity checksum")

        // SET FEATURES: UDMA 2 becomes the selected mode.
        h.outb(0x1F1, 0x03)
        h.outb(0x1F2, 0x42)
        h.outb(0x1F7, 0xEF)
        XCTAssertEqual(h.status() & 0x01, 0)
        h.outb(0x1F7, 0xEC)
        let w2 = h.words(h.readData(512))
        XCTAssertEqual(w2[88] & 0xFF00, 0x0400)
        XCTAssertEqual(w2[63] & 0xFF00, 0)
    }

    func testLBA28PIOWriteAndRead() throws {
        let (h, file, _) = try makeDisk(sectors: 1000)
        let data = idePattern(sector: 0, count: 3, salt: 0x5A)
        h.lba28(0x30, lba: 700, count: 3)
        XCTAssertEqual(h.irq14Count, 0, "no interrupt before the first PIO-out block")
        for s in 0..<3 {
            XCTAssertEqual(h.altStatus() & 0x88, 0x08, "DRQ for block \(s)")
            h.writeData(Array(data[(s * 512)..<((s + 1) * 512)]), dword: s == 1)
            XCTAssertEqual(h.irq14Count, s + 1)
            _ = h.status()
        }
        XCTAssertEqual(h.altStatus() & 0xC9, 0x40)
        assertBytes(try file.contents(at: 700 * 512, count: 1536), data)
        assertBytes(try file.contents(at: 703 * 512, count: 512), idePattern(sector: 703, count: 1))

        // Read it back, sector by sector, with an interrupt per block.
        h.irq14Count = 0
        h.lba28(0x20, lba: 699, count: 5)
        var back: [UInt8] = []
        for s in 0..<5 {
            XCTAssertEqual(h.irq14Count, s + 1)
            XCTAssertEqual(h.status() & 0x89, 0x08)
            back += h.readData(512, dword: s % 2 == 0)
        }
        XCTAssertEqual(h.irq14Count, 5, "no interrupt after the last PIO-in block")
        XCTAssertEqual(h.status() & 0x89, 0x00)
        assertBytes(back, idePattern(sector: 699, count: 1) + data + idePattern(sector: 703, count: 1))
    }

    func testLBA28SectorCountZeroMeans256() throws {
        let (h, _, _) = try makeDisk(sectors: 600)
        h.lba28(0x20, lba: 10, count: 0)
        var n = 0
        while h.status() & 0x08 != 0 {
            let d = h.readData(512)
            assertBytes(d, idePattern(sector: UInt64(10 + n), count: 1))
            n += 1
        }
        XCTAssertEqual(n, 256)
    }

    func testLBA48PIOAboveTheLBA28Limit() throws {
        // A sparse image just past the 28-bit limit.
        let sectors: UInt64 = 0x1000_0000 + 64
        let file = try IdeTempFile(sparseBytes: sectors * 512)
        let disk = try RawFileDisk(path: file.path)
        XCTAssertEqual(disk.sectorCount, sectors)
        let h = IdeHarness()
        h.ide.attachDisk(disk, channel: 0, position: 0)

        h.select(0, 0)
        h.outb(0x1F7, 0xEC)
        let w = h.words(h.readData(512))
        XCTAssertEqual(UInt32(w[60]) | UInt32(w[61]) << 16, 0x0FFF_FFFF, "LBA28 capacity saturates")
        XCTAssertEqual(UInt64(w[100]) | UInt64(w[101]) << 16 | UInt64(w[102]) << 32, sectors)

        let lba: UInt64 = 0x1000_0010
        let data = idePattern(sector: lba, count: 2, salt: 0x33)
        h.lba48(0x34, lba: lba, count: 2) // WRITE SECTORS EXT
        h.writeData(Array(data[0..<512]))
        h.writeData(Array(data[512...]))
        XCTAssertEqual(h.status() & 0x89, 0x00)
        assertBytes(try file.contents(at: lba * 512, count: 1024), data)

        h.lba48(0x24, lba: lba, count: 2) // READ SECTORS EXT
        var back: [UInt8] = []
        while h.status() & 0x08 != 0 { back += h.readData(512) }
        assertBytes(back, data)

        // HOB reads return the high-order bytes that were written.
        h.lba48(0x27, lba: 0, count: 0) // READ NATIVE MAX ADDRESS EXT
        XCTAssertEqual(h.status() & 0x01, 0)
        let low = UInt64(h.inb(0x1F3)) | UInt64(h.inb(0x1F4)) << 8 | UInt64(h.inb(0x1F5)) << 16
        h.outb(0x3F6, 0x80)
        let high = UInt64(h.inb(0x1F3)) | UInt64(h.inb(0x1F4)) << 8 | UInt64(h.inb(0x1F5)) << 16
        h.outb(0x3F6, 0x00)
        XCTAssertEqual(high << 24 | low, sectors - 1)

        // LBA28 cannot address past its limit.
        h.lba28(0x20, lba: 0x0FFF_FFFF, count: 1)
        XCTAssertEqual(h.status() & 0x01, 0x01)
        XCTAssertEqual(h.error() & 0x10, 0x10, "IDNF")
    }

    func testReadAndWriteMultiple() throws {
        let (h, file, _) = try makeDisk(sectors: 200)
        h.outb(0x1F2, 4)
        h.select(0, 0)
        h.outb(0x1F7, 0xC6) // SET MULTIPLE MODE 4
        XCTAssertEqual(h.status() & 0x01, 0)
        h.irq14Count = 0
        h.lba28(0xC4, lba: 20, count: 10) // READ MULTIPLE
        var sizes: [Int] = []
        var back: [UInt8] = []
        while h.altStatus() & 0x08 != 0 {
            _ = h.status()
            var n = 0
            // A DRQ block lasts until DRQ drops or a new interrupt arrives.
            let before = h.irq14Count
            while h.altStatus() & 0x08 != 0 && h.irq14Count == before {
                back += h.readData(512)
                n += 1
            }
            sizes.append(n)
        }
        XCTAssertEqual(sizes, [4, 4, 2])
        XCTAssertEqual(h.irq14Count, 3)
        assertBytes(back, idePattern(sector: 20, count: 10))

        // WRITE MULTIPLE EXT: 6 sectors in blocks of 4 + 2.
        let data = idePattern(sector: 50, count: 6, salt: 0x77)
        h.irq14Count = 0
        h.lba48(0x39, lba: 50, count: 6)
        XCTAssertEqual(h.irq14Count, 0)
        h.writeData(Array(data[0..<2048]))
        XCTAssertEqual(h.irq14Count, 1)
        _ = h.status()
        h.writeData(Array(data[2048...]))
        XCTAssertEqual(h.irq14Count, 2)
        XCTAssertEqual(h.status() & 0x89, 0)
        assertBytes(try file.contents(at: 50 * 512, count: 3072), data)

        // An invalid multiple count is aborted; READ MULTIPLE after
        // disabling multiple mode is aborted.
        h.outb(0x1F2, 3)
        h.outb(0x1F7, 0xC6)
        XCTAssertEqual(h.status() & 0x01, 1)
        XCTAssertEqual(h.error(), 0x04)
        h.outb(0x1F2, 0)
        h.outb(0x1F7, 0xC6)
        XCTAssertEqual(h.status() & 0x01, 0)
        h.lba28(0xC4, lba: 0, count: 1)
        XCTAssertEqual(h.status() & 0x01, 1)
        XCTAssertEqual(h.error(), 0x04)
    }

    func testDMAReadAndWrite() throws {
        let (h, file, _) = try makeDisk(sectors: 600)
        h.enableBusMaster()
        // Scatter 3 sectors over two buffers.
        h.writePRD(at: 0x8000, [(0x10000, 1024), (0x20000, 512)])
        h.setupBM(table: 0x8000, toMemory: true)
        h.lba28(0xC8, lba: 7, count: 3)
        XCTAssertEqual(h.irq14Count, 0, "nothing happens before the engine starts")
        XCTAssertEqual(h.altStatus() & 0x80 | h.altStatus() & 0x08, 0x08)
        h.startBM(toMemory: true)
        XCTAssertEqual(h.irq14Count, 1)
        XCTAssertEqual(h.bmStatus() & 0x07, 0x04, "interrupt, not active, no error")
        XCTAssertEqual(h.status() & 0x89, 0x00)
        h.outb(h.bm(0), 0x08) // stop
        assertBytes(h.memory.read(0x10000, count: 1024), idePattern(sector: 7, count: 2))
        assertBytes(h.memory.read(0x20000, count: 512), idePattern(sector: 9, count: 1))

        // WRITE DMA EXT from a single 64 KiB entry (byte count 0).
        let data = idePattern(sector: 300, count: 128, salt: 0x11)
        h.memory.write(data, at: 0x40000)
        h.writePRD(at: 0x8000, [(0x40000, 0)])
        h.setupBM(table: 0x8000, toMemory: false)
        h.startBM(toMemory: false) // engine first, command second
        XCTAssertEqual(h.bmStatus() & 0x01, 0x01, "active while waiting")
        h.irq14Count = 0
        h.lba48(0x35, lba: 300, count: 128)
        XCTAssertEqual(h.irq14Count, 1)
        XCTAssertEqual(h.bmStatus() & 0x07, 0x04)
        XCTAssertEqual(h.status() & 0x89, 0x00)
        h.outb(h.bm(0), 0x00)
        assertBytes(try file.contents(at: 300 * 512, count: data.count), data)

        // READ DMA EXT of 200 sectors (more than one internal chunk).
        h.writePRD(at: 0x8000, [(0x100000, 0), (0x110000, 200 * 512 - 65536)])
        h.setupBM(table: 0x8000, toMemory: true)
        h.lba48(0x25, lba: 150, count: 200)
        h.startBM(toMemory: true)
        XCTAssertEqual(h.bmStatus() & 0x07, 0x04)
        let expected = idePattern(sector: 150, count: 150)
        let got = h.memory.read(0x100000, count: 200 * 512)
        assertBytes(Array(got[0..<(150 * 512)]), Array(expected[0..<(150 * 512)]))
        assertBytes(Array(got[(150 * 512)...]), Array(data[0..<(50 * 512)]))
    }

    func testDMAWithLongAndShortPRDTables() throws {
        let (h, _, _) = try makeDisk(sectors: 100)
        h.enableBusMaster()
        // Table longer than the transfer: interrupt with active still set.
        h.writePRD(at: 0x8000, [(0x10000, 4096)])
        h.setupBM(table: 0x8000, toMemory: true)
        h.lba28(0xC8, lba: 0, count: 2)
        h.startBM(toMemory: true)
        XCTAssertEqual(h.bmStatus() & 0x07, 0x05, "interrupt and active")
        XCTAssertEqual(h.status() & 0x89, 0)
        h.outb(h.bm(0), 0x08)
        XCTAssertEqual(h.bmStatus() & 0x01, 0, "stopping clears active")
        h.outb(h.bm(0) + 2, 0x04)
        XCTAssertEqual(h.bmStatus() & 0x04, 0, "interrupt bit is write-1-to-clear")

        // Table shorter than the transfer: the engine stops, no interrupt,
        // the device still wants to transfer.
        h.writePRD(at: 0x8000, [(0x10000, 512)])
        h.setupBM(table: 0x8000, toMemory: true)
        h.irq14Count = 0
        h.lba28(0xC8, lba: 10, count: 2)
        h.startBM(toMemory: true)
        XCTAssertEqual(h.bmStatus() & 0x07, 0x00)
        XCTAssertEqual(h.irq14Count, 0)
        XCTAssertEqual(h.altStatus() & 0x08, 0x08)
        assertBytes(h.memory.read(0x10000, count: 512), idePattern(sector: 10, count: 1))
        // A second table finishes the transfer.
        h.outb(h.bm(0), 0x08)
        h.writePRD(at: 0x8100, [(0x30000, 512)])
        h.outl(h.bm(0) + 4, 0x8100)
        h.startBM(toMemory: true)
        XCTAssertEqual(h.irq14Count, 1)
        XCTAssertEqual(h.bmStatus() & 0x07, 0x04)
        assertBytes(h.memory.read(0x30000, count: 512), idePattern(sector: 11, count: 1))
    }

    func testDMANeedsBusMasterEnable() throws {
        let (h, _, _) = try makeDisk(sectors: 100)
        h.ide.configWrite(offset: 0x20, width: 4, value: UInt32(IdeHarness.bmBase) | 1)
        h.ide.configWrite(offset: 0x04, width: 2, value: 0x0001) // I/O only
        h.writePRD(at: 0x8000, [(0x10000, 512)])
        h.setupBM(table: 0x8000, toMemory: true)
        h.lba28(0xC8, lba: 5, count: 1)
        h.startBM(toMemory: true)
        XCTAssertEqual(h.irq14Count, 0)
        h.ide.configWrite(offset: 0x04, width: 2, value: 0x0005)
        XCTAssertEqual(h.irq14Count, 1)
        assertBytes(h.memory.read(0x10000, count: 512), idePattern(sector: 5, count: 1))
    }

    func testOutOfRangeAndErrors() throws {
        let (h, _, _) = try makeDisk(sectors: 100)
        h.lba28(0x20, lba: 100, count: 1)
        XCTAssertEqual(h.irq14Count, 1)
        XCTAssertEqual(h.status() & 0x89, 0x01, "ERR, no DRQ")
        XCTAssertEqual(h.error(), 0x10, "IDNF")
        h.lba28(0x20, lba: 98, count: 3)
        XCTAssertEqual(h.status() & 0x01, 0x01)
        XCTAssertEqual(h.error(), 0x10)
        h.lba48(0x25, lba: 1 << 40, count: 1)
        XCTAssertEqual(h.status() & 0x01, 0x01)
        XCTAssertEqual(h.error(), 0x10)
        // Unknown command and packet commands: ABRT.
        h.select(0, 0)
        h.outb(0x1F7, 0xA1)
        XCTAssertEqual(h.status() & 0x01, 0x01)
        XCTAssertEqual(h.error(), 0x04)
        h.outb(0x1F7, 0xFE)
        XCTAssertEqual(h.error(), 0x04)
        // A following good command clears the error.
        h.lba28(0x40, lba: 0, count: 100) // READ VERIFY
        XCTAssertEqual(h.status() & 0x01, 0)
        XCTAssertEqual(h.error(), 0)
    }

    func testHostIOErrorsBecomeATAErrors() {
        let disk = MemoryBlockDevice(sectors: 64)
        disk.failingSectors = [40]
        let h = IdeHarness()
        h.ide.attachDisk(disk, channel: 0, position: 0)
        h.lba28(0x20, lba: 38, count: 4)
        // Sectors 38 and 39 read fine, 40 fails.
        XCTAssertEqual(h.status() & 0x09, 0x08)
        _ = h.readData(512)
        XCTAssertEqual(h.status() & 0x09, 0x08)
        _ = h.readData(512)
        XCTAssertEqual(h.status() & 0x89, 0x01)
        XCTAssertEqual(h.error(), 0x40, "UNC")
        XCTAssertEqual(h.inb(0x1F3), 40, "address of the error")
        h.lba28(0x30, lba: 40, count: 1)
        h.writeData([UInt8](repeating: 1, count: 512))
        XCTAssertEqual(h.status() & 0x01, 0x01)
        XCTAssertEqual(h.error(), 0x04, "failed write: ABRT")

        let ro = MemoryBlockDevice(sectors: 8, readOnly: true)
        let h2 = IdeHarness()
        h2.ide.attachDisk(ro, channel: 0, position: 0)
        h2.lba28(0x30, lba: 0, count: 1)
        XCTAssertEqual(h2.status() & 0x09, 0x01, "read-only disk refuses writes")
        XCTAssertEqual(h2.error(), 0x04)
    }

    func testCHSAddressing() throws {
        let (h, _, _) = try makeDisk(sectors: 16 * 63 * 4)
        // Cylinder 1, head 2, sector 3 → LBA (1*16 + 2) * 63 + 2.
        h.outb(0x1F6, 0xA2)
        h.outb(0x1F2, 1)
        h.outb(0x1F3, 3)
        h.outb(0x1F4, 1)
        h.outb(0x1F5, 0)
        h.outb(0x1F7, 0x20)
        XCTAssertEqual(h.status() & 0x09, 0x08)
        assertBytes(h.readData(512), idePattern(sector: UInt64((16 + 2) * 63 + 2), count: 1))
        // Sector 0 does not exist in CHS.
        h.outb(0x1F3, 0)
        h.outb(0x1F7, 0x20)
        XCTAssertEqual(h.status() & 0x01, 0x01)
        XCTAssertEqual(h.error(), 0x10)
        // INITIALIZE DEVICE PARAMETERS: 4 heads, 17 sectors per track.
        h.outb(0x1F6, 0xA3)
        h.outb(0x1F2, 17)
        h.outb(0x1F7, 0x91)
        XCTAssertEqual(h.status() & 0x01, 0)
        h.outb(0x1F6, 0xA1) // head 1
        h.outb(0x1F2, 1)
        h.outb(0x1F3, 5)
        h.outb(0x1F4, 2) // cylinder 2
        h.outb(0x1F5, 0)
        h.outb(0x1F7, 0x20)
        assertBytes(h.readData(512), idePattern(sector: UInt64((2 * 4 + 1) * 17 + 4), count: 1))
        h.outb(0x1F7, 0xEC)
        let w = h.words(h.readData(512))
        XCTAssertEqual(w[55], 4)
        XCTAssertEqual(w[56], 17)
        XCTAssertEqual(Int(w[54]), 16 * 63 * 4 / (4 * 17))
    }

    func testSoftResetSignaturesAndDiagnostics() throws {
        let (h, _, _) = try makeDisk(sectors: 100)
        let iso = MemoryBlockDevice(sectors: 40, readOnly: true)
        h.ide.attachCDROM(iso, channel: 1, position: 0)
        for ch in 0...1 {
            h.outb(h.base(ch) + 2, 0x55)
            h.outb(h.base(ch) + 4, 0x66)
            h.outb(h.ctrl(ch), 0x04) // SRST
            XCTAssertEqual(h.altStatus(ch) & 0x80, 0x80, "BSY during reset")
            h.outb(h.ctrl(ch), 0x00)
            XCTAssertEqual(h.inb(h.base(ch) + 2), 1)
            XCTAssertEqual(h.inb(h.base(ch) + 3), 1)
            XCTAssertEqual(h.error(ch), 0x01)
            XCTAssertEqual(h.inb(h.base(ch) + 6) & 0x10, 0)
        }
        XCTAssertEqual(h.inb(0x1F4), 0x00)
        XCTAssertEqual(h.inb(0x1F5), 0x00)
        XCTAssertEqual(h.status(0), 0x50)
        XCTAssertEqual(h.inb(0x174), 0x14)
        XCTAssertEqual(h.inb(0x175), 0xEB)
        XCTAssertEqual(h.status(1), 0x00, "packet device: DRDY clear after reset")
        XCTAssertEqual(h.irq14Count + h.irq15Count, 0, "no interrupt after SRST")

        // Absent slave reads as zero; writes to its registers go nowhere.
        h.select(0, 1)
        XCTAssertEqual(h.status(0), 0)
        h.outb(0x1F2, 0x55)
        XCTAssertEqual(h.inb(0x1F2), 0)
        h.outb(0x1F7, 0xEC)
        XCTAssertEqual(h.irq14Count, 0)

        // EXECUTE DEVICE DIAGNOSTIC from the absent slave: the master answers.
        h.outb(0x1F7, 0x90)
        XCTAssertEqual(h.irq14Count, 1)
        XCTAssertEqual(h.error(0), 0x01)
        XCTAssertEqual(h.status(0) & 0xC9, 0x40)

        // IDENTIFY DEVICE to the CD-ROM: aborted, signature in place.
        h.select(1, 0, lbaBits: 0)
        h.outb(0x174, 0)
        h.outb(0x175, 0)
        h.outb(0x177, 0xEC)
        XCTAssertEqual(h.status(1) & 0x01, 0x01)
        XCTAssertEqual(h.error(1) & 0x04, 0x04)
        XCTAssertEqual(h.inb(0x174), 0x14)
        XCTAssertEqual(h.inb(0x175), 0xEB)
        // DEVICE RESET: signature again, no interrupt.
        let before = h.irq15Count
        h.outb(0x177, 0x08)
        XCTAssertEqual(h.irq15Count, before)
        XCTAssertEqual(h.inb(0x174), 0x14)
        XCTAssertEqual(h.status(1) & 0x80, 0)
    }

    func testNIENMasksTheInterruptLine() throws {
        let (h, _, _) = try makeDisk(sectors: 100)
        h.outb(0x3F6, 0x02)
        h.lba28(0x20, lba: 1, count: 1)
        XCTAssertFalse(h.irq14)
        XCTAssertEqual(h.altStatus() & 0x08, 0x08)
        h.outb(0x3F6, 0x00)
        XCTAssertTrue(h.irq14, "pending interrupt shows once nIEN clears")
        _ = h.status()
        XCTAssertFalse(h.irq14)
        assertBytes(h.readData(512), idePattern(sector: 1, count: 1))
    }

    func testPowerAndCacheCommands() throws {
        let disk = MemoryBlockDevice(sectors: 64)
        let h = IdeHarness()
        h.ide.attachDisk(disk, channel: 0, position: 1)
        h.select(0, 1)
        h.outb(0x1F7, 0xE0) // STANDBY IMMEDIATE
        XCTAssertEqual(h.status() & 0x01, 0)
        h.outb(0x1F7, 0xE5)
        XCTAssertEqual(h.status() & 0x01, 0)
        XCTAssertEqual(h.inb(0x1F2), 0x00, "standby")
        h.outb(0x1F7, 0xE1) // IDLE IMMEDIATE
        h.outb(0x1F7, 0xE5)
        XCTAssertEqual(h.inb(0x1F2), 0xFF, "active/idle")
        h.outb(0x1F7, 0xE7) // FLUSH CACHE
        h.outb(0x1F7, 0xEA) // FLUSH CACHE EXT
        XCTAssertEqual(h.status() & 0x01, 0)
        XCTAssertEqual(disk.flushCount, 2)
        h.outb(0x1F1, 0x82) // write cache off
        h.outb(0x1F7, 0xEF)
        h.outb(0x1F7, 0xEC)
        let w = h.words(h.readData(512))
        XCTAssertEqual(w[85] & 0x20, 0)
        XCTAssertEqual(w[93] & 0x0F00, 0x0B00, "device 1 reset result")
        h.outb(0x1F1, 0x99) // unknown subcommand
        h.outb(0x1F7, 0xEF)
        XCTAssertEqual(h.status() & 0x01, 1)

        // Soft reset keeps the write cache setting; a hardware reset
        // restores the power-on defaults and the configuration space.
        h.outb(0x3F6, 0x04)
        h.outb(0x3F6, 0x00)
        h.select(0, 1)
        h.outb(0x1F7, 0xEC)
        XCTAssertEqual(h.words(h.readData(512))[85] & 0x20, 0)
        h.enableBusMaster()
        h.ide.reset()
        XCTAssertNil(h.ide.busMasterBase)
        XCTAssertEqual(h.ide.configRead(offset: 0x20, width: 4), 1)
        h.select(0, 1)
        h.outb(0x1F7, 0xEC)
        XCTAssertEqual(h.words(h.readData(512))[85] & 0x20, 0x20)
    }

    func testRawFileDiskErrors() throws {
        XCTAssertThrowsError(try RawFileDisk(path: "/nonexistent/capsule.img")) { e in
            guard case BlockDeviceError.open = e else { return XCTFail("\(e)") }
            XCTAssertTrue("\(e)".contains("/nonexistent/capsule.img"))
        }
        let tiny = try IdeTempFile(bytes: 100)
        XCTAssertThrowsError(try RawFileDisk(path: tiny.path)) { e in
            guard case BlockDeviceError.invalidImage = e else { return XCTFail("\(e)") }
        }
        let file = try IdeTempFile(bytes: 4096 + 100)
        let ro = try RawFileDisk(path: file.path, readOnly: true)
        XCTAssertEqual(ro.sectorCount, 8, "partial trailing sector ignored")
        var buf = [UInt8](repeating: 0, count: 512)
        XCTAssertThrowsError(try buf.withUnsafeBytes { try ro.write(sector: 0, count: 1, from: $0) }) { e in
            XCTAssertEqual(e as? BlockDeviceError, .readOnly)
        }
        XCTAssertThrowsError(try buf.withUnsafeMutableBytes { try ro.read(sector: 8, count: 1, into: $0) }) { e in
            guard case BlockDeviceError.outOfRange = e else { return XCTFail("\(e)") }
        }
        try buf.withUnsafeMutableBytes { try ro.read(sector: 7, count: 1, into: $0) }
    }

    func testImageLocking() throws {
        let file = try IdeTempFile(bytes: 4096)
        let a = try RawFileDisk(path: file.path)
        XCTAssertThrowsError(try RawFileDisk(path: file.path)) { e in
            XCTAssertTrue("\(e)".contains("in use"), "\(e)")
        }
        XCTAssertThrowsError(try RawFileDisk(path: file.path, readOnly: true))
        _ = a
        let other = try IdeTempFile(bytes: 4096)
        let r1 = try RawFileDisk(path: other.path, readOnly: true)
        let r2 = try RawFileDisk(path: other.path, readOnly: true)
        XCTAssertEqual(r1.sectorCount, r2.sectorCount)
    }
}
