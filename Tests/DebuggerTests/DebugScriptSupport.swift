import Foundation
import XCTest

/// Runs the release `capsule debug` with a script and returns what it
/// printed: the transcript of commands and their results.
enum DebugScript {
    static let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    static func binary() throws -> URL {
        let url = repoRoot.appendingPathComponent(".build/release/capsule")
        guard FileManager.default.isExecutableFile(atPath: url.path) else {
            throw Failure(description: "no release build at \(url.path): run `swift build -c release --product capsule` (scripts/test.sh does)")
        }
        return url
    }

    static func guestDirectory() throws -> URL {
        let dir = ProcessInfo.processInfo.environment["CAPSULE_GUEST_DIR"].map { URL(fileURLWithPath: $0) }
            ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/capsule/guest")
        for f in ["vmlinuz", "disk.img"] where !FileManager.default.fileExists(atPath: dir.appendingPathComponent(f).path) {
            throw Failure(description: "guest file \(f) missing in \(dir.path): run testimages/guest/build-guest.sh")
        }
        return dir
    }

    static func temporaryFile(_ name: String) -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("capsule-debug-\(getpid())-\(name)")
    }

    /// `capsule debug ARGS --script FILE` with `commands`; returns stdout and
    /// stderr. Fails the test on a non-zero exit.
    static func run(_ arguments: [String], commands: [String], timeout: TimeInterval = 600) throws -> (stdout: String, stderr: String) {
        let script = temporaryFile("script.txt")
        try commands.joined(separator: "\n").write(to: script, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: script) }
        let p = Process()
        p.executableURL = try binary()
        p.arguments = ["debug"] + arguments + ["--script", script.path]
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        p.standardInput = FileHandle.nullDevice
        try p.run()
        let timer = DispatchWorkItem { if p.isRunning { p.terminate() } }
        DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: timer)
        let errData = Box<Data>(Data())
        let errThread = Thread { errData.value = err.fileHandleForReading.readDataToEndOfFile() }
        errThread.start()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        timer.cancel()
        while errThread.isExecuting { usleep(10_000) }
        let stdout = String(decoding: data, as: UTF8.self)
        let stderr = String(decoding: errData.value, as: UTF8.self)
        guard p.terminationStatus == 0 else {
            throw Failure(description: "capsule debug exited \(p.terminationStatus)\nstdout:\n\(stdout)\nstderr:\n\(stderr)")
        }
        return (stdout, stderr)
    }

    /// The output of each command in a transcript, in order (commands are
    /// echoed as "(capsule) CMD").
    static func sections(_ transcript: String) -> [(command: String, output: String)] {
        var out: [(String, String)] = []
        for line in transcript.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("(capsule) ") {
                out.append((String(line.dropFirst(10)), ""))
            } else if !out.isEmpty {
                out[out.count - 1].1 += line + "\n"
            }
        }
        return out
    }

    /// `name=HEX` from a `registers` view.
    static func register(_ view: String, _ name: String) -> UInt32? {
        for word in view.split(whereSeparator: { $0 == " " || $0 == "\n" }) where word.hasPrefix(name + "=") {
            return UInt32(word.dropFirst(name.count + 1).filter { $0 != "*" }, radix: 16)
        }
        return nil
    }
}
