import Foundation
import PC
import XCTest

/// The BIOS image committed as a resource must be exactly what NASM builds
/// from firmware/ today.
final class EmbeddedBIOSTests: XCTestCase {
    func testCommittedBIOSMatchesItsSource() throws {
        let root = CPUTestROMTests.repoRoot
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = [root.appendingPathComponent("firmware/build.sh").path]
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0, "firmware/build.sh failed")
        let built = try Data(contentsOf: root.appendingPathComponent("firmware/build/bios.bin"))
        let embedded = try Machine.embeddedBIOS()
        XCTAssertEqual([UInt8](built), embedded, "Sources/PC/Resources/bios.bin is stale: copy firmware/build/bios.bin over it")
    }

    func testBIOSPostsAndFindsNoBootDevice() throws {
        let m = try Machine(memorySize: 32 << 20)
        var serial = [UInt8]()
        m.com1.transmit = { serial.append($0) }
        try m.loadFirmware(try Machine.embeddedBIOS())
        _ = m.run(instructions: 300_000_000)
        let text = String(decoding: serial, as: UTF8.self)
        XCTAssertTrue(text.contains("Capsule BIOS"), text)
        XCTAssertTrue(text.lowercased().contains("no bootable device"), text)
    }
}
