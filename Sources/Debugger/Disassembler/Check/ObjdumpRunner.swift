import Foundation

/// Runs GNU objdump on raw machine code and parses its listing into
/// (offset, length, text) per instruction.
public struct ObjdumpRunner: Sendable {
    public struct Instruction: Sendable {
        public var offset: Int
        public var length: Int
        public var text: String
    }

    public enum Failure: Error, CustomStringConvertible {
        case notFound
        case failed(status: Int32, stderr: String)
        public var description: String {
            switch self {
            case .notFound: return "objdump not found in PATH (install binutils: apt-get install -y binutils)"
            case .failed(let s, let e): return "objdump exited with status \(s): \(e)"
            }
        }
    }

    public let executable: String

    public init(executable: String? = nil) throws {
        if let e = executable { self.executable = e; return }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for dir in path.split(separator: ":") {
            let candidate = String(dir) + "/objdump"
            if FileManager.default.isExecutableFile(atPath: candidate) { self.executable = candidate; return }
        }
        throw Failure.notFound
    }

    /// `objdump -D -b binary -z` with `-mi386` (32-bit) or `-mi8086`
    /// (16-bit), `-Mintel` for Intel syntax.
    public func disassemble(_ code: [UInt8], bits32: Bool, intel: Bool) throws -> [Instruction] {
        let file = NSTemporaryDirectory() + "capsule-disasm-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).bin"
        try Data(code).write(to: URL(fileURLWithPath: file))
        defer { try? FileManager.default.removeItem(atPath: file) }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = ["-D", "-z", "-w", "-b", "binary", bits32 ? "-mi386" : "-mi8086"] + (intel ? ["-Mintel"] : []) + [file]
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else {
            throw Failure.failed(status: p.terminationStatus, stderr: String(decoding: errData, as: UTF8.self))
        }
        return ObjdumpRunner.parse(data)
    }

    /// Listing lines are "  offset:\tbytes\ttext"; with -w all bytes are on
    /// one line. Anything else (headers, labels) is skipped.
    static func parse(_ data: Data) -> [Instruction] {
        var result: [Instruction] = []
        result.reserveCapacity(data.count / 40)
        data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            var lineStart = 0
            let n = raw.count
            while lineStart < n {
                var lineEnd = lineStart
                while lineEnd < n && raw[lineEnd] != 0x0A { lineEnd += 1 }
                parseLine(raw, lineStart, lineEnd, into: &result)
                lineStart = lineEnd + 1
            }
        }
        return result
    }

    private static func parseLine(_ raw: UnsafeRawBufferPointer, _ start: Int, _ end: Int, into result: inout [Instruction]) {
        var i = start
        while i < end && raw[i] == 0x20 { i += 1 }
        var offset = 0
        var digits = 0
        while i < end, let h = hexValue(raw[i]) { offset = offset * 16 + h; i += 1; digits += 1 }
        guard digits > 0, i + 1 < end, raw[i] == 0x3A, raw[i + 1] == 0x09 else { return }
        i += 2
        // Bytes: pairs of hex digits separated by spaces, up to a tab.
        var count = 0
        while i < end && raw[i] != 0x09 {
            if hexValue(raw[i]) != nil, i + 1 < end, hexValue(raw[i + 1]) != nil { count += 1; i += 2 } else { i += 1 }
        }
        var text = ""
        if i < end {
            text = String(decoding: UnsafeRawBufferPointer(rebasing: raw[(i + 1)..<end]), as: UTF8.self)
        }
        if text.isEmpty, let last = result.last, last.offset + last.length == offset {
            result[result.count - 1].length += count // a continuation line
        } else {
            result.append(Instruction(offset: offset, length: count, text: text))
        }
    }

    @inline(__always) private static func hexValue(_ c: UInt8) -> Int? {
        switch c {
        case 0x30...0x39: return Int(c - 0x30)
        case 0x61...0x66: return Int(c - 0x61 + 10)
        default: return nil
        }
    }
}
