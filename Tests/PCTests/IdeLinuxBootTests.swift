import Foundation
@testable import PC
import X86
import XCTest

/// The yardstick guest (testimages/guest, see docs/guest-images.md) boots
/// through the BIOS from its IDE disk, and Linux's ata_piix/libata drives
/// the controller: disk by bus-master DMA, partition mount and write, the
/// CD-ROM through sr. Slow: runs only in release builds (`swift test -c
/// release --filter IdeLinuxBootTests`) or with CAPSULE_IDE_LINUX=1, and
/// only when the guest has been built.
final class IdeLinuxBootTests: XCTestCase {
    func guestDir() throws -> String {
        let env = ProcessInfo.processInfo.environment
        #if DEBUG
        guard env["CAPSULE_IDE_LINUX"] == "1" else { throw XCTSkip("Linux boot test: release builds only (or CAPSULE_IDE_LINUX=1)") }
        #endif
        let dir = env["CAPSULE_GUEST_DIR"] ?? (NSHomeDirectory() + "/.cache/capsule/guest")
        guard FileManager.default.fileExists(atPath: dir + "/disk.img") else {
            throw XCTSkip("guest not built (testimages/guest/build-guest.sh)")
        }
        return dir
    }

    func testLinuxUsesTheDiskAndCDROM() throws {
        let dir = try guestDir()
        let disk = try IdeTempFile(contents: [UInt8](try Data(contentsOf: URL(fileURLWithPath: dir + "/disk.img"))))
        // A CD whose block 0 starts with a recognisable line.
        var iso = [UInt8](repeating: 0x2E, count: 64 * 2048)
        let tag = Array("CAPSULE-CD-BLOCK0\n".utf8)
        iso.replaceSubrange(0..<tag.count, with: tag)
        let cd = try IdeTempFile(contents: iso)

        let bios = try ideFirmware()
        let m = try Machine(memorySize: 128 << 20)
        let ide = m.ide
        var unimplemented: [String] = []
        ide.log = { unimplemented.append($0) }
        ide.attachDisk(try RawFileDisk(path: disk.path), channel: 0, position: 0)
        ide.attachCDROM(try RawFileDisk(path: cd.path, readOnly: true), channel: 1, position: 0)
        // A second disk with a bad sector: Linux must see an I/O error, recover, go on.
        let bad = MemoryBlockDevice(contents: idePatternImage(sectors: 4096))
        bad.failingSectors = [1000]
        ide.attachDisk(bad, channel: 0, position: 1)
        try m.loadFirmware(bios)

        var serial: [UInt8] = []
        m.com1.transmit = { b in
            serial.append(b)
            if ProcessInfo.processInfo.environment["CAPSULE_IDE_ECHO"] == "1" { FileHandle.standardError.write(Data([b])) }
        }
        func runUntil(_ marker: String, budget: Int) -> Bool {
            for _ in 0..<budget {
                _ = m.run(instructions: 10_000_000)
                if String(decoding: serial, as: UTF8.self).contains(marker) { return true }
            }
            return false
        }
        let start = Date()
        let booted = runUntil("capsule-guest: shell ready", budget: 3000)
        var text = String(decoding: serial, as: UTF8.self)
        print("booted=\(booted) after \(m.cpu.instructionCount) instructions, \(Date().timeIntervalSince(start)) s")
        guard booted else {
            print(text)
            XCTFail("guest did not reach its shell")
            return
        }
        serial.removeAll()
        let commands = [
            "dmesg | grep -iE 'ata[0-9]|sr0|sda'",
            "cat /proc/partitions",
            "mount -t ext4 /dev/sda1 /mnt && echo capsule-ide-$((6*7)) > /mnt/idetest && sync && cat /mnt/idetest && rm /mnt/idetest && umount /mnt",
            "dd if=/dev/sr0 bs=2048 count=1 2>/dev/null | head -c 17; echo",
            "dd if=/dev/sda of=/dev/null bs=1M count=32 2>&1 | tail -1",
            "echo xfer-$(cat /sys/class/ata_device/dev1.0/xfer_mode)-$(cat /sys/class/ata_device/dev2.0/xfer_mode)",
            "dd if=/dev/sdb of=/dev/null bs=512 skip=1000 count=1 iflag=direct 2>&1 | head -1",
            "dd if=/dev/sdb bs=512 skip=999 count=1 iflag=direct 2>/dev/null | od -An -tx1 | head -1",
            "dd if=/dev/sda of=/dev/null bs=1M count=4 2>&1 | tail -1",
        ]
        for (i, c) in commands.enumerated() {
            // The marker's echo differs from its output, so the typed line
            // does not end the wait.
            m.queueSerialInput(Array("\(c); echo CMD-\(i)-DONE-$((1+1))\n".utf8))
            XCTAssertTrue(runUntil("CMD-\(i)-DONE-2", budget: 2000), "command \(i) finished")
        }
        text = String(decoding: serial, as: UTF8.self)
        print(text)
        print("unimplemented: \(unimplemented)")
        XCTAssertTrue(text.contains(" sda1\r\n"), "partition table read")
        XCTAssertTrue(text.contains("capsule-ide-42"), "ext4 write/read back on sda1")
        XCTAssertTrue(text.contains("CAPSULE-CD-BLOCK0"), "CD read through sr")
        XCTAssertTrue(text.contains("xfer-XFER_MW_DMA_2-XFER_MW_DMA_2"), "disk and CD set to multiword DMA 2")
        XCTAssertNotEqual(ide.primary.busMaster.prdTable, 0, "the disk's bus master was used")
        XCTAssertNotEqual(ide.secondary.busMaster.prdTable, 0, "the CD's bus master was used")
        XCTAssertTrue(text.contains("sr0"), "sr driver attached")
        XCTAssertTrue(text.contains("Input/output error") || text.contains("I/O error"), "the bad sector is an I/O error")
        // Sector 999 of the pattern starts 999*31 mod 256 = 249 (f9), then +7.
        XCTAssertTrue(text.contains(" f9 00 07 0e"), "the disk still reads after the error")
    }
}
