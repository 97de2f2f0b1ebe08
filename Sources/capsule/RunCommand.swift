import ArgumentParser
import Debugger
import Foundation
import PC
import X86

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "run", abstract: "Run a machine.")

    @Option(help: "Raw firmware image (64 KiB or 128 KiB) mapped below 1 MiB and 4 GiB.")
    var firmware: String?

    @Option(help: "Linux bzImage to boot directly (32-bit boot protocol).")
    var kernel: String?

    @Option(help: "Initial ramdisk for --kernel.")
    var initrd: String?

    @Option(help: "Kernel command line for --kernel.")
    var append: String = "console=ttyS0"

    @Option(help: "Raw disk image on the first IDE channel (master); repeat for the slave.")
    var disk: [String] = []

    @Option(help: "ISO image in an ATAPI CD-ROM on the second IDE channel.")
    var cdrom: String?

    @Option(help: "Guest RAM, e.g. 16M, 128M, 1G.")
    var memory: String = "128M"

    @Flag(help: "Print every byte written to port 0x80 as 'POST 0xNN' on stderr.")
    var postCodes = false

    @Option(help: "COM1: stdio, none, or file:PATH.")
    var serial: String = "stdio"

    @Option(help: "Display: none, or text (render the VGA text screen in this terminal).")
    var display: String = "none"

    @Option(help: "Stop after this many instructions.")
    var maxInstructions: UInt64?

    @Flag(help: "Log unimplemented ports and other guest oddities to stderr.")
    var log = false

    @Option(help: "Serve gdb's remote protocol on PORT or HOST:PORT (127.0.0.1 unless a host is given).")
    var gdb: String?

    @Flag(help: "With --gdb: hold the guest at its first instruction until gdb connects.")
    var gdbWait = false

    func readFile(_ path: String, what: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ValidationError("cannot read \(what) '\(path)'")
        }
        return [UInt8](data)
    }

    func run() throws {
        guard let bytes = parseSize(memory) else { throw ValidationError("bad --memory '\(memory)': use a size like 16M or 1G") }
        if firmware == nil && kernel == nil && disk.isEmpty && cdrom == nil {
            throw ValidationError("nothing to run: give --kernel FILE, --disk IMAGE, --cdrom ISO or --firmware FILE")
        }
        if disk.count > 2 { throw ValidationError("at most two --disk images (primary master and slave)") }
        if initrd != nil && kernel == nil { throw ValidationError("--initrd needs --kernel") }
        let machine: Machine
        do { machine = try Machine(memorySize: bytes) } catch { throw ValidationError("\(error)") }
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
        do {
            try machine.loadFirmware(try firmware.map { try readFile($0, what: "firmware image") } ?? Machine.embeddedBIOS())
            for (i, path) in disk.enumerated() {
                do {
                    _ = machine.ide.attachDisk(try RawFileDisk(path: path), channel: 0, position: i)
                } catch {
                    throw ValidationError("--disk \(path): \(error)")
                }
            }
            if let cdrom {
                do {
                    _ = machine.ide.attachCDROM(try RawFileDisk(path: cdrom, readOnly: true), channel: 1, position: 0)
                } catch {
                    throw ValidationError("--cdrom \(cdrom): \(error)")
                }
            }
            if let kernel {
                let k = try readFile(kernel, what: "kernel")
                let i = try initrd.map { try readFile($0, what: "initrd") }
                try LinuxLoader.load(kernel: k, initrd: i, commandLine: append, into: machine)
            }
        } catch let e as MachineError {
            throw ValidationError(e.description)
        }

        let cpu = machine.cpu
        let console = Console()
        if serial == "stdio" || display == "text" { console.start() }
        defer { console.restore() }
        let screen = display == "text" ? TextDisplay() : nil
        screen?.start()
        defer { screen?.stop() }
        var gdbServer: GDBServer?
        if let spec = gdb {
            guard let (host, port) = GDBServer.listenAddress(spec) else {
                throw ValidationError("bad --gdb '\(spec)': use PORT or HOST:PORT")
            }
            do { gdbServer = try GDBServer(machine: machine, host: host, port: port) } catch {
                throw ValidationError("--gdb: \(error)")
            }
            FileHandle.standardError.write("capsule: gdb server on \(host):\(gdbServer!.port)\n".data(using: .utf8)!)
        } else if gdbWait {
            throw ValidationError("--gdb-wait needs --gdb")
        }
        var quit = false
        var gdbEnded = false
        machine.onSliceBoundary = {
            if let g = gdbServer, g.hasPendingConnection { cpu.requestStop() }
            output.flush()
            screen?.refresh(machine)
            let input = console.takeInput()
            if !input.isEmpty { machine.queueSerialInput(input) }
            if let c = console.takeCommand(), c == .quit {
                quit = true
                cpu.requestStop()
            }
        }
        if let g = gdbServer, gdbWait {
            FileHandle.standardError.write("capsule: waiting for gdb on port \(g.port)\n".data(using: .utf8)!)
            if let end = g.waitForDebugger(), end == .killed || end == .exited { gdbEnded = true }
        }
        let limit = maxInstructions ?? UInt64.max
        var reason = Machine.StopReason.stopRequested
        while !gdbEnded {
            reason = machine.run(instructions: limit &- min(limit, cpu.instructionCount))
            if reason == .stopRequested, !quit, let g = gdbServer, let end = g.poll() {
                if end == .killed || end == .exited { break }
                continue
            }
            break
        }
        output.flush()
        screen?.stop()
        console.restore()
        _ = quit
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
        FileHandle.standardError.write("capsule: stopped: \(text) at \(eip) after \(cpu.instructionCount) instructions\n".data(using: .utf8)!)
        if status != 0 { throw ExitCode(status) }
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
