import Foundation
import X86

/// An instruction trace to a file: one line per instruction the debugger
/// executes while the trace is on — the instruction count, CS:EIP, the
/// linear address and the instruction's first bytes (its text too, once a
/// disassembler is attached).
public final class InstructionTrace {
    private let handle: FileHandle
    public let path: String
    private var buffer = ""
    /// Describes the instruction at the current EIP (disassembly), if known.
    public var describe: ((CPU) -> String?)?
    public private(set) var lines = 0

    public init(path: String) throws {
        guard FileManager.default.createFile(atPath: path, contents: nil), let h = FileHandle(forWritingAtPath: path) else {
            throw DebuggerError("cannot create trace file '\(path)'")
        }
        handle = h
        self.path = path
    }

    deinit { close() }

    /// Notes the instruction the CPU is about to execute.
    func record(_ debugger: MachineDebugger) {
        let cpu = debugger.cpu
        let cs = cpu.segment(1)
        var line = "\(cpu.instructionCount) \(hexPad(cs.selector, 4)):\(hexPad(cpu.eip, 8)) \(hexPad(cpu.linearPC, 8))"
        if let text = describe?(cpu) {
            line += " " + text
        } else if let bytes = cpu.debugRead(linear: cpu.linearPC, count: 8) {
            line += " " + bytes.map { hexPad($0, 2) }.joined(separator: " ")
        }
        buffer += line + "\n"
        lines += 1
        if buffer.utf8.count > 1 << 16 { flush() }
    }

    public func flush() {
        guard !buffer.isEmpty else { return }
        handle.write(Data(buffer.utf8))
        buffer = ""
    }

    public func close() {
        flush()
        try? handle.close()
    }
}
