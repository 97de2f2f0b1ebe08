import Foundation
import XCTest

/// The capsule issue's proofs on the Linux guest, from one booted machine:
/// Debian's kernel boots once (to the point where it starts the workload)
/// and is suspended; every run below starts from a clone of that capsule.
///
/// - proof 2: suspended in the middle of a workload (writing files to disk,
///   checksumming them) and resumed in a new process, the guest completes
///   with exactly the output of an uninterrupted run;
/// - proof 1 for Linux: split at the moments a forgotten piece of state
///   would show — inside an interrupt handler, between REP iterations,
///   with a disk DMA transfer in flight, in the middle of a line of serial
///   output, with a user program's values in the x87 — the resumed run
///   reaches the same state hash and the same serial output.
final class SuspendMidWorkloadTests: XCTestCase {
    static let workload = """
        mount -t ext4 /dev/sda1 /mnt || exit 1
        echo WORKLOAD-START
        i=0
        while [ $i -lt 8 ]; do
          dd if=/dev/urandom of=/mnt/f$i bs=64k count=2 conv=fsync 2>/dev/null
          sha256sum /mnt/f$i
          seq 1 0.25 150 | tail -n 1
          echo "line $i: the quick brown fox jumps over the lazy dog"
          i=$((i+1))
        done
        sync
        cat /mnt/f* | sha256sum
        echo WORKLOAD-DONE
        umount /mnt

        """

    /// The booted capsule and the uninterrupted run from it.
    struct Fixture {
        var dir: URL
        var store: String
        /// Serial output of the boot up to the suspend.
        var boot: Data
        /// Serial output and final state of the straight run from there.
        var straight: Data
        var straightHash: String
        var straightInstructions: UInt64
    }

    nonisolated(unsafe) static var shared: Result<Fixture, Error>?

    override class func tearDown() {
        if case .success(let f)? = shared { try? FileManager.default.removeItem(at: f.dir) }
        shared = nil
        super.tearDown()
    }

    func fixture() throws -> Fixture {
        if let f = Self.shared { return try f.get() }
        let r = Result { try makeFixture() }
        Self.shared = r
        return try r.get()
    }

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

    static func instructions(_ stderr: String) -> UInt64? {
        stderr.components(separatedBy: " after ").last.flatMap { UInt64($0.prefix { $0.isNumber }) }
    }

    static func stateHash(_ stderr: String) -> String? {
        stderr.split(separator: "\n").last.flatMap { $0.hasPrefix("state-hash ") ? String($0.dropFirst(11)) : nil }
    }

    func makeFixture() throws -> Fixture {
        let guest = try GuestSession.guestDirectory()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("capsule-midwork-\(getpid())")
        try? FileManager.default.removeItem(at: dir)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let initrd = try initrdWithWorkload(guest, into: dir)
        let store = dir.appendingPathComponent("store").path
        let disk = dir.appendingPathComponent("disk.img")
        try FileManager.default.copyItem(at: guest.appendingPathComponent("disk.img"), to: disk)
        _ = try capsule(["create", "base", "--kernel", guest.appendingPathComponent("vmlinuz").path, "--initrd", initrd.path,
                         "--append", "console=ttyS0 acpi=off capsule.poweroff", "--disk", disk.path, "--memory", "128M",
                         "--store", store], serial: dir.appendingPathComponent("create.txt"))
        // Boot to the moment init starts the workload.
        let bootSerial = dir.appendingPathComponent("boot.txt")
        let e = try capsule(["run", "base", "--store", store, "--suspend-after", "0",
                             "--suspend-on", "text:running /etc/capsule-autorun"], serial: bootSerial)
        guard e.contains("--suspend-on text:running /etc/capsule-autorun: reached"), e.contains("suspended 'base'") else {
            throw XCTSkip("the guest did not reach its workload: \(e)")
        }
        // Uninterrupted run to power-off.
        _ = try capsule(["clone", "base", "straight", "--store", store], serial: dir.appendingPathComponent("clone.txt"))
        let straightSerial = dir.appendingPathComponent("straight.txt")
        let s = try capsule(["run", "straight", "--store", store, "--max-instructions", "20000000000", "--state-hash"], serial: straightSerial)
        XCTAssertTrue(s.contains("halted with interrupts disabled"), s)
        let straight = try Data(contentsOf: straightSerial)
        XCTAssertTrue(String(decoding: straight, as: UTF8.self).contains("WORKLOAD-DONE"), String(decoding: straight.suffix(1500), as: UTF8.self))
        guard let hash = Self.stateHash(s), let total = Self.instructions(s) else { throw XCTSkip("no state hash or count in: \(s)") }
        return Fixture(dir: dir, store: store, boot: try Data(contentsOf: bootSerial), straight: straight,
                       straightHash: hash, straightInstructions: total)
    }

