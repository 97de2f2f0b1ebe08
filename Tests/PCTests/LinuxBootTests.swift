import Foundation
import XCTest
import X86
@testable import PC

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
        let counter = CountingAcknowledger(m.pic)
        m.cpu.interruptController = counter
        var reason = Machine.StopReason.instructionLimit
        var lastLength = 0, quietSlices = 0
        while m.cpu.instructionCount < limit {
            reason = m.run(instructions: 50_000_000)
            if reason != .instructionLimit { break }
            // Report where the guest is when its console goes quiet.
            quietSlices = serial.count == lastLength ? quietSlices + 1 : 0
            lastLength = serial.count
            if quietSlices == 20 {
                print(String(format: "\nquiet: eip %08x if=%d", m.cpu.eip, m.cpu.eflags & 0x200 != 0 ? 1 : 0))
                print("vectors: \(counter.counts.sorted { $0.key < $1.key })")
                print("pic master irr \(m.pic.master.irr) isr \(m.pic.master.isr) imr \(m.pic.master.imr); slave irr \(m.pic.slave.irr) isr \(m.pic.slave.isr) imr \(m.pic.slave.imr)")
                print("pit ch0: \(m.pit.saveState().filter { $0.key.hasPrefix("ch0.") }.sorted { $0.key < $1.key })")
                print("rtc B \(m.rtc.ram[0x0B]) C \(m.rtc.ram[0x0C])")
            }
        }
        let text = String(decoding: serial, as: UTF8.self)
        print(String(format: "eip %08x cr0 %08x", m.cpu.eip, m.cpu.cr0))
        print("stop: \(reason) after \(m.cpu.instructionCount) instructions; virtual \(m.scheduler.now) ns")
        XCTAssertTrue(text.contains("tsc: "), "PIT calibration")
    }
}

/// Counts the vectors the CPU takes from the PIC.
final class CountingAcknowledger: InterruptAcknowledging {
    let pic: Pic8259Pair
    var counts: [UInt8: Int] = [:]
    init(_ pic: Pic8259Pair) { self.pic = pic }
    func acknowledgeInterrupt() -> UInt8 {
        let v = pic.acknowledgeInterrupt()
        counts[v, default: 0] += 1
        return v
    }
}
