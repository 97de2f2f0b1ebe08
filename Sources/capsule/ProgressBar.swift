import Foundation
import Migration

/// A one-line progress bar on stderr, drawn only when stderr is a
/// terminal (scripts and logs get the report only), at most 10 times a second.
final class ProgressBar: ProgressSink {
    let label: String
    var total: UInt64 = 0
    var done: UInt64 = 0
    var lastDraw = Date.distantPast
    let start = Date()
    var drawn = false

    init(label: String) { self.label = label }

    static func ifTerminal(label: String) -> ProgressBar? {
        isatty(2) != 0 ? ProgressBar(label: label) : nil
    }

    func begin(total: UInt64) {
        self.total = total
        done = 0
        draw(force: true)
    }

    func advance(_ bytes: UInt64) {
        done += bytes
        draw(force: done >= total)
    }

    func draw(force: Bool) {
        let now = Date()
        guard force || now.timeIntervalSince(lastDraw) >= 0.1 else { return }
        lastDraw = now
        let fraction = total == 0 ? 1 : min(1, Double(done) / Double(total))
        let width = 30
        let filled = Int(fraction * Double(width))
        let bar = String(repeating: "=", count: filled) + (filled < width ? ">" : "") + String(repeating: " ", count: max(0, width - filled - 1))
        let rate = Double(done) / max(0.001, now.timeIntervalSince(start))
        let percent = String(format: "%3d%%", Int(fraction * 100))
        let line = "\r\(label) [\(bar)] \(percent) \(mib(done)) / \(mib(total))  \(mib(UInt64(rate)))/s "
        FileHandle.standardError.write(Data(line.utf8))
        drawn = true
    }

    /// Ends the bar's line so the report starts on a fresh one.
    func finish() {
        if drawn { FileHandle.standardError.write(Data("\n".utf8)) }
    }

    private func mib(_ n: UInt64) -> String { String(format: "%.1f MiB", Double(n) / 1_048_576) }
}
