/// The keys of `capsule debug --tui`, apart from the terminal: a key goes
/// in, the debugger acts, the renderer's state changes. The terminal loop
/// (in the CLI) feeds it bytes and draws `renderer.render`.
public final class TUIController {
    public let commands: DebugCommands
    public var renderer = TUIRenderer()
    /// Text typed after ':' (nil when not in command entry).
    public private(set) var commandLine: String?
    public private(set) var quit = false

    public init(commands: DebugCommands) {
        self.commands = commands
        renderer.status = "stopped at reset; s steps, c continues"
    }

    /// Handles one key byte. `running` is set around a continue so the
    /// terminal loop can show that the guest runs.
    public func key(_ byte: UInt8) {
        if var line = commandLine {
            switch byte {
            case 13, 10:
                commandLine = nil
                execute(line)
            case 27:
                commandLine = nil
                renderer.status = "command cancelled"
            case 127, 8:
                if !line.isEmpty { line.removeLast() }
                commandLine = line
                renderer.status = ":" + line
            default:
                if byte >= 0x20 && byte < 0x7F { line.append(Character(UnicodeScalar(byte))) }
                commandLine = line
                renderer.status = ":" + line
            }
            return
        }
        switch byte {
        case UInt8(ascii: "s"): execute("step")
        case UInt8(ascii: "n"): execute("next")
        case UInt8(ascii: "b"): execute("reverse-step")
        case UInt8(ascii: "r"): execute("reverse-continue")
        case UInt8(ascii: "c"): execute("continue")
        case UInt8(ascii: "q"): quit = true
        case UInt8(ascii: ":"):
            commandLine = ""
            renderer.status = ":"
        default: break
        }
    }

    /// Runs a debugger command; `m ADDR` moves the memory pane.
    public func execute(_ line: String) {
        let words = line.split(separator: " ")
        if words.first == "m", words.count == 2 {
            do {
                renderer.memoryAddress = try commands.address(String(words[1]))
                renderer.status = "memory pane at \(hex32(renderer.memoryAddress))"
            } catch {
                renderer.status = "error: \(error)"
            }
            return
        }
        let pc = commands.debugger.cpu.linearPC
        let result = commands.execute(line)
        if commands.debugger.cpu.linearPC != pc {
            renderer.history.append(pc)
            if renderer.history.count > 16 { renderer.history.removeFirst() }
        }
        let out = result.output.split(separator: "\n").map(String.init)
        if let stop = out.first(where: { $0.hasPrefix("stopped:") }) {
            renderer.status = stop
            renderer.message = out.filter { $0 != stop }.joined(separator: "\n")
        } else {
            renderer.status = out.first ?? ""
            renderer.message = out.dropFirst().joined(separator: "\n")
        }
        if result.quit { quit = true }
    }
}
