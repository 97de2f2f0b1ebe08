import Foundation
import XCTest

/// The real gdb against `capsule run --gdb` booting the Linux guest
/// (release binary): reverse-stepi returns to the state before the step,
/// by the complete state hash, and reverse-continue goes back to an
/// earlier breakpoint hit.
final class ReverseGDBLinuxTests: XCTestCase {
    func testRealGDBReverseOnTheLinuxGuest() throws {
        let guest = try DebugScript.guestDirectory()
        let port = UInt16(20000 + Int(getpid() % 20000))
        let p = Process()
        p.executableURL = try DebugScript.binary()
        p.arguments = ["run", "--kernel", guest.appendingPathComponent("vmlinuz").path,
                       "--initrd", guest.appendingPathComponent("initrd.gz").path,
                       "--append", "console=ttyS0 acpi=off", "--memory", "128M",
                       "--serial", "none", "--gdb", String(port), "--gdb-wait"]
        let err = Pipe()
        p.standardError = err
        p.standardOutput = FileHandle.nullDevice
        p.standardInput = FileHandle.nullDevice
        try p.run()
        defer { if p.isRunning { p.terminate() } }
        // Wait until the server listens (a probe connection would become the session).
        let stderr = Box("")
        let lock = NSLock()
        err.fileHandleForReading.readabilityHandler = { h in
            let d = h.availableData
            lock.lock(); stderr.value += String(decoding: d, as: UTF8.self); lock.unlock()
        }
        var ready = false
        for _ in 0..<600 where !ready {
            usleep(50_000)
            lock.lock(); ready = stderr.value.contains("waiting for gdb"); lock.unlock()
        }
        XCTAssertTrue(ready, "capsule run --gdb did not start: \(stderr.value)")
        guard let out = try runGDB([
            "set architecture i386",
            "target remote 127.0.0.1:\(port)",
            "stepi 10",
            "set $e1 = $eip",
            "printf \"E1=%x\\n\", $e1",
            "monitor icount",
            "monitor statehash",
            "stepi",
            "reverse-stepi",
            "monitor statehash",
            "monitor icount",
            "stepi 20",
            "break *$e1",
            "reverse-continue",
            "printf \"BACK=%x\\n\", $eip",
            "monitor icount",
            "monitor statehash",
            "kill",
        ], timeout: 300) else { throw XCTSkip("gdb is not installed") }
        p.waitUntilExit()
        err.fileHandleForReading.readabilityHandler = nil
        let context = "gdb output:\n\(out)"
        let hashes = out.split(separator: "\n").filter { $0.hasPrefix("statehash ") }
        let counts = out.split(separator: "\n").filter { $0.hasSuffix("instructions retired") }.compactMap { UInt64($0.split(separator: " ")[0]) }
        XCTAssertEqual(hashes.count, 3, context)
        XCTAssertEqual(counts.count, 3, context)
        guard hashes.count == 3, counts.count == 3 else { return }
        XCTAssertEqual(counts[0], 10, context)
        XCTAssertEqual(hashes[0], hashes[1], "reverse-stepi: the same state as before the step\n" + context)
        XCTAssertEqual(counts[0], counts[1], context)
        // reverse-continue stops at the latest earlier time EIP was E1: the
        // moment after `stepi 10`, or a later pass through a loop. (Not much
        // further: a few dozen instructions in, the kernel's entry code
        // copies itself with one long REP MOVS, where a breakpoint hits
        // once, on arrival, as x86 instruction breakpoints do.)
        XCTAssertEqual(printed(out, "BACK"), printed(out, "E1"), context)
        XCTAssertGreaterThanOrEqual(counts[2], counts[0], context)
        XCTAssertLessThan(counts[2], 31, context)
        if counts[2] == counts[0] { XCTAssertEqual(hashes[2], hashes[0], context) }
    }
}