    /// Clones the base, runs it to a split point chosen by `firstRun`
    /// options, resumes in a new process to power-off and compares.
    /// Returns the first part's serial output.
    @discardableResult
    func split(_ name: String, _ firstRun: [String], file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let f = try fixture()
        _ = try capsule(["clone", "base", name, "--store", f.store], serial: f.dir.appendingPathComponent("clone.txt"))
        let p1 = f.dir.appendingPathComponent("\(name)-1.txt"), p2 = f.dir.appendingPathComponent("\(name)-2.txt")
        let e1 = try capsule(["run", name, "--store", f.store] + firstRun, serial: p1)
        XCTAssertTrue(e1.contains("suspended '\(name)'"), e1, file: file, line: line)
        if let i = firstRun.firstIndex(of: "--suspend-on") {
            XCTAssertTrue(e1.contains("--suspend-on \(firstRun[i + 1]): reached"), e1, file: file, line: line)
        }
        let e2 = try capsule(["run", name, "--store", f.store, "--max-instructions", "20000000000", "--state-hash"], serial: p2)
        XCTAssertTrue(e2.contains("halted with interrupts disabled"), e2, file: file, line: line)
        XCTAssertEqual(Self.stateHash(e2), f.straightHash, "\(name): state differs after resuming", file: file, line: line)
        if let a = Self.instructions(e1), let b = Self.instructions(e2) {
            XCTAssertEqual(a + b, f.straightInstructions, "\(name): instruction counts do not add up", file: file, line: line)
        }
        let first = try Data(contentsOf: p1)
        XCTAssertEqual(first + (try Data(contentsOf: p2)), f.straight, "\(name): serial output differs", file: file, line: line)
        return String(decoding: first, as: UTF8.self)
    }

    func testGuestSuspendedMidWorkloadCompletesWithTheSameOutput() throws {
        let f = try fixture()
        let first = try split("midway", ["--suspend-after", "\(f.straightInstructions / 2)"])
        XCTAssertTrue(first.contains("WORKLOAD-START") && !first.contains("WORKLOAD-DONE"),
                      "the suspend must fall inside the workload; first part ends:\n\(first.suffix(800))")
    }

    /// Each moment is sought from two starting points: right away and a
    /// third of the way into the workload.
    func testSplitsInsideHandlersREPDMASerialOutputAndFPUUse() throws {
        let f = try fixture()
        for condition in ["irq", "rep", "dma", "serial", "fpu"] {
            for start in [UInt64(0), f.straightInstructions / 3] {
                let name = "\(condition)-\(start)"
                _ = try split(name, ["--suspend-after", "\(start)", "--suspend-on", condition])
            }
        }
    }

    /// The conditions are real: each one reports reaching its moment, and
    /// a moment that never comes is reported as such (the run still suspends).
    func testSuspendOnReportsWhetherTheMomentCame() throws {
        let f = try fixture()
        _ = try capsule(["clone", "base", "never", "--store", f.store], serial: f.dir.appendingPathComponent("clone.txt"))
        let e = try capsule(["run", "never", "--store", f.store, "--suspend-after", "0", "--suspend-on", "text:no such text"],
                            serial: f.dir.appendingPathComponent("never.txt"))
        XCTAssertFalse(e.contains("reached"), e)
        XCTAssertTrue(e.contains("halted with interrupts disabled"), e)
        let bad = try capsule(["run", "never", "--store", f.store, "--suspend-after", "0", "--suspend-on", "sometimes"],
                              serial: f.dir.appendingPathComponent("bad.txt"))
        XCTAssertTrue(bad.contains("bad --suspend-on 'sometimes'"), bad)
    }
}
