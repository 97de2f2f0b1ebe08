import Foundation
import XCTest

/// `capsule debug NAME` on a capsule with a layered disk: the board sees
/// the disk through an undo journal, so reverse execution is on and going
/// back returns to the same complete state. Release binary, real guest.
final class DebugCapsuleDiskTests: XCTestCase {
    func testReverseStepOnACapsuleWithADisk() throws {
        let guest = try DebugScript.guestDirectory()
        let store = DebugScript.temporaryFile("store")
        try? FileManager.default.removeItem(at: store)
        defer { try? FileManager.default.removeItem(at: store) }
        let create = Process()
        create.executableURL = try DebugScript.binary()
        create.arguments = ["create", "boot", "--store", store.path, "--memory", "64M",
                            "--disk", guest.appendingPathComponent("disk.img").path]
        create.standardOutput = FileHandle.nullDevice
        try create.run()
        create.waitUntilExit()
        XCTAssertEqual(create.terminationStatus, 0, "capsule create")

        let (out, err) = try DebugScript.run(["boot", "--store", store.path], commands: [
            // The kernel's 32-bit entry: by then the BIOS and extlinux have
            // read the kernel and initrd from the capsule's disk.
            "break physical 0x100000 if cs==0x10",
            "continue",
            "hash",
            "step 5000",
            "hash",
            "reverse-step 5000",
            "hash",
        ])
        XCTAssertFalse(err.contains("reverse execution is off"), err)
        let s = DebugScript.sections(out)
        XCTAssertEqual(s.count, 7, out)
        guard s.count == 7 else { return }
        XCTAssertTrue(s[1].output.contains("stopped: breakpoint 1"), out)
        let hashes = [2, 4, 6].map { s[$0].output.trimmingCharacters(in: .whitespacesAndNewlines) }
        XCTAssertTrue(hashes[0].hasPrefix("state-hash "), out)
        XCTAssertNotEqual(hashes[0], hashes[1], out)
        XCTAssertEqual(hashes[0], hashes[2], "reverse-step on a capsule with a disk returns to the same state\n" + out)
    }
}
