import Foundation
import XCTest

/// The real gdb on the Linux guest at the kernel's 32-bit entry
/// (arch/x86/boot/compressed/head_32.S `startup_32`): registers gdb reads
/// match the emulator's own view, stepi retires exactly one instruction,
/// and a hardware watchpoint on boot_params' scratch word fires right after
/// the instruction that writes it: `call 1f` pushes its return address
/// there, so at the stop the watched word holds the stop's own EIP.
final class GDBLinuxWatchTests: XCTestCase {
    func testRegistersStepiAndWatchpointAtTheKernelEntry() throws {
        let target = try LinuxGDBTarget(portOffset: 7)
        defer { target.finish() }
        XCTAssertTrue(target.waitUntilListening(), "capsule run --gdb did not start: \(target.stderr)")
        guard let out = try runGDB([
            "set architecture i386",
            "target remote 127.0.0.1:\(target.port)",
            "printf \"EIP0=%x\\n\", $eip",
            "printf \"ESI0=%x\\n\", $esi",
            "printf \"ESP0=%x\\n\", $esp",
            "printf \"CS0=%x\\n\", $cs",
            "monitor regs",
            "monitor icount",
            "stepi",
            "monitor icount",
            // BP_scratch is at offset 0x1e4 of struct boot_params.
            "set $w = $esi + 0x1e4",
            "watch *(int*)$w",
            "continue",
            "printf \"WEIP=%x\\n\", $eip",
            "printf \"WVAL=%x\\n\", *(int*)$w",
            "monitor regs",
            "kill",
        ], timeout: 120) else { throw XCTSkip("gdb is not installed") }
        let context = "gdb output:\n\(out)\ncapsule stderr:\n\(target.stderr)"
        // Direct boot enters the kernel at 0x100000, ESI = boot_params.
        XCTAssertEqual(printed(out, "EIP0"), 0x10_0000, context)
        XCTAssertEqual(printed(out, "CS0"), 0x10, context)
        let regs = out.components(separatedBy: "EAX=")
        XCTAssertGreaterThanOrEqual(regs.count, 3, context)
        guard regs.count >= 3, let esi = printed(out, "ESI0"), let esp = printed(out, "ESP0") else { return }
        XCTAssertTrue(regs[1].contains(String(format: "ESI=%08x", esi)), "gdb's esi is the emulator's\n" + context)
        XCTAssertTrue(regs[1].contains(String(format: "ESP=%08x", esp)), "gdb's esp is the emulator's\n" + context)
        XCTAssertTrue(regs[1].contains("EIP=00100000"), context)
        let counts = out.split(separator: "\n").filter { $0.hasSuffix("instructions retired") }
            .compactMap { UInt64($0.split(separator: " ")[0]) }
        XCTAssertEqual(counts.count, 2, context)
        if counts.count == 2 { XCTAssertEqual(counts[1], counts[0] + 1, "stepi retires one instruction\n" + context) }
        XCTAssertTrue(out.contains("atchpoint"), context)
        guard let weip = printed(out, "WEIP"), let wval = printed(out, "WVAL") else { return XCTFail(context) }
        XCTAssertEqual(wval, weip, "the watch fired right after the call that pushed its return address\n" + context)
        XCTAssertTrue(regs[2].contains(String(format: "EIP=%08x", weip)), context)
    }
}
