import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The host terminal as the guest's serial console: raw mode while the
/// machine runs, keystrokes read on a background thread, and QEMU-style
/// escapes — Ctrl-A x quits, Ctrl-A h prints help, Ctrl-A Ctrl-A sends a
/// literal Ctrl-A.
final class Console {
    enum Command { case quit, suspend }

    private var saved = termios()
    private var isRaw = false
    private let lock = NSLock()
    private var pending: [UInt8] = []
    private var commands: [Command] = []
    private var escape = false
    let interactive: Bool

    init() {
        interactive = isatty(0) != 0
    }

    /// Puts the terminal in raw mode (if it is one) and starts reading stdin.
    func start() {
        if interactive, tcgetattr(0, &saved) == 0 {
            var raw = saved
            cfmakeraw(&raw)
            raw.c_oflag |= tcflag_t(OPOST | ONLCR) // keep "\n" → "\r\n" for our own messages
            tcsetattr(0, TCSANOW, &raw)
            isRaw = true
        }
        let thread = Thread { [weak self] in self?.readLoop() }
        thread.stackSize = 1 << 16
        thread.start()
    }

    func restore() {
        if isRaw {
            var s = saved
            tcsetattr(0, TCSANOW, &s)
            isRaw = false
        }
    }

    private func readLoop() {
        var buf = [UInt8](repeating: 0, count: 256)
        while true {
            let n = read(0, &buf, buf.count)
            if n <= 0 { return }
            lock.lock()
            for b in buf[0..<n] { handle(b) }
            lock.unlock()
        }
    }

    private func handle(_ b: UInt8) {
        guard interactive else { pending.append(b); return }
        if escape {
            escape = false
            switch b {
            case UInt8(ascii: "x"): commands.append(.quit)
            case UInt8(ascii: "s"): commands.append(.suspend)
            case UInt8(ascii: "h"): printHelp()
            case 0x01: pending.append(0x01)
            default: break
            }
        } else if b == 0x01 {
            escape = true
        } else {
            pending.append(b)
        }
    }

    private func printHelp() {
        let text = "\r\nC-a h    print this help\r\nC-a x    exit the emulator\r\nC-a s    suspend (save the capsule and exit)\r\nC-a C-a  send C-a to the guest\r\n"
        FileHandle.standardError.write(text.data(using: .utf8)!)
    }

    /// Bytes typed since the last call.
    func takeInput() -> [UInt8] {
        lock.lock(); defer { lock.unlock() }
        let b = pending
        pending.removeAll()
        return b
    }

    func takeCommand() -> Command? {
        lock.lock(); defer { lock.unlock() }
        return commands.isEmpty ? nil : commands.removeFirst()
    }
}
