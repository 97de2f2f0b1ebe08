import Foundation
import XCTest

/// The real gdb against `capsule run --gdb` booting the Linux guest
/// (release binary): reverse-stepi returns to the state before the step,
/// by the complete state hash, and reverse-continue goes back to an
/// earlier breakpoint hit.
final class ReverseGDBLinuxTests: XCTestCase {
    func testRealGDBReverseOnTheLinuxGuest() throws {
        let target = try LinuxGDBTarget()
        defer { target.finish() }
        XCTAssertTrue(target.waitUntilListening(), "capsule run --gdb did not start: \(target.stderr)")
        let port = target.port
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
        target.process.waitUntilExit()
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
