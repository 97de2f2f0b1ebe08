import Foundation
import XCTest

/// `capsule run --gdb PORT --gdb-wait` (release binary) booting the Linux
/// guest directly, held at its first instruction until gdb connects.
final class LinuxGDBTarget {
    let process = Process()
    let port: UInt16
    private let stderrPipe = Pipe()
    private let lock = NSLock()
    private var stderrText = ""

    init(portOffset: Int = 0) throws {
        let guest = try DebugScript.guestDirectory()
        port = UInt16(20000 + (Int(getpid()) + portOffset) % 20000)
        process.executableURL = try DebugScript.binary()
        process.arguments = ["run", "--kernel", guest.appendingPathComponent("vmlinuz").path,
                             "--initrd", guest.appendingPathComponent("initrd.gz").path,
                             "--append", "console=ttyS0 acpi=off", "--memory", "128M",
                             "--serial", "none", "--gdb", String(port), "--gdb-wait"]
        process.standardError = stderrPipe
        process.standardOutput = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        stderrPipe.fileHandleForReading.readabilityHandler = { [weak self] h in
            let d = h.availableData
            guard let self else { return }
            self.lock.lock(); self.stderrText += String(decoding: d, as: UTF8.self); self.lock.unlock()
        }
        try process.run()
    }

    var stderr: String { lock.lock(); defer { lock.unlock() }; return stderrText }

    /// Waits until the stub listens (a probe connection would become the session).
    func waitUntilListening(seconds: Double = 30) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if stderr.contains("waiting for gdb") { return true }
            usleep(50_000)
        }
        return false
    }

    func finish() {
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
        stderrPipe.fileHandleForReading.readabilityHandler = nil
    }
}
