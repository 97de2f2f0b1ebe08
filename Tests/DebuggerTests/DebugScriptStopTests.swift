import Foundation
import XCTest

/// Watchpoints, I/O port and vector breakpoints and reverse execution in
/// a scripted `capsule debug` session on a tiny firmware of our own.
final class DebugScriptStopTests: XCTestCase {
    /// A 64 KiB ROM. Offsets are F000:xxxx; the reset vector jumps to 0.
    ///
    ///     0000 31 C0              xor ax, ax
    ///     0002 8E D8              mov ds, ax
    ///     0004 C7 06 08 01 40 00  mov word [0x108], 0x0040   ; IVT[0x42] = F000:0040
    ///     000A C7 06 0A 01 00 F0  mov word [0x10A], 0xF000
    ///     0010 BC 00 70           mov sp, 0x7000
    ///     0013 90 90              nop nop
    ///     0015 C6 06 00 20 AA     mov byte [0x2000], 0xAA    ; write watch
    ///     001A A0 00 20           mov al, [0x2000]           ; read watch
    ///     001D E6 80              out 0x80, al               ; I/O breakpoint
    ///     001F CD 42              int 0x42                   ; vector breakpoint
    ///     0021 FA                 cli
    ///     0022 F4                 hlt
    ///     0040 B0 55              mov al, 0x55               ; the INT 42h handler
    ///     0042 CF                 iret
    static func firmware() -> [UInt8] {
        var rom = [UInt8](repeating: 0xF4, count: 0x10000)
        let code: [UInt8] = [
            0x31, 0xC0, 0x8E, 0xD8,
            0xC7, 0x06, 0x08, 0x01, 0x40, 0x00,
            0xC7, 0x06, 0x0A, 0x01, 0x00, 0xF0,
            0xBC, 0x00, 0x70, 0x90, 0x90,
            0xC6, 0x06, 0x00, 0x20, 0xAA,
            0xA0, 0x00, 0x20,
            0xE6, 0x80,
            0xCD, 0x42,
            0xFA, 0xF4,
        ]
        rom.replaceSubrange(0..<code.count, with: code)
        rom.replaceSubrange(0x40..<0x43, with: [0xB0, 0x55, 0xCF])
        rom.replaceSubrange(0xFFF0..<0xFFF5, with: [0xEA, 0x00, 0x00, 0x00, 0xF0])
        return rom
    }

