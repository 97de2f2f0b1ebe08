import Foundation
import PC
import X86
import XCTest

/// Bad input gets a clear error before the machine starts, and a guest
/// poking at nothing is answered the way an empty bus answers.
final class BadInputTests: XCTestCase {
    func testMalformedKernelImagesAreRejectedWithAReason() throws {
        let m = try Machine(memorySize: 16 << 20)
        XCTAssertThrowsError(try LinuxLoader.load(kernel: [UInt8](repeating: 0, count: 100), initrd: nil, commandLine: "", into: m)) {
            XCTAssertTrue("\($0)".contains("too small"), "\($0)")
        }
        var noSignature = [UInt8](repeating: 0, count: 4096)
        XCTAssertThrowsError(try LinuxLoader.load(kernel: noSignature, initrd: nil, commandLine: "", into: m)) {
            XCTAssertTrue("\($0)".contains("0xAA55"), "\($0)")
        }
        noSignature[0x1FE] = 0x55; noSignature[0x1FF] = 0xAA
        XCTAssertThrowsError(try LinuxLoader.load(kernel: noSignature, initrd: nil, commandLine: "", into: m)) {
            XCTAssertTrue("\($0)".contains("HdrS"), "\($0)")
        }
    }

    func testCLIRejectsMissingFilesAndBadOptionsBeforeStarting() throws {
        let rom = try CPUTestROMTests.buildROMs()[0].path
        let short = FileManager.default.temporaryDirectory.appendingPathComponent("capsule-short-\(getpid()).bin")
        try Data(repeating: 0xF4, count: 1000).write(to: short)
        defer { try? FileManager.default.removeItem(at: short) }
        for (args, expected) in [
            (["run", "--disk", "/nonexistent/disk.img"], "does not exist"),
            (["run", "--kernel", "/nonexistent/vmlinuz"], "cannot read kernel"),
            (["run", "--firmware", short.path], "64 KiB or 128 KiB"),
            (["run", "--memory", "lots", "--firmware", "x"], "bad --memory"),
            (["run", "--serial", "pigeon", "--firmware", rom], "bad --serial"),
        ] {
            let (status, text) = try GuestSession.runCapsule(args, serial: nil)
            XCTAssertNotEqual(status, 0, "\(args)")
            XCTAssertTrue(text.contains(expected), "\(args): \(text)")
        }
    }

    func testUnclaimedPortsReadAllOnesAndAreLoggedOnce() throws {
        let m = try Machine(memorySize: 16 << 20)
        var log: [String] = []
        m.ports.log = { log.append($0) }
        XCTAssertEqual(m.ports.ioRead(port: 0x1234, width: 1), 0xFF)
        XCTAssertEqual(m.ports.ioRead(port: 0x1234, width: 4), 0xFFFF_FFFF)
        m.ports.ioWrite(port: 0x1234, width: 2, value: 7)
        XCTAssertEqual(log.count, 1, "\(log)")
    }

    /// If the emulator itself dies, the report names the guest instruction
    /// (CS:EIP and bytes) and the instruction count.
    func testInternalErrorsAreReportedWithTheGuestLocation() throws {
        let guest = try GuestSession.guestDirectory()
        let (status, text) = try GuestSession.runCapsule(["run", "--kernel", guest.appendingPathComponent("vmlinuz").path, "--memory", "64M"],
                                                         environment: ["CAPSULE_DEBUG_CRASH_AFTER": "200000000"])
        XCTAssertNotEqual(status, 0)
        XCTAssertTrue(text.contains("emulator internal error"), text)
        XCTAssertNotNil(text.range(of: #"guest instruction at [0-9A-F]{4}:[0-9A-F]{8} \[[0-9a-f ]+\] after \d+ instructions"#, options: .regularExpression), text)
    }
}
