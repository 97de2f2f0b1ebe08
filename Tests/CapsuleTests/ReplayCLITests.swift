@testable import Capsule
import Foundation
import XCTest

/// `capsule replay` as a user runs it, in real processes: a capsule of the
/// serial echo ROM is run with input from a pipe and from a file, suspended
/// (by --suspend-after, and by SIGTERM), and replayed; a capsule whose
/// recorded input was changed is reported as diverging, a damaged input
/// log as damaged.
final class ReplayCLITests: XCTestCase {
    /// The `capsule` that `swift build --build-tests` built with this test
    /// bundle (debug), else the release build.
    var binary: URL {
        let build = repositoryRoot.appendingPathComponent(".build")
        let debug = build.appendingPathComponent("debug/capsule")
        return FileManager.default.isExecutableFile(atPath: debug.path) ? debug : build.appendingPathComponent("release/capsule")
    }

    struct Result { var status: Int32; var stdout: String; var stderr: String }

    /// Runs `capsule args`, stdin from `input` (bytes through a pipe, or a
    /// file); with `terminateAfter`, sends SIGTERM after that many seconds.
    func capsule(_ args: [String], input: [UInt8]? = nil, inputFile: String? = nil, terminateAfter: Double? = nil) throws -> Result {
        let p = Process()
        p.executableURL = binary
        p.arguments = args
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        let inPipe = Pipe()
        if let f = inputFile {
            p.standardInput = try FileHandle(forReadingFrom: URL(fileURLWithPath: f))
        } else if input != nil {
            p.standardInput = inPipe
        } else {
            p.standardInput = FileHandle.nullDevice
        }
        final class Collected: @unchecked Sendable { var data = Data() }  // written by one reader, read after group.wait()
        let outData = Collected(), errData = Collected()
        let group = DispatchGroup()
        group.enter(); DispatchQueue.global().async { outData.data = out.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        group.enter(); DispatchQueue.global().async { errData.data = err.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        try p.run()
        if let input {
            inPipe.fileHandleForWriting.write(Data(input))
            try inPipe.fileHandleForWriting.close()
        }
        if let t = terminateAfter {
            Thread.sleep(forTimeInterval: t)
            p.terminate()  // SIGTERM to the process this test started: suspend
        }
        p.waitUntilExit()
        group.wait()
        return Result(status: p.terminationStatus, stdout: String(decoding: outData.data, as: UTF8.self), stderr: String(decoding: errData.data, as: UTF8.self))
    }

    func stateHash(_ text: String, prefix: String) -> String? {
        text.split(separator: "\n").first { $0.hasPrefix(prefix) }.map { String($0.dropFirst(prefix.count)) }
    }

    func testReplayOfRunsFedFromAPipeAndAFile() throws {
        guard FileManager.default.isExecutableFile(atPath: binary.path) else { return XCTFail("no capsule binary at \(binary.path): swift build first") }
        let rom = try ReplayTests.echoROM()
        let tmp = temporaryDirectory(self)
        let romPath = tmp + "/echo.bin", store = tmp + "/store"
        try writeFile(romPath, rom)
        XCTAssertEqual(try capsule(["create", "echo", "--firmware", romPath, "--memory", "4M", "--store", store]).status, 0)
        XCTAssertTrue(try capsule(["replay", "echo", "--store", store]).stderr.contains("has no recorded run"))

        // Run 1: input through a pipe, suspended after a fixed count.
        let run1 = try capsule(["run", "echo", "--store", store, "--suspend-after", "2000000", "--state-hash"],
                               input: Array("piped input".utf8))
        XCTAssertEqual(run1.status, 0, run1.stderr)
        // Bytes that reach the UART before the ROM has reset its FIFO are
        // dropped by the guest, as on hardware; how many depends on host
        // timing. The replay below must reproduce whatever happened exactly.
        XCTAssertTrue(run1.stdout.contains("INPUT"), run1.stdout)
        let hash1 = try XCTUnwrap(stateHash(run1.stderr, prefix: "state-hash "), run1.stderr)
        let replay1 = try capsule(["replay", "echo", "--store", store])
        XCTAssertEqual(replay1.status, 0, replay1.stdout + replay1.stderr)
        XCTAssertTrue(replay1.stdout.contains("replay echo: identical"), replay1.stdout)
        XCTAssertEqual(stateHash(replay1.stdout, prefix: "replayed state-hash "), hash1)
        XCTAssertTrue(replay1.stdout.contains("11 input events"), replay1.stdout)

        // Run 2: input from a file, suspended by SIGTERM at a moment of the host's choosing.
        let inputFile = tmp + "/typed.txt"
        try writeFile(inputFile, Array("from a file".utf8))
        let run2 = try capsule(["run", "echo", "--store", store, "--state-hash"], inputFile: inputFile, terminateAfter: 1.5)
        XCTAssertEqual(run2.status, 0, run2.stderr)
        XCTAssertTrue(run2.stderr.contains("suspended 'echo'"), run2.stderr)
        let hash2 = try XCTUnwrap(stateHash(run2.stderr, prefix: "state-hash "), run2.stderr)
        let replay2 = try capsule(["replay", "echo", "--store", store])
        XCTAssertEqual(replay2.status, 0, replay2.stdout + replay2.stderr)
        XCTAssertEqual(stateHash(replay2.stdout, prefix: "replayed state-hash "), hash2)
        XCTAssertEqual(stateHash(replay2.stdout, prefix: "capsule  state-hash "), hash2)
        XCTAssertTrue(try capsule(["inspect", "echo", "--store", store]).stdout.contains("replay: last run"))

        // Recorded input that does not match the capsule: divergence, exit 1.
        let s = try Store(root: store)
        try s.recommit("echo") { $0.events[0].byte = UInt8(ascii: "#") }
        let tampered = try capsule(["replay", "echo", "--store", store])
        XCTAssertEqual(tampered.status, 1)
        XCTAssertTrue(tampered.stdout.contains("DIVERGED"), tampered.stdout)
        XCTAssertTrue(tampered.stdout.contains("RAM pages differ"), tampered.stdout)
        XCTAssertNotEqual(stateHash(tampered.stdout, prefix: "replayed state-hash "), hash2)

        // A damaged input log: named, not replayed.
        let dir = try s.capsuleDirectory("echo")
        let log = try XCTUnwrap(try FileIO.list(dir).first { $0.hasPrefix("input-") })
        var bytes = try FileIO.readFile(dir + "/" + log)
        bytes[bytes.count / 2] ^= 0x40
        try writeFile(dir + "/" + log, bytes)
        let damaged = try capsule(["replay", "echo", "--store", store])
        XCTAssertNotEqual(damaged.status, 0)
        XCTAssertTrue(damaged.stderr.contains("input log"), damaged.stderr)
        XCTAssertTrue(damaged.stderr.contains("damaged or swapped"), damaged.stderr)
    }
}
