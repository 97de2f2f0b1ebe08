import Debugger
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The terminal side of `capsule debug --tui`: raw mode, the alternate
/// screen, keys in, frames out. While the guest runs (continue), any key
/// or Ctrl-C breaks into the debugger and the frame is redrawn a few times
/// a second so the guest's screen and serial output can be watched.
final class DebugTUI {
    let controller: TUIController
    let output: SerialOutput
    private var saved = termios()
    private var lastDraw = DispatchTime(uptimeNanoseconds: 0)

    init(commands: DebugCommands, output: SerialOutput) {
        controller = TUIController(commands: commands)
        self.output = output
    }

    func run() throws {
        guard isatty(0) != 0, tcgetattr(0, &saved) == 0 else {
            throw DebuggerError("--tui needs a terminal on stdin")
        }
        var raw = saved
        cfmakeraw(&raw)
        // Keep ISIG off (raw) so Ctrl-C arrives as byte 3 and breaks the guest.
        tcsetattr(0, TCSANOW, &raw)
        write("\u{1B}[?1049h\u{1B}[?25l")
        defer {
            write("\u{1B}[0m\u{1B}[?25h\u{1B}[?1049l")
            var s = saved
            tcsetattr(0, TCSANOW, &s)
        }
        let debugger = controller.commands.debugger
        let previousInterrupt = debugger.shouldInterrupt
        debugger.shouldInterrupt = { [unowned self] in
            self.output.flush()
            let now = DispatchTime.now()
            if now.uptimeNanoseconds - self.lastDraw.uptimeNanoseconds > 200_000_000 {
                self.controller.renderer.status = "running... (any key breaks)"
                self.draw()
            }
            // Any key breaks in; the key itself is consumed.
            return self.readKey(timeoutMs: 0) != nil || (previousInterrupt?() ?? false)
        }
        defer { debugger.shouldInterrupt = previousInterrupt }
        while !controller.quit {
            draw()
            guard let key = readKey(timeoutMs: -1) else { break }
            if key == 3 || key == 4 { break } // Ctrl-C / Ctrl-D at the prompt: leave
            controller.key(key)
        }
    }

    private func draw() {
        var size = winsize()
        if ioctl(1, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 {
            controller.renderer.width = Int(size.ws_col)
            controller.renderer.height = Int(size.ws_row)
        }
        write(controller.renderer.render(controller.commands).replacingOccurrences(of: "\n", with: "\r\n"))
        lastDraw = DispatchTime.now()
    }

    private func readKey(timeoutMs: Int32) -> UInt8? {
        var p = pollfd(fd: 0, events: Int16(POLLIN), revents: 0)
        guard poll(&p, 1, timeoutMs) > 0 else { return nil }
        var b: UInt8 = 0
        return Glibc.read(0, &b, 1) == 1 ? b : nil
    }

    private func write(_ s: String) {
        FileHandle.standardOutput.write(s.data(using: .utf8)!)
    }
}
