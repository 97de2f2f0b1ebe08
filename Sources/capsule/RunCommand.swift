import ArgumentParser
import Foundation
import PC
import X86

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "run", abstract: "Run a machine.")

    @Option(help: "Raw firmware image (64 KiB or 128 KiB) mapped below 1 MiB and 4 GiB.")
    var firmware: String?

    @Option(help: "Guest RAM, e.g. 16M, 128M, 1G.")
    var memory: String = "128M"

    @Flag(help: "Print every byte written to port 0x80 as 'POST 0xNN' on stderr.")
    var postCodes = false

    @Option(help: "COM1: stdio, none, or file:PATH.")
    var serial: String = "stdio"

    @Option(help: "Stop after this many instructions.")
    var maxInstructions: UInt64?

    @Flag(help: "Log unimplemented ports and other guest oddities to stderr.")
    var log = false

    func run() throws {
        guard let bytes = parseSize(memory) else { throw ValidationError("bad --memory '\(memory)': use a size like 16M or 1G") }
        let machine: Machine
        do { machine = try Machine(memorySize: bytes) } catch { throw ValidationError("\(error)") }
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
        guard let firmware else {
            throw ValidationError("nothing to run: give --firmware FILE (Linux boot comes with the PC board)")
        }
        guard let data = FileManager.default.contents(atPath: firmware) else {
            throw ValidationError("cannot read firmware image '\(firmware)'")
        }
        do { try machine.loadFirmware([UInt8](data)) } catch { throw ValidationError("\(error)") }

        let limit = maxInstructions ?? UInt64.max
        let cpu = machine.cpu
        var reason = ""
        var status: Int32 = 0
        loop: while true {
            let left = limit - cpu.instructionCount
            if left == 0 { reason = "instruction limit reached"; break }
            let outcome = cpu.run(maxInstructions: Int(min(left, 1_000_000)))
            switch outcome {
            case .instructionLimit, .reachedEIP, .breakpoint, .exception, .watchpoint:
                continue
            case .halted:
                if cpu.eflags & EFlags.if == 0 {
                    reason = "halted with interrupts disabled"
                } else {
                    reason = "halted with interrupts enabled and no interrupt source"
                    status = 3
                }
                break loop
            case .shutdown:
                reason = "triple fault (shutdown)"
                status = 2
                break loop
            }
        }
        output.flush()
        let eip = String(format: "%04X:%08X", cpu.segment(1).selector, cpu.eip)
        FileHandle.standardError.write("capsule: stopped: \(reason) at \(eip) after \(cpu.instructionCount) instructions\n".data(using: .utf8)!)
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
