import XCTest
@testable import Debugger
import X86

/// The real gdb against the server: registers, stepping, breakpoints,
/// watchpoints, memory and register writes, monitor commands.
final class GDBEndToEndTests: XCTestCase {
    func testRealGDBSession() throws {
        let cpu = TestGuest.make()
        // The CPU's own view before gdb touches anything.
        let expected: [String: UInt32] = [
            "eax": cpu.gpr(0), "ecx": cpu.gpr(1), "edx": cpu.gpr(2), "ebx": cpu.gpr(3),
            "esp": cpu.gpr(4), "ebp": cpu.gpr(5), "esi": cpu.gpr(6), "edi": cpu.gpr(7),
            "eip": cpu.eip, "eflags": cpu.eflags,
            "cs": UInt32(cpu.segment(1).selector), "ss": UInt32(cpu.segment(2).selector),
            "ds": UInt32(cpu.segment(3).selector), "es": UInt32(cpu.segment(0).selector),
            "fs": UInt32(cpu.segment(4).selector), "gs": UInt32(cpu.segment(5).selector),
        ]
        let cr0 = cpu.cr0
        let bg = try BackgroundServer(cpu: cpu)
        guard let out = try runGDB([
            "set architecture i386",
            "target remote 127.0.0.1:\(bg.port)",
            "info registers",
            "monitor icount",
            "stepi",
            "printf \"STEP_EIP=%x\\n\", $eip",
            "monitor icount",
            "break *0x1010",
            "continue",
            "printf \"BP_EIP=%x\\n\", $eip",
            "x/4xb 0x2000",
            "watch *(int*)0x3000",
            "continue",
            "printf \"WATCH_EIP=%x\\n\", $eip",
            "printf \"EAX=%x\\n\", $eax",
            "p $eax",
            "set $ebx = 0x1234",
            "p/x $ebx",
            "printf \"CR0=%x\\n\", $cr0",
            "set {unsigned char}0x2001 = 0x99",
            "monitor info registers",
            "monitor phys 0x2000 16",
            "kill",
        ]) else { throw XCTSkip("gdb is not installed") }
        let end = bg.finish()
        let context = "gdb output:\n\(out)"
        if ProcessInfo.processInfo.environment["GDB_TEST_VERBOSE"] != nil { print(context) }

        // info registers: every core register as the CPU has it.
        var seen: [String: UInt32] = [:]
        for line in out.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 2, fields[1].hasPrefix("0x"), expected[String(fields[0])] != nil,
                  seen[String(fields[0])] == nil else { continue }
            seen[String(fields[0])] = UInt32(fields[1].dropFirst(2), radix: 16)
        }
        XCTAssertEqual(seen, expected, context)

        // stepi: exactly one instruction, EIP past the 5-byte MOV.
        XCTAssertEqual(printed(out, "STEP_EIP"), 0x1005, context)
        let counts = out.split(separator: "\n").filter { $0.hasSuffix("instructions retired") }
            .compactMap { UInt64($0.split(separator: " ")[0]) }
        XCTAssertEqual(counts.count, 2, context)
        if counts.count == 2 { XCTAssertEqual(counts[1] - counts[0], 1, context) }

        // The breakpoint stops before the instruction at 0x1010 runs.
        XCTAssertTrue(out.contains("Breakpoint 1, 0x00001010"), context)
        XCTAssertEqual(printed(out, "BP_EIP"), 0x1010, context)
        XCTAssertTrue(out.contains("0x2000:\t0x44\t0x33\t0x22\t0x11"), context)

        // The watchpoint fires on the store to 0x3000: EIP right after it.
        XCTAssertTrue(out.contains("Hardware watchpoint 2: *(int*)0x3000"), context)
        XCTAssertTrue(out.contains("New value = 287454021"), context) // 0x11223345
        XCTAssertEqual(printed(out, "WATCH_EIP"), 0x101B, context)
        XCTAssertEqual(printed(out, "EAX"), 0x1122_3345, context)

        // Register and memory writes reached the CPU; extras read back.
        XCTAssertTrue(out.contains("= 0x1234"), context)
        XCTAssertEqual(printed(out, "CR0"), UInt64(cr0), context)
        XCTAssertEqual(cpu.gpr(3), 0x1234)
        XCTAssertEqual(cpu.memory.read(0x2000, count: 4), [0x44, 0x99, 0x22, 0x11])
        XCTAssertEqual(cpu.memory.read(0x3000, count: 4), [0x45, 0x33, 0x22, 0x11])

        // monitor commands.
        XCTAssertTrue(out.contains("CS =0008 base=00000000 limit=ffffffff"), context)
        XCTAssertTrue(out.contains("CR0=\(String(cr0, radix: 16))"), context)
        XCTAssertTrue(out.contains("00002000: 44 99 22 11"), context)

        XCTAssertEqual(end, .killed, context)
        // Nothing the debugger set is left in the CPU.
        XCTAssertTrue(cpu.breakpoints.isEmpty)
    }

    /// Ctrl-C at gdb's terminal (SIGINT to gdb) while the guest spins:
    /// gdb sends 0x03, the server stops the guest and gdb goes on with
    /// the next command.
    func testRealGDBInterruptsASpinningGuest() throws {
        let cpu = TestGuest.make()
        cpu.eip = 0x101B // jmp $
        let bg = try BackgroundServer(cpu: cpu)
        guard let out = try runGDB([
            "set architecture i386",
            "target remote 127.0.0.1:\(bg.port)",
            "continue",
            "printf \"AFTER=%x\\n\", $eip",
            "kill",
        ], interruptWhen: { cpu.instructionCount > 10_000 }) else { throw XCTSkip("gdb is not installed") }
        let end = bg.finish()
        XCTAssertTrue(out.contains("Program received signal SIGINT"), out)
        XCTAssertEqual(printed(out, "AFTER"), 0x101B, out)
        XCTAssertGreaterThan(cpu.instructionCount, 1000, out)
        XCTAssertEqual(end, .killed, out)
    }

    /// `quit` after a session detaches (qAttached says "attached"), so the
    /// guest keeps running without the debugger.
    func testQuitDetaches() throws {
        let cpu = TestGuest.make()
        let bg = try BackgroundServer(cpu: cpu)
        guard let out = try runGDB([
            "set architecture i386",
            "target remote 127.0.0.1:\(bg.port)",
            "break *0x1016",
            "continue",
            "detach",
        ]) else { throw XCTSkip("gdb is not installed") }
        XCTAssertEqual(bg.finish(), .detached, out)
        XCTAssertEqual(cpu.eip, 0x1016, out)
        XCTAssertTrue(cpu.breakpoints.isEmpty)
    }
}
