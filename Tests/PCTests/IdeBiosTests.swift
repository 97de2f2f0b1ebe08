import Foundation
@testable import PC
import X86
import XCTest

/// The Capsule BIOS (firmware/) finds the drives on the controller and
/// boots from them: a hard disk MBR and an El Torito CD, each of which
/// reads a further sector through INT 13h and prints it on COM1.
final class IdeBiosTests: XCTestCase {
    func sh(_ args: [String]) throws -> Int32 { try ideShell(args) }

    /// Assembles a 16-bit flat binary with nasm.
    func assemble(_ source: String) throws -> [UInt8] {
        let dir = NSTemporaryDirectory() + "capsule-ide-asm-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try source.write(toFile: dir + "/boot.asm", atomically: true, encoding: .utf8)
        guard try sh(["nasm", "-f", "bin", "-o", dir + "/boot.bin", dir + "/boot.asm"]) == 0 else {
            throw XCTSkip("nasm failed or is missing")
        }
        return [UInt8](try Data(contentsOf: URL(fileURLWithPath: dir + "/boot.bin")))
    }

    /// Boot code: INT 13h AH=42h of one sector (LBA `lba`, drive in DL as
    /// the BIOS passed it) to 0000:8000, then print the string there.
    func bootCode(lba: Int, origin: Int) throws -> [UInt8] {
        try assemble("""
        bits 16
        org \(origin)
                xor ax, ax
                mov ds, ax
                mov es, ax
                mov ss, ax
                mov sp, 0x7000
                mov si, dap
                mov ah, 0x42
                int 0x13
                jc fail
                mov si, 0x8000
        print:  lodsb
                test al, al
                jz done
                mov dx, 0x3F8
                out dx, al
                jmp print
        fail:   mov al, '!'
                mov dx, 0x3F8
                out dx, al
        done:   hlt
                jmp done
        dap:    db 16, 0
                dw 1
                dw 0x8000, 0x0000
                dq \(lba)
        """)
    }

    /// Runs the machine until `marker` shows on COM1 (or a budget runs out).
    func boot(_ m: Machine, until marker: String) -> String {
        var serial: [UInt8] = []
        m.com1.transmit = { serial.append($0) }
        var text = ""
        for _ in 0..<400 {
            _ = m.run(instructions: 1_000_000)
            text = String(decoding: serial, as: UTF8.self)
            if text.contains(marker) || text.contains("!") && text.hasSuffix("!") { break }
        }
        return text
    }

    func machineWithIDE() throws -> (Machine, IdeController) {
        let image = try ideFirmware()
        let m = try Machine(memorySize: 32 << 20)
        try m.loadFirmware(image)
        return (m, m.ide)
    }

    func testBIOSBootsFromTheHardDisk() throws {
        var disk = [UInt8](repeating: 0, count: 2048 * 512)
        var mbr = try bootCode(lba: 5, origin: 0x7C00)
        mbr += [UInt8](repeating: 0, count: 510 - mbr.count) + [0x55, 0xAA]
        disk.replaceSubrange(0..<512, with: mbr)
        let message = Array("IDE-DISK-OK".utf8) + [0]
        disk.replaceSubrange((5 * 512)..<(5 * 512 + message.count), with: message)
        let file = try IdeTempFile(contents: disk)

        let (m, ide) = try machineWithIDE()
        ide.attachDisk(try RawFileDisk(path: file.path), channel: 0, position: 0)
        let text = boot(m, until: "IDE-DISK-OK")
        XCTAssertTrue(text.contains("CAPSULE HARDDISK"), text)
        XCTAssertTrue(text.contains("IDE-DISK-OK"), text)
        XCTAssertEqual(ide.config.bytes[0x41] & 0x80, 0x80)
    }

    func testBIOSBootsElToritoFromTheCD() throws {
        var iso = [UInt8](repeating: 0, count: 32 * 2048)
        func put(_ bytes: [UInt8], at offset: Int) { iso.replaceSubrange(offset..<(offset + bytes.count), with: bytes) }
        // Primary volume descriptor (minimal) and terminator.
        put([1] + Array("CD001".utf8) + [1], at: 16 * 2048)
        // Boot record volume descriptor, catalog at block 18.
        put([0] + Array("CD001".utf8) + [1] + Array("EL TORITO SPECIFICATION".utf8), at: 17 * 2048)
        put([18, 0, 0, 0], at: 17 * 2048 + 0x47)
        put([255] + Array("CD001".utf8) + [1], at: 19 * 2048)
        // Boot catalog: validation entry (checksummed) and the default entry.
        var validation = [UInt8](repeating: 0, count: 32)
        validation[0] = 1
        validation[30] = 0x55
        validation[31] = 0xAA
        var sum = 0
        for i in stride(from: 0, to: 32, by: 2) { sum += Int(validation[i]) | Int(validation[i + 1]) << 8 }
        let check = (0x10000 - (sum & 0xFFFF)) & 0xFFFF
        validation[28] = UInt8(check & 0xFF)
        validation[29] = UInt8(check >> 8)
        put(validation, at: 18 * 2048)
        put([0x88, 0, 0, 0, 0, 0, 4, 0, 20, 0, 0, 0], at: 18 * 2048 + 32)
        // The boot image (block 20) reads block 21 through INT 13h (drive E0h).
        put(try bootCode(lba: 21, origin: 0x7C00), at: 20 * 2048)
        put(Array("IDE-CD-OK".utf8) + [0], at: 21 * 2048)
        let file = try IdeTempFile(contents: iso)

        let (m, ide) = try machineWithIDE()
        ide.attachCDROM(try RawFileDisk(path: file.path, readOnly: true), channel: 1, position: 0)
        let text = boot(m, until: "IDE-CD-OK")
        XCTAssertTrue(text.contains("El Torito"), text)
        XCTAssertTrue(text.contains("IDE-CD-OK"), text)
    }
}

private let ideRepoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// Runs a command (through /usr/bin/env), output discarded.
func ideShell(_ args: [String]) throws -> Int32 {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = args
    p.standardOutput = FileHandle.nullDevice
    p.standardError = FileHandle.nullDevice
    try p.run()
    p.waitUntilExit()
    return p.terminationStatus
}

/// Builds firmware/ and returns the BIOS image (skips the test without nasm).
func ideFirmware() throws -> [UInt8] {
    let fw = ideRepoRoot.appendingPathComponent("firmware")
    guard try ideShell(["sh", fw.appendingPathComponent("build.sh").path]) == 0 else {
        throw XCTSkip("firmware/build.sh failed (nasm missing?)")
    }
    return [UInt8](try Data(contentsOf: fw.appendingPathComponent("build/bios.bin")))
}
