import ArgumentParser
import Capsule
import Debugger
import Foundation
import Migration
import PC
import X86

/// How a machine runs in this process, whatever built it (`capsule run`,
/// or `capsule fetch --run` / `capsule serve --run` for a capsule that
/// arrives by migration): console, display, limits, suspend, gdb.
struct RunOptions: ParsableArguments {
    @Option(help: "Suspend the capsule after this many instructions of this run.")
    var suspendAfter: UInt64?

    @Option(help: "With --suspend-after N: after N instructions run on until this holds, then suspend: irq, rep, dma, serial, fpu, or text:STRING (COM1 output ends with STRING).")
    var suspendOn: String?

    @Flag(help: "Print every byte written to port 0x80 as 'POST 0xNN' on stderr.")
    var postCodes = false

    @Option(help: "COM1: stdio, none, or file:PATH.")
    var serial: String = "stdio"

    @Option(help: "Display: none, or text (render the VGA text screen in this terminal).")
    var display: String = "none"

    @Flag(help: "Pace virtual time to wall-clock time (interactive use); by default the guest runs as fast as it can.")
    var realtime = false

    @Option(help: "Stop after this many instructions.")
    var maxInstructions: UInt64?

    @Flag(help: "At the end print one SHA-256 of the complete machine state as the last stderr line: state-hash HEX.")
    var stateHash = false

    @Flag(help: "Log unimplemented ports and other guest oddities to stderr.")
    var log = false

    @Option(help: "Serve gdb's remote protocol on PORT or HOST:PORT (127.0.0.1 unless a host is given).")
    var gdb: String?

    @Flag(help: "With --gdb: hold the guest at its first instruction until gdb connects.")
    var gdbWait = false

