import Foundation
import XCTest

/// Drives a release-built `capsule run` over its serial console like a
/// person at a terminal: waits for text, types a line, waits again.
final class GuestSession {
    let process = Process()
    private let input = Pipe()
    private let output = Pipe()
    private let lock = NSLock()
    private var buffer = ""
    private var searchFrom: String.Index

    static let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The release binary that scripts/test.sh builds before the suite runs.
    static func capsuleBinary() throws -> URL {
        let url = repoRoot.appendingPathComponent(".build/release/capsule")
        guard FileManager.default.isExecutableFile(atPath: url.path) else {
            throw GuestError("no release build at \(url.path): run `swift build -c release --product capsule` (scripts/test.sh does)")
        }
        return url
    }

    /// The guest files from testimages/guest/build-guest.sh.
    static func guestDirectory() throws -> URL {
        let dir = ProcessInfo.processInfo.environment["CAPSULE_GUEST_DIR"].map { URL(fileURLWithPath: $0) }
            ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/capsule/guest")
        for f in ["vmlinuz", "initrd.gz", "disk.img"] where !FileManager.default.fileExists(atPath: dir.appendingPathComponent(f).path) {
            throw GuestError("guest file \(f) missing in \(dir.path): run testimages/guest/build-guest.sh (scripts/test.sh does)")
        }
        return dir
    }

    /// Runs the release `capsule` to completion (stdin empty, stdout
    /// discarded); `run` commands get their serial port written to `serial`
    /// (or none). Returns the exit status and everything on stderr.
    static func runCapsule(_ args: [String], serial: String? = nil, environment: [String: String]? = nil) throws -> (status: Int32, stderr: String) {
        let p = Process()
        p.executableURL = try capsuleBinary()
        if let environment { p.environment = environment }
        let addSerial = args.first == "run" && !args.contains("--serial")
        p.arguments = args + (addSerial ? ["--serial", serial.map { "file:" + $0 } ?? "none"] : [])
        let err = Pipe()
        p.standardError = err
        p.standardOutput = FileHandle.nullDevice
        p.standardInput = FileHandle.nullDevice
        try p.run()
        let data = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// Runs a shell command; returns its exit status.
    @discardableResult
    static func shell(_ command: String) -> Int32 {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", command]
        try? p.run()
        p.waitUntilExit()
        return p.terminationStatus
    }

    struct GuestError: Error, CustomStringConvertible {
        let description: String
        init(_ d: String) { description = d }
    }

    init(arguments: [String]) throws {
        process.executableURL = try GuestSession.capsuleBinary()
        process.arguments = ["run"] + arguments
        process.standardInput = input
        process.standardOutput = output
        process.standardError = output
        searchFrom = buffer.startIndex
        output.fileHandleForReading.readabilityHandler = { [weak self] h in
            let d = h.availableData
            guard let self, !d.isEmpty else { return }
            self.lock.lock()
            self.buffer += String(decoding: d, as: UTF8.self)
            self.lock.unlock()
        }
        try process.run()
    }

    var transcript: String {
        lock.lock(); defer { lock.unlock() }
        return buffer
    }

    /// Waits until `text` appears after the previous match.
    func expect(_ text: String, timeout: TimeInterval) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            lock.lock()
            if let r = buffer.range(of: text, range: searchFrom..<buffer.endIndex) {
                searchFrom = r.upperBound
                lock.unlock()
                return
            }
            lock.unlock()
            if !process.isRunning { break }
            Thread.sleep(forTimeInterval: 0.2)
        }
        throw GuestError("did not see \"\(text)\" within \(Int(timeout)) s; transcript tail:\n\(String(transcript.suffix(2000)))")
    }

    func type(_ line: String) {
        input.fileHandleForWriting.write((line + "\n").data(using: .utf8)!)
    }

    /// Waits for the emulator to exit; returns its status.
    func waitForExit(timeout: TimeInterval) throws -> Int32 {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.2) }
        if process.isRunning {
            process.terminate()
            throw GuestError("emulator still running after \(Int(timeout)) s; transcript tail:\n\(String(transcript.suffix(2000)))")
        }
        return process.terminationStatus
    }

    deinit {
        if process.isRunning { process.terminate() }
    }
}
