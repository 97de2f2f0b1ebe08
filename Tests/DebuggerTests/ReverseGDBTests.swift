import Capsule
import Foundation
import XCTest
@testable import Debugger
import PC
import X86

/// The real gdb going backwards through the stub on a whole PC: the
/// reverse engine checkpoints while gdb steps and continues, and
/// `reverse-stepi` / `reverse-continue` land on states whose complete
/// state hash equals the one seen going forwards.
final class ReverseGDBTests: XCTestCase {
    /// 1000 mov ecx,0 / 1005 inc ecx / 1006 mov [3000],ecx / 100C out 80,al / 100E jmp 1005
    static let loop: [UInt8] = [0xB9, 0, 0, 0, 0, 0x41, 0x89, 0x0D, 0x00, 0x30, 0x00, 0x00, 0xE6, 0x80, 0xEB, 0xF5]

    /// The loop at 0x1000 under a GDB server with a reverse engine (a short
    /// checkpoint interval so going back crosses checkpoints) and a
    /// `monitor statehash`; `done` is signalled when the session ends.
    func serveLoop() throws -> (GDBServer, DispatchSemaphore) {
        let machine = try Machine(memorySize: 16 << 20)
        machine.cpu.enterFlat32(cpl: 0)
        machine.memory.write(ReverseGDBTests.loop, at: 0x1000)
        machine.cpu.eip = 0x1000
        let engine = ReverseEngine(machine: machine, interval: 64)
        let server = try GDBServer(machine: machine, port: 0, reverseEngine: engine)
        server.monitorExtension = { line in
            line == "statehash" ? "statehash \((try? StateHash.of(machine).hex) ?? "?")\n" : nil
        }
        let done = DispatchSemaphore(value: 0)
        Thread {
            _ = server.waitForDebugger(timeoutMs: 30_000)
            done.signal()
        }.start()
        return (server, done)
    }

    func testRealGDBReverseStepAndContinue() throws {
        let (server, done) = try serveLoop()
        guard let out = try runGDB([
            "set architecture i386",
            "target remote 127.0.0.1:\(server.port)",
            "monitor statehash",            // H0: the start
            "stepi 300",
            "monitor statehash",            // H1: after 300
            "stepi",
            "printf \"FWD_EIP=%x\\n\", $eip",
            "reverse-stepi",
            "printf \"BACK_EIP=%x\\n\", $eip",
            "monitor statehash",            // H2 == H1
            "break *0x100c",
            "continue",
            "printf \"HIT1_ECX=%x\\n\", $ecx",
            "monitor statehash",            // H3
            "continue",
            "printf \"HIT2_ECX=%x\\n\", $ecx",
            "reverse-continue",
            "printf \"RC_ECX=%x\\n\", $ecx",
            "printf \"RC_EIP=%x\\n\", $eip",
            "monitor statehash",            // H4 == H3
            "delete",
            "reverse-continue",
            "printf \"START_EIP=%x\\n\", $eip",
            "monitor statehash",            // H5 == H0
            "kill",
        ], timeout: 120) else { throw XCTSkip("gdb is not installed") }
        _ = done.wait(timeout: .now() + 30)
        server.close()
        let context = "gdb output:\n\(out)"
        let hashes = out.split(separator: "\n").filter { $0.hasPrefix("statehash ") }.map { String($0.dropFirst(10)) }
        XCTAssertEqual(hashes.count, 6, context)
        guard hashes.count == 6 else { return }
        XCTAssertEqual(hashes[2], hashes[1], "reverse-stepi came back to the state before the step\n" + context)
        XCTAssertEqual(hashes[4], hashes[3], "reverse-continue came back to the previous breakpoint hit\n" + context)
        XCTAssertEqual(hashes[5], hashes[0], "reverse-continue without breakpoints goes to the start of history\n" + context)
        XCTAssertNotEqual(hashes[1], hashes[0], context)
        XCTAssertEqual(printed(out, "HIT2_ECX"), printed(out, "HIT1_ECX").map { $0 + 1 }, context)
        XCTAssertEqual(printed(out, "RC_ECX"), printed(out, "HIT1_ECX"), context)
        XCTAssertEqual(printed(out, "RC_EIP"), 0x100C, context)
        XCTAssertEqual(printed(out, "START_EIP"), 0x1000, context)
        XCTAssertNotNil(printed(out, "BACK_EIP"), context)
        XCTAssertTrue(out.contains("No more reverse-execution history"), context)
    }

    /// gdb's `reverse-continue` with a hardware watchpoint stops before the
    /// latest earlier write to the watched word: the write is undone.
    func testRealGDBReverseContinueToAWatchpoint() throws {
        let (server, done) = try serveLoop()
        guard let out = try runGDB([
            "set architecture i386",
            "target remote 127.0.0.1:\(server.port)",
            "stepi 201",                    // 50 rounds: ecx = [0x3000] = 50, at the inc
            "printf \"NOW_ECX=%x MEM=%x\\n\", $ecx, *(int*)0x3000",
            "watch *(int*)0x3000",
            "reverse-continue",
            "printf \"RW_EIP=%x ECX=%x MEM=%x\\n\", $eip, $ecx, *(int*)0x3000",
            "reverse-continue",
            "printf \"RW2_EIP=%x ECX=%x MEM=%x\\n\", $eip, $ecx, *(int*)0x3000",
            "continue",
            "printf \"FW_EIP=%x MEM=%x\\n\", $eip, *(int*)0x3000",
            "kill",
        ], timeout: 120) else { throw XCTSkip("gdb is not installed") }
        _ = done.wait(timeout: .now() + 30)
        server.close()
        let context = "gdb output:\n\(out)"
        XCTAssertTrue(out.contains("NOW_ECX=32 MEM=32"), context)
        XCTAssertTrue(out.contains("RW_EIP=1006 ECX=32 MEM=31"), "stopped on the mov that wrote, before it ran\n" + context)
        XCTAssertTrue(out.contains("RW2_EIP=1006 ECX=31 MEM=30"), context)
        XCTAssertTrue(out.contains("FW_EIP=100c MEM=31"), "forward again the same write fires the watchpoint\n" + context)
    }
}
