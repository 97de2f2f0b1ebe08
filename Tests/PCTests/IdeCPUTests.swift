import Foundation
@testable import PC
import X86
import XCTest

/// The controller driven by guest code on the interpreter: port I/O and
/// string I/O (REP INSW/INSD/OUTSW) through the IOPortSpace.
final class IdeCPUTests: XCTestCase {
    func testGuestPIOReadAndWriteWithStringIO() throws {
        let file = try IdeTempFile(contents: idePatternImage(sectors: 64))
        let h = IdeHarness()
        h.ide.attachDisk(try RawFileDisk(path: file.path), channel: 0, position: 0)
        let cpu = CPU(memory: h.memory, io: h.ports)
        cpu.enterFlat32(cpl: 0)

        var code: [UInt8] = []
        func outb(_ port: UInt16, _ v: UInt8) {
            code += [0x66, 0xBA, UInt8(port & 0xFF), UInt8(port >> 8), 0xB0, v, 0xEE]
        }
        func waitDRQ() {
            code += [0x66, 0xBA, 0xF7, 0x01] // mov dx, 1F7h
            code += [0xEC, 0xA8, 0x08, 0x74, 0xFB] // in al,dx; test al,8; jz back
        }
        // READ SECTORS: 2 sectors from LBA 5.
        outb(0x1F6, 0xE0)
        outb(0x1F2, 2)
        outb(0x1F3, 5)
        outb(0x1F4, 0)
        outb(0x1F5, 0)
        outb(0x1F7, 0x20)
        waitDRQ()
        code += [0x66, 0xBA, 0xF0, 0x01] // mov dx, 1F0h
        code += [0xBF, 0x00, 0x20, 0x00, 0x00] // mov edi, 2000h
        code += [0xB9, 0x00, 0x01, 0x00, 0x00] // mov ecx, 256
        code += [0xFC, 0xF3, 0x66, 0x6D] // cld; rep insw
        waitDRQ()
        code += [0x66, 0xBA, 0xF0, 0x01]
        code += [0xB9, 0x80, 0x00, 0x00, 0x00] // mov ecx, 128
        code += [0xF3, 0x6D] // rep insd
        // WRITE SECTORS: 1 sector at LBA 40 from 3000h.
        outb(0x1F2, 1)
        outb(0x1F3, 40)
        outb(0x1F7, 0x30)
        waitDRQ()
        code += [0x66, 0xBA, 0xF0, 0x01]
        code += [0xBE, 0x00, 0x30, 0x00, 0x00] // mov esi, 3000h
        code += [0xB9, 0x00, 0x01, 0x00, 0x00] // mov ecx, 256
        code += [0xF3, 0x66, 0x6F] // rep outsw
        let end = UInt32(0x1000 + code.count)
        h.memory.write(code, at: 0x1000)
        let payload = idePattern(sector: 0, count: 1, salt: 0xC3)
        h.memory.write(payload, at: 0x3000)
        cpu.eip = 0x1000
        cpu.setGPR(4, 0x8000)
        XCTAssertEqual(cpu.run(until: end, maxInstructions: 100_000), .reachedEIP)
        assertBytes(h.memory.read(0x2000, count: 1024), idePattern(sector: 5, count: 2))
        assertBytes(try file.contents(at: 40 * 512, count: 512), payload)
        XCTAssertEqual(h.altStatus() & 0x89, 0)
    }
}
