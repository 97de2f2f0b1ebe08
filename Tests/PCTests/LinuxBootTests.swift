import Foundation
import XCTest
import X86
import PC

/// Boots the yardstick Debian kernel on the chipset when
/// CAPSULE_GUEST_DIR names a directory with vmlinuz and initrd.gz
/// (testimages/guest/build-guest.sh). Slow: run it in release,
/// `swift test -c release -Xswiftc -enable-testing --filter LinuxBootTests`.
final class LinuxBootTests: XCTestCase {
    func testKernelFindsTheChipset() throws {
        guard let dir = ProcessInfo.processInfo.environment["CAPSULE_GUEST_DIR"] else {
            throw XCTSkip("set CAPSULE_GUEST_DIR to a built guest to run this")
        }
        let limit = UInt64(ProcessInfo.processInfo.environment["CAPSULE_LINUX_INSNS"] ?? "") ?? 3_000_000_000
        let kernel = [UInt8](try Data(contentsOf: URL(fileURLWithPath: dir + "/vmlinuz")))
        let initrd = [UInt8](try Data(contentsOf: URL(fileURLWithPath: dir + "/initrd.gz")))
        let m = try Machine(memorySize: 128 << 20)
        var serial: [UInt8] = []
        m.com1.transmit = { b in
            serial.append(b)
            FileHandle.standardError.write(Data([b]))
        }
        try LinuxLoader.load(kernel: kernel, initrd: initrd, commandLine: ProcessInfo.processInfo.environment["CAPSULE_LINUX_APPEND"] ?? "console=ttyS0 earlyprintk=serial,ttyS0,115200 acpi=off", into: m)
        var reason = Machine.StopReason.instructionLimit
        while m.cpu.instructionCount < limit {
            reason = m.run(instructions: 50_000_000)
            if reason != .instructionLimit { break }
        }
        let text = String(decoding: serial, as: UTF8.self)
        print(String(format: "eip %08x cr0 %08x", m.cpu.eip, m.cpu.cr0))
        print("stop: \(reason) after \(m.cpu.instructionCount) instructions; virtual \(m.scheduler.now) ns")
        XCTAssertTrue(text.contains("tsc: "), "PIT calibration")
    }
}
