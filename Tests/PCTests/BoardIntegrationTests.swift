import Foundation
import XCTest
import X86
@testable import PC

final class BoardIntegrationTests: XCTestCase {
    static let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    func firmware() throws -> [UInt8] {
        let fw = Self.repoRoot.appendingPathComponent("firmware")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = [fw.appendingPathComponent("build.sh").path]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw XCTSkip("firmware/build.sh failed (nasm missing?)") }
        return [UInt8](try Data(contentsOf: fw.appendingPathComponent("build/bios.bin")))
    }

    /// The Capsule BIOS POSTs on the chipset as Machine wires it: PIC and PIT tick (the BDA
    /// timer count advances), CMOS memory size, i8042 init, PCI probing.
    func testBIOSPostsOnTheChipset() throws {
        let image = try firmware()
        let m = try Machine(memorySize: 32 << 20, rtcStart: 1_709_164_800 + 12 * 3600) // noon
        var serial: [UInt8] = []
        m.com1.transmit = { serial.append($0) }
        try m.loadFirmware(image)
        var text = ""
        var ticks: UInt32 = 0
        for _ in 0..<200 {
            _ = m.run(instructions: 1_000_000)
            text = String(decoding: serial, as: UTF8.self)
            ticks = m.memory.read(0x46C, width: 4)
            if text.contains("No hard disks") && ticks > 5 { break }
        }
        print(text)
        XCTAssertTrue(text.contains("Capsule BIOS"), text)
        XCTAssertTrue(text.contains("KiB extended"), text)
        XCTAssertGreaterThan(ticks, 5, "IRQ0 through the PIC advances the BIOS tick count")
        // The BIOS seeded its tick count from the RTC (noon = 0x0C0000-ish ticks).
        XCTAssertGreaterThan(ticks, 700_000)
        XCTAssertEqual(m.keyboard.commandByte & 0x40, 0x40, "translation on")
        XCTAssertTrue(m.systemControl.a20 || m.keyboard.a20)
        XCTAssertFalse(m.resetRequested)
    }
}
