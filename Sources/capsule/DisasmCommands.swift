import ArgumentParser
import Debugger
import Foundation

/// `capsule disasm-check`: the disassembler against GNU objdump on random
/// instructions of every implemented opcode (docs/disassembler.md).
struct DisasmCheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "disasm-check",
        abstract: "Compare the disassembler with GNU objdump on random instructions.")

    @Option(help: "Number of cases (split over 16/32-bit code and Intel/AT&T syntax).")
    var cases: Int = 1_000_000

    @Option(help: "Random seed.")
    var seed: UInt64 = 1

    @Option(help: "Instructions per objdump run.")
    var batch: Int = 25_000

    @Option(help: "How many mismatches to print.")
    var show: Int = 50

    @Option(help: "objdump to run (default: objdump in PATH).")
    var objdump: String?

    func run() throws {
        guard cases > 0, batch > 0 else { throw ValidationError("--cases and --batch must be positive") }
        let runner: ObjdumpRunner
        do { runner = try ObjdumpRunner(executable: objdump) } catch { throw ValidationError("\(error)") }
        var check = DisasmComparison(runner: runner)
        check.keepExamples = show
        let start = Date()
        var lastPrint = Date()
        let summary = try check.run(cases: cases, seed: seed, batchSize: batch) { s in
            if Date().timeIntervalSince(lastPrint) > 10 {
                lastPrint = Date()
                FileHandle.standardError.write("disasm-check: \(s.cases) cases, \(s.mismatches) mismatches\n".data(using: .utf8)!)
            }
        }
        print(summary.report, terminator: "")
        print(String(format: "seed %llu, %.1f s", seed, Date().timeIntervalSince(start)))
        if summary.mismatches > 0 { throw ExitCode(1) }
    }
}

/// `capsule disasm FILE`: a listing of raw machine code, laid out like
/// `objdump -D -b binary` (address, bytes, instruction).
struct DisasmCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "disasm",
        abstract: "Disassemble a file of raw 16- or 32-bit x86 code.")

    @Argument(help: "File of raw machine code.")
    var file: String

    @Option(help: "Code size: 16 or 32.")
    var bits: Int = 32

    @Option(help: "Address of the first byte (hex with 0x, or decimal).")
    var org: String = "0"

    @Flag(help: "AT&T syntax instead of Intel.")
    var att = false

    func run() throws {
        guard bits == 16 || bits == 32 else { throw ValidationError("--bits must be 16 or 32, not \(bits)") }
        let origin: UInt32
        if org.lowercased().hasPrefix("0x"), let v = UInt32(org.dropFirst(2), radix: 16) {
            origin = v
        } else if let v = UInt32(org) {
            origin = v
        } else {
            throw ValidationError("--org must be an address like 0x7c00 or 31744, not '\(org)'")
        }
        guard let data = FileManager.default.contents(atPath: file) else {
            throw ValidationError("cannot read '\(file)'")
        }
        let code = [UInt8](data)
        let dis = Disassembler(syntax: att ? .att : .intel)
        var out = ""
        var offset = 0
        code.withUnsafeBytes { all in
            while offset < code.count {
                let rest = UnsafeRawBufferPointer(rebasing: all[offset..<min(code.count, offset + 15)])
                let address = origin &+ UInt32(truncatingIfNeeded: offset)
                var (length, text) = dis.disassemble(bytes: rest, address: address, bits32: bits == 32)
                if length <= 0 { length = 1; text = "(bad)" }
                let bytes = code[offset..<offset + length].map { String(format: "%02x", $0) }.joined(separator: " ")
                let addr = String(address, radix: 16)
                out += String(repeating: " ", count: max(0, 8 - addr.count)) + addr + ":\t"
                    + bytes.padding(toLength: max(bytes.count, 21), withPad: " ", startingAt: 0) + "\t" + text + "\n"
                offset += length
                if out.utf8.count > 1 << 16 { print(out, terminator: ""); out = "" }
            }
        }
        print(out, terminator: "")
    }
}
