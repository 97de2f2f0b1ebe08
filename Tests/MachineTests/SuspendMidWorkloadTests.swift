import Foundation
import XCTest

/// The proof 2: a Linux guest suspended in the middle of a workload
/// (writing files to its disk and checksumming them) resumes in a new
/// process and completes with exactly the output of an uninterrupted run.
final class SuspendMidWorkloadTests: XCTestCase {
    static let workload = """
        mount -t ext4 /dev/sda1 /mnt || exit 1
        echo WORKLOAD-START
        i=0
        while [ $i -lt 16 ]; do
          dd if=/dev/urandom of=/mnt/f$i bs=64k count=4 2>/dev/null
          sha256sum /mnt/f$i
          i=$((i+1))
        done
        sync
        cat /mnt/f* | sha256sum
        echo WORKLOAD-DONE
        umount /mnt

        """

    /// The guest's initrd with /etc/capsule-autorun appended as a second
    /// cpio archive (the kernel unpacks concatenated archives in order).
    func initrdWithWorkload(_ guest: URL, into dir: URL) throws -> URL {
        let root = dir.appendingPathComponent("overlay")
        try FileManager.default.createDirectory(at: root.appendingPathComponent("etc"), withIntermediateDirectories: true)
        try Self.workload.write(to: root.appendingPathComponent("etc/capsule-autorun"), atomically: true, encoding: .utf8)
        let overlay = dir.appendingPathComponent("overlay.cpio")
        XCTAssertEqual(GuestSession.shell("cd \(root.path) && printf 'etc\\netc/capsule-autorun\\n' | cpio -o -H newc --quiet > \(overlay.path)"), 0)
        let out = dir.appendingPathComponent("initrd-workload")
        var data = try Data(contentsOf: guest.appendingPathComponent("initrd.gz"))
        data.append(try Data(contentsOf: overlay))
        try data.write(to: out)
        return out
    }


    func capsule(_ args: [String], serial: URL) throws -> String {
        try GuestSession.runCapsule(args, serial: serial.path).stderr
    }

    func testGuestSuspendedMidWorkloadCompletesWithTheSameOutput() throws {
        let guest = try GuestSession.guestDirectory()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("capsule-midwork-\(getpid())")
        try? FileManager.default.removeItem(at: dir)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let initrd = try initrdWithWorkload(guest, into: dir)
        let store = dir.appendingPathComponent("store").path
        func machine(_ disk: String) -> [String] {
            ["--kernel", guest.appendingPathComponent("vmlinuz").path, "--initrd", initrd.path,
             "--append", "console=ttyS0 acpi=off capsule.poweroff", "--disk", disk, "--memory", "128M"]
        }
        for name in ["straight", "split"] {
            try FileManager.default.copyItem(at: guest.appendingPathComponent("disk.img"), to: dir.appendingPathComponent("\(name).img"))
            _ = try capsule(["create", name] + machine(dir.appendingPathComponent("\(name).img").path) + ["--store", store], serial: dir.appendingPathComponent("create.txt"))
        }
        // Uninterrupted run to power-off.
        let straightSerial = dir.appendingPathComponent("straight.txt")
        let straightErr = try capsule(["run", "straight", "--store", store, "--max-instructions", "40000000000"], serial: straightSerial)
        XCTAssertTrue(straightErr.contains("halted with interrupts disabled"), straightErr)
        let straight = try String(contentsOf: straightSerial, encoding: .utf8)
        XCTAssertTrue(straight.contains("WORKLOAD-DONE"), String(straight.suffix(1500)))
        guard let total = straightErr.components(separatedBy: "after ").last.flatMap({ UInt64($0.prefix { $0.isNumber }) }) else {
            return XCTFail("no instruction count in: \(straightErr)")
        }
        // Suspend shortly before the end: inside the workload.
        let n = total - 150_000_000
        let part1 = dir.appendingPathComponent("part1.txt"), part2 = dir.appendingPathComponent("part2.txt")
        let e1 = try capsule(["run", "split", "--store", store, "--suspend-after", "\(n)"], serial: part1)
        XCTAssertTrue(e1.contains("suspended"), e1)
        let first = try String(contentsOf: part1, encoding: .utf8)
        XCTAssertTrue(first.contains("WORKLOAD-START") && !first.contains("WORKLOAD-DONE"),
                      "the suspend must fall inside the workload; first part ends:\n\(first.suffix(800))")
        let e2 = try capsule(["run", "split", "--store", store, "--max-instructions", "40000000000"], serial: part2)
        XCTAssertTrue(e2.contains("halted with interrupts disabled"), e2)
        let second = try String(contentsOf: part2, encoding: .utf8)
        XCTAssertEqual(first + second, straight, "serial output differs between the straight and the suspended run")
    }
}
