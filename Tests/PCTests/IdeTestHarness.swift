import Foundation
@testable import PC
import X86
import XCTest

/// A controller on a port space and 2 MiB of RAM, driven through its
/// ports the way a driver would.
final class IdeHarness {
    let ports = IOPortSpace()
    let memory = PhysicalMemory(ramSize: 2 << 20)
    let ide: IdeController
    var irq14 = false
    var irq15 = false
    /// Rising edges seen on IRQ 14 / 15.
    var irq14Count = 0
    var irq15Count = 0
    static let bmBase: UInt16 = 0xC000

    init() {
        ide = IdeController(ports: ports, memory: memory)
        ide.irq14 = { [unowned self] level in
            if level && !irq14 { irq14Count += 1 }
            irq14 = level
        }
        ide.irq15 = { [unowned self] level in
            if level && !irq15 { irq15Count += 1 }
            irq15 = level
        }
    }

    func inb(_ p: UInt16) -> UInt8 { UInt8(ports.ioRead(port: p, width: 1)) }
    func inw(_ p: UInt16) -> UInt16 { UInt16(ports.ioRead(port: p, width: 2)) }
    func inl(_ p: UInt16) -> UInt32 { ports.ioRead(port: p, width: 4) }
    func outb(_ p: UInt16, _ v: UInt8) { ports.ioWrite(port: p, width: 1, value: UInt32(v)) }
    func outw(_ p: UInt16, _ v: UInt16) { ports.ioWrite(port: p, width: 2, value: UInt32(v)) }
    func outl(_ p: UInt16, _ v: UInt32) { ports.ioWrite(port: p, width: 4, value: v) }

    /// Programs BAR4 and enables I/O decoding and bus mastering, as a BIOS
    /// or the guest's PCI code would.
    func enableBusMaster() {
        ide.configWrite(offset: 0x20, width: 4, value: UInt32(IdeHarness.bmBase) | 1)
        ide.configWrite(offset: 0x04, width: 2, value: 0x0005)
    }

    /// Task-file base of a channel.
    func base(_ channel: Int) -> UInt16 { channel == 0 ? 0x1F0 : 0x170 }
    func ctrl(_ channel: Int) -> UInt16 { channel == 0 ? 0x3F6 : 0x376 }
    func bm(_ channel: Int) -> UInt16 { IdeHarness.bmBase + UInt16(channel * 8) }

    func status(_ ch: Int = 0) -> UInt8 { inb(base(ch) + 7) }
    func altStatus(_ ch: Int = 0) -> UInt8 { inb(ctrl(ch)) }
    func error(_ ch: Int = 0) -> UInt8 { inb(base(ch) + 1) }

    func select(_ ch: Int, _ dev: Int, lbaBits: UInt8 = 0x40) {
        outb(base(ch) + 6, 0xA0 | lbaBits | UInt8(dev << 4))
    }

    /// Sets up an LBA28 command's registers and issues it.
    func lba28(_ cmd: UInt8, lba: UInt32, count: UInt8, ch: Int = 0, dev: Int = 0, feature: UInt8 = 0) {
        outb(base(ch) + 6, 0xE0 | UInt8(dev << 4) | UInt8((lba >> 24) & 0x0F))
        outb(base(ch) + 1, feature)
        outb(base(ch) + 2, count)
        outb(base(ch) + 3, UInt8(lba & 0xFF))
        outb(base(ch) + 4, UInt8((lba >> 8) & 0xFF))
        outb(base(ch) + 5, UInt8((lba >> 16) & 0xFF))
        outb(base(ch) + 7, cmd)
    }

    /// Sets up an LBA48 command's registers (previous then current) and issues it.
    func lba48(_ cmd: UInt8, lba: UInt64, count: UInt16, ch: Int = 0, dev: Int = 0) {
        outb(base(ch) + 6, 0x40 | UInt8(dev << 4))
        outb(base(ch) + 2, UInt8(count >> 8))
        outb(base(ch) + 3, UInt8((lba >> 24) & 0xFF))
        outb(base(ch) + 4, UInt8((lba >> 32) & 0xFF))
        outb(base(ch) + 5, UInt8((lba >> 40) & 0xFF))
        outb(base(ch) + 2, UInt8(count & 0xFF))
        outb(base(ch) + 3, UInt8(lba & 0xFF))
        outb(base(ch) + 4, UInt8((lba >> 8) & 0xFF))
        outb(base(ch) + 5, UInt8((lba >> 16) & 0xFF))
        outb(base(ch) + 7, cmd)
    }

