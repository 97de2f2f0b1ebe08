import Foundation
import XCTest

/// The equivalence proof, across processes and through the store:
/// `capsule run` N+M straight vs `capsule run --suspend-after N` then
/// `capsule run` M in a new process → equal state hashes and
/// byte-identical serial output. Uses the release binary.
final class CapsuleEquivalenceTests: XCTestCase {
    func capsule(_ args: [String], serial: String? = nil) throws -> (status: Int32, stderr: String) {
        try GuestSession.runCapsule(args, serial: serial)
    }

    func stateHash(_ stderr: String) -> String? {
        stderr.split(separator: "\n").last.flatMap { $0.hasPrefix("state-hash ") ? String($0.dropFirst(11)) : nil }
    }

    /// Creates a fresh capsule from `machine` options and checks each split.
    func check(machine: [String], total: UInt64, splits: [UInt64], file: StaticString = #filePath, line: UInt = #line) throws {
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("capsule-eq-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: tmp) }
        let store = tmp.appendingPathComponent("store").path
        let straightSerial = tmp.appendingPathComponent("straight.txt").path
        XCTAssertEqual(try capsule(["create", "straight"] + machine + ["--store", store]).status, 0, file: file, line: line)
        let straight = try capsule(["run", "straight", "--store", store, "--max-instructions", "\(total)", "--state-hash"], serial: straightSerial)
        guard let expected = stateHash(straight.stderr) else { return XCTFail("no state hash: \(straight.stderr)", file: file, line: line) }
        for n in splits {
            let name = "split\(n)"
            XCTAssertEqual(try capsule(["create", name] + machine + ["--store", store]).status, 0, file: file, line: line)
            let s1 = tmp.appendingPathComponent("\(name)-1.txt").path, s2 = tmp.appendingPathComponent("\(name)-2.txt").path
            let first = try capsule(["run", name, "--store", store, "--suspend-after", "\(n)"], serial: s1)
            XCTAssertTrue(first.stderr.contains("suspended"), first.stderr, file: file, line: line)
            let second = try capsule(["run", name, "--store", store, "--max-instructions", "\(total - n)", "--state-hash"], serial: s2)
            XCTAssertEqual(stateHash(second.stderr), expected, "split at \(n) diverges", file: file, line: line)
            let joined = try Data(contentsOf: URL(fileURLWithPath: s1)) + Data(contentsOf: URL(fileURLWithPath: s2))
            XCTAssertEqual(joined, try Data(contentsOf: URL(fileURLWithPath: straightSerial)), "serial differs at split \(n)", file: file, line: line)
        }
    }

    func testCPUTestROMsAcrossProcesses() throws {
        _ = try CPUTestROMTests.buildROMs()
        let dir = CPUTestROMTests.repoRoot.appendingPathComponent("testimages/cpu/build").path
        try check(machine: ["--firmware", dir + "/t4_except.bin", "--memory", "16M"], total: 116_000, splits: [2_000, 45_678, 99_999])
        try check(machine: ["--firmware", dir + "/t6_v86.bin", "--memory", "16M"], total: 74_000, splits: [30_303, 61_000])
    }

    /// Debian's kernel with a disk attached: splits during decompression
    /// and during kernel init (timer interrupts, device probing).
    func testLinuxGuestAcrossProcesses() throws {
        let g = try GuestSession.guestDirectory()
        let disk = FileManager.default.temporaryDirectory.appendingPathComponent("capsule-eq-disk-\(getpid()).img")
        try? FileManager.default.removeItem(at: disk)
        try FileManager.default.copyItem(at: g.appendingPathComponent("disk.img"), to: disk)
        defer { try? FileManager.default.removeItem(at: disk) }
        try check(machine: ["--kernel", g.appendingPathComponent("vmlinuz").path, "--initrd", g.appendingPathComponent("initrd.gz").path,
                            "--append", "console=ttyS0 acpi=off", "--disk", disk.path, "--memory", "128M"],
                  total: 3_000_000_000, splits: [900_000_000, 2_400_000_123])
    }
}
