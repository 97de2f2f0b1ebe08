import X86

/// Draws the `capsule debug --tui` screen into a string: registers (changed
/// values highlighted), the code around EIP, the stack, a memory pane, the
/// guest's VGA text screen and serial output, and a status line. The
/// terminal loop only writes the string out and reads keys, so everything
/// shown here is testable without a terminal.
public struct TUIRenderer {
    public var width = 120
    public var height = 50
    /// ANSI colours and highlight; off for tests that compare plain text.
    public var ansi = true
    /// Linear address of the memory pane.
    public var memoryAddress: UInt32 = 0
    /// Linear addresses of the last instructions executed, oldest first.
    public var history: [UInt32] = []
    public var status = ""
    public var message = ""

    public init() {}

    static let keys = "s step  n next  b step back  c continue (any key breaks)  r reverse-continue  : command  q quit"

    public func render(_ commands: DebugCommands) -> String {
        let cpu = commands.debugger.cpu
        var lines: [String] = []
        let highlight: (String) -> String = { ansi ? "\u{1B}[1;30;43m" + $0 + "\u{1B}[0m " : "[" + $0 + "]" }
        lines.append(title("registers"))
        lines += DebugViews.registers(cpu, previous: commands.previous, mark: highlight).split(separator: "\n").map(String.init)
        lines.append(title("code"))
        lines += code(commands)
        let stack = DebugViews.stack(cpu, count: 6).split(separator: "\n").map(String.init)
        let memory = DebugViews.memory(cpu, address: memoryAddress, count: 64, unit: 1, physical: false).split(separator: "\n").map(String.init)
        lines.append(title("stack") )
        lines += stack
        lines.append(title("memory \(hex32(memoryAddress))"))
        lines += memory
        lines.append(title("screen"))
        let screen = commands.screenText().split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let used = lines.count + 4
        let screenRows = max(0, min(25, height - used - 6))
        lines += screen.prefix(screenRows)
        lines.append(title("serial"))
        let serial = String(decoding: commands.serialOutput.suffix(2048), as: UTF8.self)
            .split(separator: "\n", omittingEmptySubsequences: false).map { String($0.filter { $0 != "\r" }) }
        lines += serial.suffix(max(1, height - lines.count - 3))
        if !message.isEmpty { lines += message.split(separator: "\n").prefix(4).map(String.init) }
        lines.append(status)
        lines.append(TUIRenderer.keys)
        var out = ansi ? "\u{1B}[H\u{1B}[2J" : ""
        for line in lines.prefix(height) { out += clip(line) + "\n" }
        return out
    }

    private func title(_ t: String) -> String {
        let bar = "-- " + t + " " + String(repeating: "-", count: max(0, min(width, 100) - t.count - 4))
        return ansi ? "\u{1B}[36m" + bar + "\u{1B}[0m" : bar
    }

    /// The last instructions executed, the current one marked, and what
    /// follows (text from the disassembler when attached, else bytes).
    private func code(_ commands: DebugCommands) -> [String] {
        let cpu = commands.debugger.cpu
        var out: [String] = []
        for a in history.suffix(3) where a != cpu.linearPC {
            out.append("   " + hexPad(a, 8) + ": " + text(commands, a).text)
        }
        var a = cpu.linearPC
        for i in 0..<6 {
            let t = text(commands, a)
            let line = (i == 0 ? "=> " : "   ") + hexPad(a, 8) + ": " + t.text
            out.append(i == 0 && ansi ? "\u{1B}[1m" + line + "\u{1B}[0m" : line)
            guard t.length > 0 else { break }
            a &+= UInt32(t.length)
        }
        return out
    }

    private func text(_ commands: DebugCommands, _ a: UInt32) -> (text: String, length: Int) {
        if let d = commands.disassemble?(commands.debugger.cpu, a) { return d }
        guard let bytes = commands.debugger.cpu.debugRead(linear: a, count: 8) else { return ("(unmapped)", 0) }
        return (bytes.map { hexPad($0, 2) }.joined(separator: " ") + " ...", 0)
    }

    /// Cuts a line to the width, not counting ANSI escapes.
    private func clip(_ line: String) -> String {
        var out = ""
        var visible = 0
        var inEscape = false
        for ch in line {
            if ch == "\u{1B}" { inEscape = true }
            if inEscape {
                out.append(ch)
                if ch.isLetter { inEscape = false }
                continue
            }
            if visible >= width { continue }
            out.append(ch)
            visible += 1
        }
        return out
    }
}
