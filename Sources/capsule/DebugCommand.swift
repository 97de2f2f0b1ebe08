import ArgumentParser
import Capsule
import Debugger
import Foundation
import PC
import X86
#if canImport(Glibc)
import Glibc
#endif

/// `capsule debug`: the single-step debugger on any machine `capsule run`
/// can build (or on a capsule). Commands come from a prompt, a script file
/// or stdin; `--tui` draws the terminal UI instead. The machine starts
/// stopped at its first instruction (F000:FFF0 for a BIOS boot).
struct DebugCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "debug", abstract: "Debug a machine one instruction at a time (commands, script, or --tui).")

    @Argument(help: "A capsule to debug; omit to build a machine from the options.")
    var name: String?

    @OptionGroup var machineOptions: MachineOptions
    @OptionGroup var storeOptions: StoreOptions

    @Option(help: "Read commands from FILE ('-' for stdin) and print their results; end at the file's end.")
    var script: String?

    @Flag(help: "Terminal UI: registers, disassembly, stack, memory and the guest's screen.")
    var tui = false

    @Option(help: "COM1 output: none, stdio, or file:PATH.")
    var serial: String = "none"

    @Option(help: "Instructions between reverse-execution checkpoints (0 turns reverse execution off).")
    var checkpointInterval: UInt64 = 2_000_000

    @Flag(help: "Do not echo script commands before their output.")
    var quiet = false

    func run() throws {
        let (machine, journaled) = try buildMachine()
        let output = try SerialOutput(spec: serial)
        let reverse: ReverseEngine?
        if checkpointInterval == 0 {
            reverse = nil
        } else if !ReverseEngine.disksAreJournaled(machine, journaled) {
            reverse = nil
            FileHandle.standardError.write("capsule: reverse execution is off: this capsule's disks keep no undo journal\n".data(using: .utf8)!)
        } else {
            reverse = ReverseEngine(machine: machine, disks: journaled, interval: checkpointInterval)
        }
        let debugger = MachineDebugger(machine: machine, reverse: reverse)
        let commands = DebugCommands(debugger: debugger)
        commands.stateHash = { (try? StateHash.of(machine).hex) ?? "unavailable" }
        InstructionText.attach(to: commands)
        machine.com1.transmit = { b in
            output.write(b)
            // Appended in place (the array has one owner); the oldest half
            // goes when it grows past 64 KiB.
            commands.serialOutput.append(b)
            if commands.serialOutput.count > 1 << 16 { commands.serialOutput.removeFirst(1 << 15) }
        }
        SignalFlags.install()
        DebugInterrupt.install()
        debugger.shouldInterrupt = { DebugInterrupt.take() }
        CrashReporter.install(machine.cpu)
        defer {
            output.flush()
            debugger.trace?.close()
        }
        if tui {
            guard script == nil else { throw ValidationError("--tui and --script are alternatives") }
            guard serial != "stdio" else { throw ValidationError("--tui draws on this terminal; send COM1 to none or file:PATH") }
            try DebugTUI(commands: commands, output: output).run()
            return
        }
        let input: FileHandle
        var echo = !quiet
        if let script, script != "-" {
            guard let h = FileHandle(forReadingAtPath: script) else { throw ValidationError("cannot read script '\(script)'") }
            input = h
        } else {
            input = FileHandle.standardInput
            if script == nil && isatty(0) != 0 { echo = false }
        }
        let interactive = script == nil && isatty(0) != 0
        let reader = LineReader(input)
        if interactive { print(DebugCommands.help) }
        while true {
            if interactive {
                print("(capsule) ", terminator: "")
                fflush(stdout)
            }
            guard let line = reader.next() else { break }
            if echo && !line.trimmingCharacters(in: .whitespaces).isEmpty { print("(capsule) " + line) }
            // A Ctrl-C typed at the prompt must not stop the next command.
            DebugInterrupt.flag = 0
            let result = commands.execute(line)
            output.flush()
            print(result.output, terminator: "")
            fflush(stdout)
            if result.quit { break }
        }
    }

    /// The machine as `capsule run` would build it; raw disks are wrapped in
    /// undo journals so reverse execution can go back across guest writes.
    func buildMachine() throws -> (Machine, [JournaledDisk]) {
        if let name {
            guard machineOptions.isEmpty else {
                throw ValidationError("a capsule carries its own machine: give either a capsule name or machine options")
            }
            let store = try openStore(storeOptions)
            do {
                let (capsule, journaled) = try MachineCapsule.resumingJournaled(name, store: store)
                return (capsule.machine, journaled)
            } catch {
                throw ValidationError("cannot open capsule '\(name)': \(error)")
            }
        }
        var options = machineOptions
        if options.isEmpty {
            try DefaultGuest.ensure()
            options.kernel = DefaultGuest.kernel.path
            options.initrd = DefaultGuest.initrd.path
            options.append = DefaultGuest.commandLine
        }
        let (machine, _) = try options.build()
        var journaled: [JournaledDisk] = []
        for (i, path) in options.disk.enumerated() {
            do {
                let d = JournaledDisk(try RawFileDisk(path: path))
                journaled.append(d)
                machine.attachHardDisk(d, position: i)
            } catch {
                throw ValidationError("--disk \(path): \(error)")
            }
        }
        if let cdrom = options.cdrom {
            do { machine.attachCDROM(try RawFileDisk(path: cdrom, readOnly: true)) } catch {
                throw ValidationError("--cdrom \(cdrom): \(error)")
            }
        }
        return (machine, journaled)
    }
}

/// Lines from a file handle, read in chunks (stdin or a script file).
final class LineReader {
    private let handle: FileHandle
    private var buffer: [UInt8] = []
    private var eof = false

    init(_ handle: FileHandle) { self.handle = handle }

    func next() -> String? {
        while true {
            if let nl = buffer.firstIndex(of: 10) {
                let line = String(decoding: buffer[..<nl], as: UTF8.self)
                buffer.removeSubrange(...nl)
                return line
            }
            if eof {
                guard !buffer.isEmpty else { return nil }
                let line = String(decoding: buffer, as: UTF8.self)
                buffer = []
                return line
            }
            let data = handle.availableData
            if data.isEmpty { eof = true } else { buffer += data }
        }
    }
}

/// Ctrl-C while the guest runs under the debugger stops it (at the prompt,
/// the next command runs as usual). The handler only sets a flag.
enum DebugInterrupt {
    nonisolated(unsafe) static var flag: sig_atomic_t = 0

    static func install() {
        signal(SIGINT) { _ in DebugInterrupt.flag = 1 }
    }

    static func take() -> Bool {
        if flag == 0 && SignalFlags.terminate == 0 { return false }
        flag = 0
        return true
    }
}
