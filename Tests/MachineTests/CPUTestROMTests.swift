import Foundation
import PC
import X86
import XCTest

/// Runs the self-checking NASM test ROMs of testimages/cpu (mode switches,
/// descriptors, paging, exceptions, tasks, V86, system instructions) from
/// the reset vector, as `capsule run --firmware` does, and requires every
/// check to pass.
final class CPUTestROMTests: XCTestCase {
    static let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func buildROMs() throws -> [URL] {
        let dir = repoRoot.appendingPathComponent("testimages/cpu")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = [dir.appendingPathComponent("build.sh").path]
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw XCTSkip("testimages/cpu/build.sh failed (is nasm installed? scripts/install-deps.sh installs it)") }
        let build = dir.appendingPathComponent("build")
        return try FileManager.default.contentsOfDirectory(at: build, includingPropertiesForKeys: nil)
            .filter { $0.pathExtension == "bin" }
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
    }

    /// Runs one ROM to its final `cli; hlt` and returns the serial output.
    func run(_ rom: URL) throws -> (String, CPU) {
        let machine = try Machine(memorySize: 16 << 20)
        var serial = [UInt8]()
        machine.com1.transmit = { serial.append($0) }
        try machine.loadFirmware([UInt8](try Data(contentsOf: rom)))
        var outcome = RunOutcome.instructionLimit
        while machine.cpu.instructionCount < 50_000_000 {
            outcome = machine.cpu.run(maxInstructions: 1_000_000)
            if outcome != .instructionLimit { break }
        }
        XCTAssertEqual(outcome, .halted, "\(rom.lastPathComponent) did not halt")
        return (String(decoding: serial, as: UTF8.self), machine.cpu)
    }

    func testEveryROMPasses() throws {
        let roms = try Self.buildROMs()
        XCTAssertGreaterThanOrEqual(roms.count, 7, "expected the CPU test ROMs t0…t7")
        for rom in roms {
            let (out, _) = try run(rom)
            let failures = out.replacingOccurrences(of: "\r", with: "").split(separator: "\n").filter { $0.hasPrefix("FAIL") }
            XCTAssertTrue(out.contains("RESULT: PASS"), "\(rom.lastPathComponent):\n" + failures.joined(separator: "\n"))
        }
    }
}
