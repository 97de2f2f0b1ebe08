import ArgumentParser
import Capsule
import Foundation
import PC

/// `capsule bench suspend`: boots the default guest to its shell, then
/// measures suspend (save) and resume (load) time and the stored size, for
/// a full first save and for an incremental save after more execution.
struct SuspendBench: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "suspend", abstract: "Suspend/resume time and stored size for the Linux guest.")

    @Option(help: "Guest RAM sizes to measure.") var memory: [String] = ["128M", "512M"]
    @Option(help: "Instructions to run before the first suspend (boot to the shell).") var boot: UInt64 = 9_000_000_000
    @Option(help: "Store directory (a fresh one is made inside).") var directory: String = NSTemporaryDirectory()

    func run() throws {
        try DefaultGuest.ensure()
        for m in memory {
            guard let bytes = parseSize(m) else { throw ValidationError("bad size \(m)") }
            let root = directory + "/capsule-suspend-bench-\(getpid())-\(m)"
            defer { try? FileManager.default.removeItem(atPath: root) }
            let store = try Store(root: root)
            let options = try MachineOptions.parse(["--kernel", DefaultGuest.kernel.path, "--initrd", DefaultGuest.initrd.path,
                                                    "--append", DefaultGuest.commandLine, "--memory", m])
            let (machine, firmware) = try options.build()
            let capsule = try MachineCapsule(creating: "bench", store: store, machine: machine, firmware: firmware, rawDisks: [])
            _ = machine.run(instructions: boot)
            func timed(_ body: () throws -> Void) rethrows -> Double {
                let t = DispatchTime.now().uptimeNanoseconds
                try body()
                return Double(DispatchTime.now().uptimeNanoseconds - t) / 1e9
            }
            let first = try timed { try capsule.save() }
            let size1 = directorySize(root)
            _ = machine.run(instructions: 200_000_000)
            let second = try timed { try capsule.save() }
            let size2 = directorySize(root)
            let resume = try timed { _ = try MachineCapsule(resuming: "bench", store: store) }
            print(String(format: "%@ RAM (%d MiB): first suspend %.2f s, store %.1f MiB; incremental suspend after 200M instructions %.2f s (+%.1f MiB); resume %.2f s",
                         m as NSString, bytes >> 20, first, Double(size1) / 1_048_576, second, Double(size2 - size1) / 1_048_576, resume))
        }
    }

    func directorySize(_ path: String) -> UInt64 {
        guard let e = FileManager.default.enumerator(atPath: path) else { return 0 }
        var total: UInt64 = 0
        for case let f as String in e {
            if let a = try? FileManager.default.attributesOfItem(atPath: path + "/" + f), let s = a[.size] as? UInt64 { total += s }
        }
        return total
    }
}
