import Foundation
import XCTest
import X86
@testable import PC

/// Linux's own virtio_balloon driver on our virtio-pci device, driven
/// through the Machine API the migrator uses: the driver binds (modern
/// interface, then legacy with `force_legacy`), a target inflates the
/// balloon and the guest's free memory drops, deflating gives it back,
/// free page reporting delivers reports, and a snapshot taken while the
/// balloon is moving resumes to the same state.
///
/// Needs CAPSULE_GUEST_DIR (testimages/guest/build-guest.sh) and a release
/// build: `swift test -c release -Xswiftc -enable-testing --filter BalloonLinuxTests`.
final class BalloonLinuxTests: XCTestCase {
    /// A machine with the guest's serial console as text.
    final class Guest {
        let m: Machine
        var serial: [UInt8] = []
        var mark = 0
        init(memory: Int, kernel: [UInt8], initrd: [UInt8]) throws {
            m = try Machine(memorySize: memory, balloon: true)
            try m.loadFirmware(Machine.embeddedBIOS())
            try LinuxLoader.load(kernel: kernel, initrd: initrd, commandLine: "console=ttyS0 acpi=off", into: m)
            m.com1.transmit = { [unowned self] b in self.serial.append(b) }
        }

        /// Runs until `text` appears after the last match; returns what came before it.
        @discardableResult
        func expect(_ text: String, budget: UInt64 = 20_000_000_000) throws -> String {
            let start = m.scheduler.now
            while true {
                let tail = String(decoding: serial[mark...], as: UTF8.self)
                if let r = tail.range(of: text) {
                    mark += tail[..<r.upperBound].utf8.count
                    return String(tail[..<r.lowerBound])
                }
                guard m.scheduler.now &- start < budget else {
                    throw GuestFailure("no \"\(text)\" within \(budget) ns; tail:\n\(String(tail.suffix(1500)))")
                }
                let reason = m.run(instructions: 20_000_000)
                guard reason == .instructionLimit else { throw GuestFailure("guest stopped: \(reason)") }
            }
        }

        /// Runs a shell command; returns its output only: it sits between
        /// two markers the shell computes, which the echoed command line
        /// (wrapped at 80 columns by the shell) never contains.
        func shell(_ command: String, budget: UInt64 = 20_000_000_000) throws -> String {
            m.queueSerialInput(Array("echo @@$((1+1))@@; \(command); echo @@$((40+2))@@\n".utf8))
            try expect("@@2@@", budget: budget)
            return try expect("@@42@@", budget: budget)
        }

        func memFreeKB() throws -> Int {
            let out = try shell("grep MemFree /proc/meminfo")
            let digits = out.components(separatedBy: "MemFree:").last?.split(whereSeparator: { !$0.isNumber }).first.flatMap { Int($0) }
            return try XCTUnwrap(digits, "MemFree in \(out)")
        }
    }

