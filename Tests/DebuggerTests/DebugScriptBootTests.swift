import Foundation
import XCTest

/// A scripted `capsule debug` session on the real boot path: Capsule's
/// BIOS from the reset vector F000:FFF0, the disk's MBR and extlinux, the
/// kernel's real-mode setup, and the switch to protected mode into the
/// Linux kernel's 32-bit entry point at 1 MiB. Release binary, real guest.
final class DebugScriptBootTests: XCTestCase {
    func testStepBIOSFromResetVectorIntoTheKernelEntry() throws {
        let guest = try DebugScript.guestDirectory()
        let disk = DebugScript.temporaryFile("boot.img")
        try? FileManager.default.removeItem(at: disk)
        try FileManager.default.copyItem(at: guest.appendingPathComponent("disk.img"), to: disk)
        defer { try? FileManager.default.removeItem(at: disk) }

        let (out, _) = try DebugScript.run(["--disk", disk.path, "--memory", "128M"], commands: [
            "registers",
            "x/16b cs:fff0",
            "step",
            "registers",
            "step 20",
            "break mode",
            "continue",
            "registers",
            "delete 1",
            // The kernel's 32-bit entry: code at physical 1 MiB entered with
            // the boot protocol's __BOOT_CS; the boot loader runs its own
            // code up there too, with other selectors.
            "break physical 0x100000 if cs==0x10",
            "continue",
            "registers",
            "segments",
            "x/16b 0x100000",
            "hash",
            "step",
            "hash",
            "reverse-step",
            "hash",
            "registers",
        ])
        let s = DebugScript.sections(out)
        func output(_ i: Int) -> String { i < s.count ? s[i].output : "" }
        XCTAssertEqual(s.count, 20, out)
        guard s.count == 20 else { return }

        // Reset: F000:FFF0, real mode, the BIOS's far jump at the top of ROM.
        XCTAssertEqual(DebugScript.register(output(0), "cs"), 0xF000, out)
        XCTAssertEqual(DebugScript.register(output(0), "eip"), 0xFFF0, out)
        XCTAssertTrue(output(0).contains("mode real"), out)
        // CS.base is 0xFFFF0000 after reset: the first fetch is at the top of 4 GiB.
        XCTAssertTrue(output(1).hasPrefix("fffffff0: ea"), out)
        // One step: the jump ran, only EIP (and CS) changed, marked.
        XCTAssertTrue(output(2).contains("icount 1"), out)
        XCTAssertTrue(output(3).contains("eip="), out)
        XCTAssertTrue(output(3).contains("*"), "changed registers are marked\n" + out)
        XCTAssertTrue(output(4).contains("icount 21"), out)

        // The first switch to protected mode stops right after the MOV CR0.
        XCTAssertTrue(output(6).contains("stopped: mode change real -> protected"), out)
        XCTAssertEqual(DebugScript.register(output(7), "cr0").map { $0 & 1 }, 1, out)
        XCTAssertTrue(output(7).contains("mode protected"), out)

        // The kernel's entry: 0010:00100000, flat 32-bit, ESI at boot_params.
        XCTAssertTrue(output(10).contains("stopped: breakpoint 2 (break physical 0x00100000 if cs==0x10) at 0010:00100000"), out)
        let regs = output(11)
        XCTAssertEqual(DebugScript.register(regs, "eip"), 0x10_0000, out)
        XCTAssertEqual(DebugScript.register(regs, "cs"), 0x10, out)
        XCTAssertTrue(regs.contains("mode protected cpl 0"), out)
        let esi = DebugScript.register(regs, "esi") ?? 0
        XCTAssertTrue(esi > 0 && esi < 0xA_0000, "ESI points at boot_params in low memory\n" + out)
        XCTAssertTrue(output(12).contains("cs   0010 base 0x00000000 limit 0xffffffff"), out)

        // The bytes there are the kernel's own: the bzImage's protected-mode part.
        let kernel = try [UInt8](Data(contentsOf: guest.appendingPathComponent("vmlinuz")))
        let sects = kernel[0x1F1] == 0 ? 4 : Int(kernel[0x1F1])
        let start = (sects + 1) * 512
        let expected = kernel[start..<(start + 16)].map { String(format: "%02x", $0) }.joined(separator: " ")
        XCTAssertTrue(output(13).hasPrefix("00100000: " + expected), "x/16b 0x100000 shows the kernel image\n" + out)

        // One step forward and back: the complete state hash is the same.
        let hashes = [14, 16, 18].map { output($0).trimmingCharacters(in: .whitespacesAndNewlines) }
        XCTAssertTrue(hashes[0].hasPrefix("state-hash "), out)
        XCTAssertNotEqual(hashes[0], hashes[1], out)
        XCTAssertEqual(hashes[0], hashes[2], "reverse-step returns to the same machine state\n" + out)
        XCTAssertEqual(DebugScript.register(output(19), "eip"), 0x10_0000, out)
    }
}