    /// Reads `bytes` from the data port with 16-bit (or 32-bit) accesses.
    func readData(_ bytes: Int, ch: Int = 0, dword: Bool = false) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(bytes)
        if dword {
            for _ in 0..<(bytes / 4) {
                let v = inl(base(ch))
                out += [UInt8(v & 0xFF), UInt8((v >> 8) & 0xFF), UInt8((v >> 16) & 0xFF), UInt8(v >> 24)]
            }
        } else {
            for _ in 0..<(bytes / 2) {
                let v = inw(base(ch))
                out += [UInt8(v & 0xFF), UInt8(v >> 8)]
            }
        }
        return out
    }

    func writeData(_ data: [UInt8], ch: Int = 0, dword: Bool = false) {
        if dword {
            for i in stride(from: 0, to: data.count, by: 4) {
                let v = UInt32(data[i]) | UInt32(data[i + 1]) << 8 | UInt32(data[i + 2]) << 16 | UInt32(data[i + 3]) << 24
                outl(base(ch), v)
            }
        } else {
            for i in stride(from: 0, to: data.count, by: 2) {
                outw(base(ch), UInt16(data[i]) | UInt16(data[i + 1]) << 8)
            }
        }
    }

    /// Reads an IDENTIFY-style block as 256 words.
    func words(_ bytes: [UInt8]) -> [UInt16] {
        (0..<256).map { UInt16(bytes[2 * $0]) | UInt16(bytes[2 * $0 + 1]) << 8 }
    }

    func ataString(_ w: [UInt16], _ from: Int, _ count: Int) -> String {
        var b: [UInt8] = []
        for i in from..<(from + count) { b += [UInt8(w[i] >> 8), UInt8(w[i] & 0xFF)] }
        return String(decoding: b, as: UTF8.self).trimmingCharacters(in: .whitespaces)
    }

    /// Writes a PRD table at `table`: (address, byte count, EOT on last).
    func writePRD(at table: UInt32, _ entries: [(UInt32, Int)]) {
        for (i, (addr, len)) in entries.enumerated() {
            let a = table + UInt32(8 * i)
            memory.write(a, width: 4, value: addr)
            var info = UInt32(len & 0xFFFF)
            if i == entries.count - 1 { info |= 0x8000_0000 }
            memory.write(a + 4, width: 4, value: info)
        }
    }

    /// Sets the PRD table, clears interrupt/error and programs direction.
    func setupBM(ch: Int = 0, table: UInt32, toMemory: Bool) {
        outb(bm(ch), 0) // stop
        outl(bm(ch) + 4, table)
        outb(bm(ch) + 2, 0x06) // clear interrupt and error
        outb(bm(ch), toMemory ? 0x08 : 0x00)
    }

    func startBM(ch: Int = 0, toMemory: Bool) {
        outb(bm(ch), (toMemory ? 0x08 : 0x00) | 0x01)
    }

    func bmStatus(ch: Int = 0) -> UInt8 { inb(bm(ch) + 2) }

    // MARK: ATAPI

    /// Sends a 12-byte packet; returns the status after the packet phase.
    @discardableResult
    func packet(_ cdb: [UInt8], ch: Int = 1, dev: Int = 0, byteLimit: UInt16 = 0xFFFE, dma: Bool = false) -> UInt8 {
        select(ch, dev, lbaBits: 0)
        outb(base(ch) + 1, dma ? 1 : 0)
        outb(base(ch) + 4, UInt8(byteLimit & 0xFF))
        outb(base(ch) + 5, UInt8(byteLimit >> 8))
        outb(base(ch) + 7, 0xA0)
        precondition(altStatus(ch) & 0x08 != 0, "no DRQ for the command packet")
        precondition(inb(base(ch) + 2) & 0x03 == 0x01, "interrupt reason is not CoD")
        var p = cdb
        while p.count < 12 { p.append(0) }
        writeData(p, ch: ch)
        return altStatus(ch)
    }

    /// Reads a PIO data-in phase to the end: every DRQ block's byte count
    /// from LBA mid/high. Returns the data and the block sizes.
    func packetDataIn(ch: Int = 1) -> ([UInt8], [Int]) {
        var data: [UInt8] = []
        var blocks: [Int] = []
        while altStatus(ch) & 0x08 != 0 {
            XCTAssertEqual(inb(base(ch) + 2) & 0x03, 0x02, "interrupt reason during data-in")
            let n = Int(inb(base(ch) + 4)) | Int(inb(base(ch) + 5)) << 8
            blocks.append(n)
            _ = status(ch) // acknowledge the interrupt
            data += readData(n, ch: ch)
        }
        return (data, blocks)
    }
}

/// A temporary file removed when the test ends.
final class IdeTempFile {
    let path: String

    convenience init(bytes: Int, fill: (Int) -> UInt8 = { _ in 0 }) throws {
        var data = [UInt8](repeating: 0, count: bytes)
        for i in 0..<bytes { data[i] = fill(i) }
        try self.init(contents: data)
    }

    init(contents: [UInt8]) throws {
        path = NSTemporaryDirectory() + "capsule-ide-\(UUID().uuidString).img"
        try Data(contents).write(to: URL(fileURLWithPath: path))
    }

    /// A sparse file of `bytes` bytes (only what is written takes space).
    init(sparseBytes: UInt64) throws {
        path = NSTemporaryDirectory() + "capsule-ide-\(UUID().uuidString).img"
        _ = FileManager.default.createFile(atPath: path, contents: nil)
        let h = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try h.truncate(atOffset: sparseBytes)
        try h.close()
    }

    func contents(at offset: UInt64, count: Int) throws -> [UInt8] {
        let h = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
        defer { try? h.close() }
        try h.seek(toOffset: offset)
        return [UInt8](try h.read(upToCount: count) ?? Data())
    }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
    }
}

/// Deterministic test bytes: a sector's content depends on its number.
func idePattern(sector: UInt64, count: Int, salt: UInt8 = 0) -> [UInt8] {
    var out: [UInt8] = []
    out.reserveCapacity(count * 512)
    for s in 0..<UInt64(count) {
        for i in 0..<512 {
            out.append(UInt8(truncatingIfNeeded: (sector + s) &* 31 &+ UInt64(i) &* 7) ^ salt)
        }
    }
    return out
}

/// Compares byte arrays without printing them whole.
func assertBytes(_ got: [UInt8], _ expected: [UInt8], _ message: String = "", file: StaticString = #filePath, line: UInt = #line) {
    if got.count != expected.count {
        XCTFail("\(message) length \(got.count) != \(expected.count)", file: file, line: line)
        return
    }
    if let i = got.indices.first(where: { got[$0] != expected[$0] }) {
        XCTFail("\(message) first difference at byte \(i): \(got[i]) != \(expected[i])", file: file, line: line)
    }
}

/// Builds a file image whose sector n holds idePattern(n).
func idePatternImage(sectors: Int) -> [UInt8] {
    idePattern(sector: 0, count: sectors)
}
