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
