import Foundation
import XCTest

/// Boots Debian's own i386 kernel with a busybox initramfs — directly and
/// through Capsule's BIOS and extlinux from a disk — and runs a scripted
/// shell session on the serial console, ending with `poweroff -f`.
final class LinuxBootTests: XCTestCase {
    /// Generous: a loaded 2-core CI machine runs the guest several times slower.
    let bootTimeout: TimeInterval = 900

    func testDirectKernelBootReachesShellAndPowersOff() throws {
        let guest = try GuestSession.guestDirectory()
        let s = try GuestSession(arguments: [
            "--kernel", guest.appendingPathComponent("vmlinuz").path,
            "--initrd", guest.appendingPathComponent("initrd.gz").path,
            "--append", "console=ttyS0 acpi=off", "--memory", "128M",
        ])
        try s.expect("capsule-guest: shell ready", timeout: bootTimeout)
        try s.expect("# ", timeout: 120)
        s.type("uname -a")
        try s.expect("Linux capsule 6.1.0", timeout: 120)
        s.type("grep -c processor /proc/cpuinfo; grep -m1 flags /proc/cpuinfo")
        try s.expect("fpu", timeout: 120)
        s.type("ls /sys/bus/pci/devices")
        try s.expect("0000:00:01.1", timeout: 120)
        s.type("poweroff -f")
        XCTAssertEqual(try s.waitForExit(timeout: 300), 0, s.transcript.suffix(1500).description)
    }

    func testDiskBootThroughBIOSWritesAFile() throws {
        let guest = try GuestSession.guestDirectory()
        let image = FileManager.default.temporaryDirectory.appendingPathComponent("capsule-disk-\(getpid()).img")
        try? FileManager.default.removeItem(at: image)
        try FileManager.default.copyItem(at: guest.appendingPathComponent("disk.img"), to: image)
        defer { try? FileManager.default.removeItem(at: image) }
        let s = try GuestSession(arguments: ["--disk", image.path, "--memory", "128M"])
        try s.expect("capsule-guest: shell ready", timeout: bootTimeout)
        try s.expect("# ", timeout: 120)
        s.type("mount -t ext4 /dev/sda1 /mnt && echo written-by-capsule > /mnt/hello.txt && sync && echo WROTE-OK")
        try s.expect("WROTE-OK", timeout: 300)
        s.type("umount /mnt; poweroff -f")
        XCTAssertEqual(try s.waitForExit(timeout: 300), 0)

        // The file is in the image: read the ext4 partition (1 MiB in) with debugfs.
        let part = image.path + ".part"
        defer { try? FileManager.default.removeItem(atPath: part) }
        XCTAssertEqual(GuestSession.shell("dd if=\(image.path) of=\(part) bs=1M skip=1 status=none"), 0)
        let out = Pipe()
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/sbin/debugfs")
        p.arguments = ["-R", "cat /hello.txt", part]
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertTrue(text.contains("written-by-capsule"), "debugfs read: \(text)")
    }

}
