import ArgumentParser
import Capsule
import Debugger
import Foundation
import PC
import X86

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "run", abstract: "Run a machine.")

    @Argument(help: "A capsule to resume (see `capsule create`); omit to run a machine built from the options.")
    var name: String?

    @OptionGroup var machineOptions: MachineOptions
    @OptionGroup var storeOptions: StoreOptions

    @OptionGroup var session: RunOptions

    func run() throws {
        if let name {
            guard machineOptions.isEmpty else {
                throw ValidationError("a capsule carries its own machine: give either a capsule name or machine options")
            }
            let store = try openStore(storeOptions)
            let capsule: MachineCapsule
            // Under gdb, undo journals let reverse execution go back across disk writes.
            var journaled: [JournaledDisk] = []
            do {
                if session.gdb == nil {
                    capsule = try MachineCapsule(resuming: name, store: store)
                } else {
                    (capsule, journaled) = try MachineCapsule.resumingJournaled(name, store: store)
                }
            } catch {
                throw ValidationError("cannot resume capsule '\(name)': \(error)")
            }
            // gdb can change the machine outside the input log: the run is not replayable.
            capsule.debugged = session.gdb != nil
            try session.start(capsule.machine, capsule: capsule, journaledDisks: journaled)
            return
        }
        if session.suspendAfter != nil { throw ValidationError("--suspend-after needs a capsule name (capsule create NAME first)") }
        if session.suspendOn != nil { throw ValidationError("--suspend-on needs a capsule name and --suspend-after") }
        var options = machineOptions
        if options.isEmpty {
            try DefaultGuest.ensure()
            options.kernel = DefaultGuest.kernel.path
            options.initrd = DefaultGuest.initrd.path
            options.append = DefaultGuest.commandLine
        }
        let (machine, _) = try options.build()
        var journaledDisks: [JournaledDisk] = []
        for (i, path) in options.disk.enumerated() {
            do {
                // Under gdb, an undo journal lets reverse execution go back across disk writes.
                let raw = try RawFileDisk(path: path)
                if session.gdb != nil {
                    let d = JournaledDisk(raw)
                    journaledDisks.append(d)
                    machine.attachHardDisk(d, position: i)
                } else {
                    machine.attachHardDisk(raw, position: i)
                }
            } catch {
                throw ValidationError("--disk \(path): \(error)")
            }
        }
        if let cdrom = options.cdrom {
            do { machine.attachCDROM(try RawFileDisk(path: cdrom, readOnly: true)) } catch {
                throw ValidationError("--cdrom \(cdrom): \(error)")
            }
        }
        try session.start(machine, capsule: nil, journaledDisks: journaledDisks)
    }
}

/// Where COM1's transmitted bytes go.
final class SerialOutput {
    private let handle: FileHandle?
    private var buffer: [UInt8] = []

    init(spec: String) throws {
        if spec == "stdio" {
            handle = FileHandle.standardOutput
        } else if spec == "none" {
            handle = nil
        } else if spec.hasPrefix("file:") {
            let path = String(spec.dropFirst(5))
            guard FileManager.default.createFile(atPath: path, contents: nil), let h = FileHandle(forWritingAtPath: path) else {
                throw ValidationError("cannot open serial output file '\(path)'")
            }
            handle = h
        } else {
            throw ValidationError("bad --serial '\(spec)': use stdio, none or file:PATH")
        }
    }

    func write(_ byte: UInt8) {
        guard handle != nil else { return }
        buffer.append(byte)
        if byte == 10 || buffer.count >= 4096 { flush() }
    }

    func flush() {
        guard let handle, !buffer.isEmpty else { return }
        handle.write(Data(buffer))
        buffer.removeAll(keepingCapacity: true)
    }
}