    func testWatchpointsPortAndVectorBreakpointsAndReverse() throws {
        let rom = DebugScript.temporaryFile("rom.bin")
        try Data(DebugScriptStopTests.firmware()).write(to: rom)
        defer { try? FileManager.default.removeItem(at: rom) }
        let trace = DebugScript.temporaryFile("trace.txt")
        defer { try? FileManager.default.removeItem(at: trace) }
        let (out, _) = try DebugScript.run(["--firmware", rom.path, "--memory", "16M", "--checkpoint-interval", "4"], commands: [
            "watch write 0x2000",
            "watch read 0x2000",
            "break io 0x80",
            "break vector 0x42",
            "break 0xf0021",
            "list",
            "continue",
            "x/1b 0x2000",
            "continue",
            "registers",
            "continue",
            "continue",
            "stack 3",
            "continue",
            "hash",
            "continue",
            "reverse-continue",
            "hash",
            "reverse-step 3",
            "registers",
            "delete 4",
            "next",
            "trace \(trace.path)",
            "step 2",
            "trace off",
            "page 0x1234",
            "idt 1",
            "bogus",
            "x/4q 0",
        ])
        let s = DebugScript.sections(out)
        func output(_ i: Int) -> String { i < s.count ? s[i].output : "" }
        XCTAssertEqual(s.count, 29, out)
        guard s.count == 29 else { return }
        XCTAssertEqual(output(5), """
            1: watch write 0x00002000 length 1
            2: watch read 0x00002000 length 1
            3: break io port 0x0080
            4: break vector 0x42
            5: break linear 0x000f0021

            """, out)
        // The write watchpoint: stopped after the MOV that wrote, naming it.
        XCTAssertTrue(output(6).hasPrefix("stopped: watchpoint 1 (watch write 0x00002000 length 1) at 0x00002000 by the instruction at linear 0x000f0015 at f000:0000001a"), out)
        XCTAssertTrue(output(7).hasPrefix("00002000: aa"), out)
        // The read watchpoint fires on the load, not on the write.
        XCTAssertTrue(output(8).hasPrefix("stopped: watchpoint 2 (watch read 0x00002000 length 1) at 0x00002000 by the instruction at linear 0x000f001a at f000:0000001d"), out)
        XCTAssertEqual(DebugScript.register(output(9), "eax").map { $0 & 0xFF }, 0xAA, out)
        // OUT 80h: after the instruction, with the value written.
        XCTAssertTrue(output(10).hasPrefix("stopped: io port 0x0080 write 0xaa width 1 (breakpoint 3) at f000:0000001f"), out)
        // INT 42h: at the handler's first instruction; the frame holds the return.
        XCTAssertTrue(output(11).hasPrefix("stopped: vector 0x42 delivered (exception or INT) (breakpoint 4) at f000:00000040"), out)
        XCTAssertTrue(output(12).contains("+00 6ffa: 0021"), out)
        XCTAssertTrue(output(12).contains("+02 6ffc: f000"), out)
        // Back from the handler at the breakpoint; then the machine halts.
        XCTAssertTrue(output(13).hasPrefix("stopped: breakpoint 5 (break linear 0x000f0021) at f000:00000021"), out)
        XCTAssertTrue(output(15).hasPrefix("stopped: halted with interrupts disabled"), out)
        // reverse-continue returns to the breakpoint with the same state.
        XCTAssertTrue(output(16).hasPrefix("stopped: breakpoint 5 (break linear 0x000f0021) at f000:00000021"), out)
        XCTAssertTrue(output(14).hasPrefix("state-hash "), out)
        XCTAssertEqual(output(14), output(17), "reverse-continue lands on the state seen going forward\n" + out)
        // Three instructions back: IRET, MOV AL (handler), INT 42h → at the INT.
        XCTAssertEqual(DebugScript.register(output(19), "eip"), 0x1F, out)
        // next steps over the INT: its handler runs, we stop after it (at
        // breakpoint 5, which sits on the return address).
        XCTAssertTrue(output(21).contains("at f000:00000021"), out)
        XCTAssertFalse(output(21).contains("vector"), out)
        // The trace has one line per instruction executed: count, CS:EIP, linear, bytes.
        let lines = try String(contentsOf: trace, encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.count, 2, out)
        XCTAssertTrue(lines.first?.hasPrefix("14 f000:00000021 000f0021 fa") ?? false, "\(lines)")
        XCTAssertTrue(lines.last?.hasPrefix("15 f000:00000022 000f0022 f4") ?? false, "\(lines)")
        XCTAssertTrue(output(24).hasPrefix("trace off: 2 instructions"), out)
        XCTAssertTrue(output(25).hasPrefix("paging is off"), out)
        XCTAssertTrue(output(26).contains("[00] 0000:0000"), out)
        XCTAssertTrue(output(27).hasPrefix("error: unknown command 'bogus'"), out)
        XCTAssertTrue(output(28).hasPrefix("error: x/: unknown format 'q'"), out)
    }

    /// Commands from stdin (`--script -`, `--quiet`): the transcript is the
    /// same on every run, byte for byte.
    func testStdinScriptIsDeterministic() throws {
        let rom = DebugScript.temporaryFile("rom2.bin")
        try Data(DebugScriptStopTests.firmware()).write(to: rom)
        defer { try? FileManager.default.removeItem(at: rom) }
        let commands = "step 3\nregisters\nbreak vector 0x42\ncontinue\nstack 3\ndecode\nreverse-step 2\nhash\nquit\nstep\n"
        func run() throws -> String {
            let p = Process()
            p.executableURL = try DebugScript.binary()
            p.arguments = ["debug", "--firmware", rom.path, "--memory", "16M", "--script", "-", "--quiet"]
            let input = Pipe(), output = Pipe()
            p.standardInput = input
            p.standardOutput = output
            p.standardError = FileHandle.nullDevice
            try p.run()
            input.fileHandleForWriting.write(commands.data(using: .utf8)!)
            try input.fileHandleForWriting.close()
            let data = output.fileHandleForReading.readDataToEndOfFile()
            p.waitUntilExit()
            XCTAssertEqual(p.terminationStatus, 0)
            return String(decoding: data, as: UTF8.self)
        }
        let first = try run(), second = try run()
        XCTAssertEqual(first, second)
        XCTAssertFalse(first.contains("(capsule)"), "--quiet does not echo\n" + first)
        XCTAssertTrue(first.contains("stopped: vector 0x42 delivered"), first)
        XCTAssertTrue(first.contains("state-hash "), first)
        // `quit` ends the script: the step after it never runs.
        XCTAssertEqual(first.components(separatedBy: "stopped:").count - 1, 3, first)
    }
}