    /// `journaledDisks`: the raw disks wrapped for reverse execution under --gdb.
    /// `arriving`: the capsule is still arriving by migration (demand paging).
    func start(_ machine: Machine, capsule: MachineCapsule?, journaledDisks: [JournaledDisk] = [], arriving: ArrivingCapsule? = nil) throws {
        guard display == "none" || display == "text" else { throw ValidationError("bad --display '\(display)': use none or text") }
        if display == "text" && serial == "stdio" {
            throw ValidationError("--display text draws on this terminal; send the serial port elsewhere with --serial file:PATH or none")
        }
        let output = try SerialOutput(spec: serial)
        machine.com1.transmit = { output.write($0) }
        if postCodes {
            machine.post.onCode = { code in
                FileHandle.standardError.write("POST 0x\(String(format: "%02X", code))\n".data(using: .utf8)!)
            }
        }
        if log {
            machine.ports.log = { FileHandle.standardError.write("capsule: \($0)\n".data(using: .utf8)!) }
        }
        let cpu = machine.cpu
        // A capsule remembers which pages its guest used last, so that a
        // migration can send those first (`PageRecencyRecord`).
        if capsule != nil && machine.pageRecency == nil { machine.enablePageRecency(interval: 20_000_000) }
        let console = Console()
        if serial == "stdio" || display == "text" { console.start() }
        defer { console.restore() }
        let screen = display == "text" ? TextDisplay() : nil
        let pacer = realtime ? RealtimePacer(startVirtual: machine.scheduler.now) : nil
        screen?.start()
        defer { screen?.stop() }
        var gdbServer: GDBServer?
        var reverseEngine: ReverseEngine?
        if let spec = gdb {
            guard let (host, port) = GDBServer.listenAddress(spec) else {
                throw ValidationError("bad --gdb '\(spec)': use PORT or HOST:PORT")
            }
            // Reverse execution (gdb's reverse-stepi / reverse-continue) when
            // going back can be exact, i.e. every writable disk keeps undo data.
            if ReverseEngine.disksAreJournaled(machine, journaledDisks) {
                reverseEngine = ReverseEngine(machine: machine, disks: journaledDisks)
            }
            do {
                if let reverseEngine {
                    gdbServer = try GDBServer(machine: machine, host: host, port: port, reverseEngine: reverseEngine)
                } else {
                    gdbServer = try GDBServer(machine: machine, host: host, port: port)
                }
            } catch {
                throw ValidationError("--gdb: \(error)")
            }
            // `monitor statehash`: the complete state hash, as --state-hash prints it.
            gdbServer?.monitorExtension = { line in
                line.trimmingCharacters(in: .whitespaces) == "statehash" ? "statehash \((try? StateHash.of(machine).hex) ?? "unavailable")\n" : nil
            }
            FileHandle.standardError.write("capsule: gdb server on \(host):\(gdbServer!.port)\n".data(using: .utf8)!)
        } else if gdbWait {
            throw ValidationError("--gdb-wait needs --gdb")
        }
        var quit = false
        var suspend = false
        var gdbEnded = false
        let suspendCondition = try suspendOn.map { (spec: String) throws -> MachineCondition in
            guard suspendAfter != nil else { throw ValidationError("--suspend-on needs --suspend-after N") }
            guard let c = MachineCondition(spec: spec) else {
                throw ValidationError("bad --suspend-on '\(spec)': use \(MachineCondition.specHelp)")
            }
            return c
        }
        // Once --suspend-after's count is reached, the search for
        // --suspend-on's moment must not be cut short by the same check.
        var seekingCondition = false
        SignalFlags.install()
        CrashReporter.install(cpu)
        // Test hook for the crash reporter: die deliberately after N instructions.
        let crashAfter = ProcessInfo.processInfo.environment["CAPSULE_DEBUG_CRASH_AFTER"].flatMap(UInt64.init)
        // --max-instructions and --suspend-after count what this run executes.
        let startCount = cpu.instructionCount
        let suspendLimit = suspendAfter ?? UInt64.max
        // A capsule still arriving: pages that came in the background are
        // installed between slices; once the transfer committed, the rest.
        func arrived(_ a: ArrivingCapsule) {
            stderrLine("capsule: '\(a.capsule.name)' has arrived completely: it no longer needs the sender")
        }
        arriving?.onPause = { message in stderrLine("capsule: " + (message ?? "the sender is back: guest continues")) }
        arriving?.shouldAbandon = {
            if SignalFlags.terminate != 0 { return true }
            switch console.takeCommand() {
            case .quit?:
                quit = true
                return true
            case .suspend?:
                // Honoured once the page is in: the run stops, waits for the commit, saves.
                suspend = true
                cpu.requestStop()
                return false
            case nil:
                return false
            }
        }
        machine.onSliceBoundary = {
            if let arriving, (try? arriving.betweenSlices()) == true { arrived(arriving) }
            if let g = gdbServer, g.hasPendingConnection { cpu.requestStop() }
            output.flush()
            screen?.refresh(machine)
            let input = console.takeInput()
            if !input.isEmpty {
                // With the VGA screen on this terminal, typing goes to the PS/2 keyboard.
                if screen != nil { machine.queueKeyboardInput(input) } else { machine.queueSerialInput(input) }
            }
            pacer?.pace(virtualNanoseconds: machine.scheduler.now)
            switch console.takeCommand() {
            case .quit?:
                quit = true
                cpu.requestStop()
            case .suspend?:
                suspend = true
                cpu.requestStop()
            case nil:
                break
            }
            if SignalFlags.terminate != 0 {
                suspend = true
                cpu.requestStop()
            }
            if let n = suspendAfter, !seekingCondition, cpu.instructionCount &- startCount >= n { cpu.requestStop() }
            if let n = crashAfter, cpu.instructionCount &- startCount >= n {
                fatalError("CAPSULE_DEBUG_CRASH_AFTER: deliberate crash to test the crash reporter")
            }
        }
        if let g = gdbServer, gdbWait {
            FileHandle.standardError.write("capsule: waiting for gdb on port \(g.port)\n".data(using: .utf8)!)
            if let end = g.waitForDebugger(), end == .killed || end == .exited { gdbEnded = true }
        }
        let limit = min(maxInstructions ?? UInt64.max, suspendLimit)
        var reason = Machine.StopReason.stopRequested
        while !gdbEnded {
            let done = cpu.instructionCount &- startCount
            reason = machine.run(instructions: limit &- min(limit, done))
            if reason == .stopRequested, !quit, let g = gdbServer, let end = g.poll() {
                if end == .killed || end == .exited { break }
                continue
            }
            break
        }
        if let c = suspendCondition, reason == .instructionLimit, !quit, !suspend {
            seekingCondition = true
            // Bounded so a condition the guest never reaches ends the run with a message.
            let budget: UInt64 = 20_000_000_000
            switch machine.run(until: c, budget: budget) {
            case nil:
                FileHandle.standardError.write("capsule: --suspend-on \(c.spec): reached\n".data(using: .utf8)!)
            case .instructionLimit?:
                FileHandle.standardError.write("capsule: --suspend-on \(c.spec): not reached within \(budget) instructions; suspending here\n".data(using: .utf8)!)
            case let r?:
                reason = r
            }
        }
        output.flush()
        screen?.stop()
        console.restore()
        var status: Int32 = 0
        let text: String
        switch reason {
        case .instructionLimit: text = "instruction limit reached"
        case .haltedWithInterruptsDisabled: text = "halted with interrupts disabled"
        case .haltedForever:
            text = "halted with interrupts enabled and nothing left to wake the CPU"
            status = 3
        case .shutdown:
            text = "triple fault (shutdown)"
            status = 2
        case .breakpoint, .stopRequested: text = "stopped on request"
        case .watchpoint(let a): text = "watchpoint at 0x\(String(a, radix: 16))"
        }
        let eip = String(format: "%04X:%08X", cpu.segment(1).selector, cpu.eip)
        FileHandle.standardError.write("capsule: stopped: \(text) at \(eip) after \(cpu.instructionCount &- startCount) instructions\n".data(using: .utf8)!)
        if let failure = machine.demandPager?.failure {
            stderrLine("capsule: \(failure); the machine is incomplete and is not saved")
            throw ExitCode(4)
        }
        if let arriving, !arriving.isFinished, suspend || suspendAfter != nil || stateHash {
            // Saving or hashing needs the whole machine: wait for the rest.
            if !arriving.demand.committed { stderrLine("capsule: waiting for the rest of '\(arriving.capsule.name)' to arrive") }
            do { try arriving.waitUntilWhole() } catch {
                stderrLine("capsule: \(error); the machine is incomplete and is not saved")
                throw ExitCode(4)
            }
            arrived(arriving)
        }
        if let capsule, suspend || suspendAfter != nil {
            // Checkpointing cleared dirty bits the capsule save relies on.
            reverseEngine?.returnDirtyPages()
            do {
                let hash = try capsule.save()
                FileHandle.standardError.write("capsule: suspended '\(capsule.name)' (manifest \(hash.hex.prefix(16))) in \(capsule.store.root)\n".data(using: .utf8)!)
            } catch {
                FileHandle.standardError.write("capsule: suspend failed, the previous capsule is intact: \(error)\n".data(using: .utf8)!)
                throw ExitCode(4)
            }
        }
        if stateHash {
            FileHandle.standardError.write("state-hash \(try StateHash.of(machine).hex)\n".data(using: .utf8)!)
        }
        if status != 0 { throw ExitCode(status) }
    }
}