    func testGuestDriverInflatesDeflatesAndReports() throws {
        guard let dir = ProcessInfo.processInfo.environment["CAPSULE_GUEST_DIR"] else {
            throw XCTSkip("set CAPSULE_GUEST_DIR to a built guest to run this")
        }
        let kernel = [UInt8](try Data(contentsOf: URL(fileURLWithPath: dir + "/vmlinuz")))
        let initrd = [UInt8](try Data(contentsOf: URL(fileURLWithPath: dir + "/initrd.gz")))
        // 512 MiB: free page reporting needs more free memory than the low
        // watermark plus 32 blocks of 4 MiB before it reports anything.
        let g = try Guest(memory: 512 << 20, kernel: kernel, initrd: initrd)
        let m = g.m
        try g.expect("capsule-guest: shell ready", budget: 60_000_000_000)
        print("balloon test: shell ready after \(m.cpu.instructionCount) instructions")
        XCTAssertTrue(try g.shell("ls /sys/bus/virtio/drivers/virtio_balloon").contains("virtio0"), "driver bound")
        XCTAssertTrue(m.balloonDriverReady)
        XCTAssertNotEqual(m.balloonPCI!.driverFeatures & VirtioFeature.version1, 0, "modern interface by default")

        // Inflate 64 MiB.
        let free0 = try g.memFreeKB()
        try m.setBalloonTarget(pages: 16384)
        // A snapshot while the driver is inflating resumes to the same state.
        _ = m.run(instructions: 30_000_000)
        try assertSnapshotResumesExactly(m)
        XCTAssertEqual(try m.runUntilBalloonSettles(budget: 30_000_000_000), .reached)
        XCTAssertEqual(m.balloonActualPages, 16384)
        XCTAssertEqual(m.balloonInflatedPages.count, 16384)
        XCTAssertGreaterThanOrEqual(m.balloonSkippablePages().count, 16384)
        for p in m.balloonInflatedPages.prefix(64) { XCTAssertTrue(m.balloonPCI!.guestMemory.pageIsZero(p)) }
        let free1 = try g.memFreeKB()
        print("balloon test: MemFree \(free0) kB → \(free1) kB with 64 MiB inflated")
        XCTAssertLessThan(free1, free0 - 60_000, "guest free memory drops by the balloon (\(free0) → \(free1) kB)")

        // Deflate.
        try m.setBalloonTarget(pages: 0)
        XCTAssertEqual(try m.runUntilBalloonSettles(budget: 30_000_000_000), .reached)
        XCTAssertEqual(m.balloonInflatedPages.count, 0)
        let free2 = try g.memFreeKB()
        XCTAssertGreaterThan(free2, free1 + 60_000, "deflating gives the memory back (\(free1) → \(free2) kB)")

        // Free page reporting: churn memory through tmpfs so large free
        // blocks appear, then give the reporting worker (2 s delay) time.
        _ = try g.shell("head -c 150000000 /dev/zero > /tmp/z; rm /tmp/z; sleep 5")
        print("balloon test: MemFree \(free2) kB after deflating; \(m.balloonReportedPages.count) pages reported free")
        XCTAssertGreaterThan(m.balloonReportedPages.count, 1024, "reports arrived")
        let reportedSkippable = Set(m.balloonSkippablePages())
        XCTAssertTrue(m.balloonReportedPages.prefix(1024).contains { reportedSkippable.contains($0) })

        // The legacy interface: the same driver through virtio_pci force_legacy=1.
        _ = try g.shell("rmmod virtio_balloon; rmmod virtio_pci; modprobe virtio_pci force_legacy=1 && modprobe virtio_balloon")
        XCTAssertTrue(try g.shell("ls /sys/bus/virtio/drivers/virtio_balloon").contains("virtio0"), "driver bound again")
        XCTAssertTrue(m.balloonDriverReady)
        XCTAssertEqual(m.balloonPCI!.driverFeatures & VirtioFeature.version1, 0, "legacy interface")
        try m.setBalloonTarget(pages: 4096)
        XCTAssertEqual(try m.runUntilBalloonSettles(budget: 30_000_000_000), .reached)
        XCTAssertEqual(m.balloonInflatedPages.count, 4096)
        try m.setBalloonTarget(pages: 0)
        XCTAssertEqual(try m.runUntilBalloonSettles(budget: 30_000_000_000), .reached)
        XCTAssertEqual(m.balloonPCI!.broken, false)
    }

    /// Saves `m`, restores into a new machine with a copy of its RAM, runs
    /// both the same distance, and compares state and RAM.
    func assertSnapshotResumesExactly(_ m: Machine) throws {
        let n = try Machine(memorySize: m.memory.ramSize, balloon: true)
        try n.loadFirmware(Machine.embeddedBIOS())
        n.memory.ram.update(from: m.memory.ram, count: m.memory.ramSize)
        try n.restoreState(m.saveState())
        XCTAssertEqual(n.saveState(), m.saveState())
        _ = m.run(instructions: 50_000_000)
        _ = n.run(instructions: 50_000_000)
        XCTAssertEqual(n.saveState(), m.saveState(), "states diverge after resume")
        XCTAssertEqual(memcmp(n.memory.ram, m.memory.ram, m.memory.ramSize), 0, "RAM diverges after resume")
        XCTAssertEqual(n.balloonInflatedPages, m.balloonInflatedPages)
    }
}

struct GuestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}
