import Foundation
import XCTest

/// Demand paging with the release binary and the Linux guest: the
/// receiver resumes the guest as soon as its state has arrived, pages and
/// disk blocks come on first touch ahead of the shaped stream, and the run
/// ends in exactly the state the capsule reaches at home — also when the
/// sender disappears in the middle and comes back.
extension ReleaseBinaryMigrationTests {
    static let demandRun = "150000000"

    /// The capsule's hash and serial output after `demandRun` instructions at home.
    func runAtHome(_ store: String, serial: String, instructions: String = demandRun) throws -> String {
        let r = try capsule(["run", "vm", "--store", store, "--serial", "file:" + serial, "--max-instructions", instructions, "--state-hash"])
        XCTAssertEqual(r.status, 0, r.stderr)
        return try XCTUnwrap(stateHash(r.stderr), r.stderr)
    }

    /// A booted Linux capsule in DIR/home and its result at home after `instructions`.
    func demandFixture(instructions: String = demandRun) throws -> (dir: String, home: String, away: String, expected: String) {
        try requirements()
        let dir = temporaryDirectory(self)
        try makeLinuxCapsule("vm", store: dir + "/home")
        let expected = try runAtHome(dir + "/home", serial: dir + "/home.log", instructions: instructions)
        return (dir, dir + "/home", dir + "/away", expected)
    }

    /// Starts the release binary with `args` in the background (killed at
    /// teardown); its stderr is the returned pipe.
    func launch(_ args: [String]) throws -> (Process, Pipe) {
        let p = Process()
        p.executableURL = Self.binary
        p.arguments = args
        let err = Pipe()
        p.standardError = err
        p.standardOutput = FileHandle.nullDevice
        p.standardInput = FileHandle.nullDevice
        try p.run()
        addTeardownBlock { if p.isRunning { kill(p.processIdentifier, SIGKILL) } }
        return (p, err)
    }

    /// The JSON report among other stderr lines.
    func jsonReport(_ text: String) throws -> [String: Any] {
        let start = try XCTUnwrap(text.range(of: "{\n")?.lowerBound, text)
        let end = try XCTUnwrap(text.range(of: "\n}", options: .backwards)?.upperBound, text)
        return try XCTUnwrap(JSONSerialization.jsonObject(with: Data(text[start..<end].utf8)) as? [String: Any])
    }

    func testFetchOnDemandRunsBeforeTheTransferEndsAndMatchesHome() throws {
        let (dir, home, away, expected) = try demandFixture()
        // The serving side sends through an 8 Mbit/s link: the stream takes ~20 s.
        let (serve, address, _) = try startServe(store: home, connections: nil, extra: ["--bandwidth", "8mbit"])
        defer { kill(serve.processIdentifier, SIGTERM) }
        let r = try capsule(["fetch", "vm", "--from", address, "--store", away, "--run", "--demand", "--json",
                             "--serial", "file:" + dir + "/away.log", "--max-instructions", Self.demandRun, "--state-hash"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(stateHash(r.stderr), expected, "the guest that ran while arriving computes what it computes at home")
        XCTAssertEqual(try String(contentsOfFile: dir + "/away.log", encoding: .utf8), try String(contentsOfFile: dir + "/home.log", encoding: .utf8))
        XCTAssertTrue(r.stderr.contains("has arrived completely"), r.stderr)
        let report = try jsonReport(r.stderr)
        let runnable = try XCTUnwrap(report["secondsUntilRunnable"] as? Double)
        let total = try XCTUnwrap(report["totalSeconds"] as? Double)
        XCTAssertLessThan(runnable, total / 4, "the guest ran long before the transfer ended")
        XCTAssertGreaterThan(report["demandRequests"] as? Int ?? 0, 0, "the guest touched pages or blocks that had not arrived")
        let v = try capsule(["verify", "vm", "--store", away])
        XCTAssertEqual(v.status, 0, v.stderr)
    }

    func testDemandGuestPausesWhileTheSenderIsGoneAndContinues() throws {
        // Long enough that the guest is still running, and touching pages
        // that have not arrived, when the sender goes away.
        let run = "600000000"
        let (dir, home, away, expected) = try demandFixture(instructions: run)
        var (serve, address, _) = try startServe(store: home, connections: nil, extra: ["--bandwidth", "4mbit"])
        let (fetch, err) = try launch(["fetch", "vm", "--from", address, "--store", away, "--run", "--demand",
                                       "--serial", "file:" + dir + "/away.log", "--max-instructions", run, "--state-hash"])
        final class Text: @unchecked Sendable { var s = "" }
        let text = Text()
        let read = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            text.s = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            read.signal()
        }
        // The sender vanishes mid-transfer, stays away long enough for the
        // guest to need a page it does not have, and comes back on the same port.
        Thread.sleep(forTimeInterval: 2)
        kill(serve.processIdentifier, SIGKILL)
        serve.waitUntilExit()
        Thread.sleep(forTimeInterval: 6)
        (serve, _, _) = try startServe(store: home, connections: nil, extra: ["--bandwidth", "4mbit"], listen: address)
        defer { kill(serve.processIdentifier, SIGTERM) }
        fetch.waitUntilExit()
        read.wait()
        XCTAssertEqual(fetch.terminationStatus, 0, text.s)
        XCTAssertTrue(text.s.contains("guest paused"), text.s)
        XCTAssertTrue(text.s.contains("the sender is back"), text.s)
        XCTAssertEqual(stateHash(text.s), expected, "pausing changed nothing the guest computes")
        XCTAssertEqual(try String(contentsOfFile: dir + "/away.log", encoding: .utf8), try String(contentsOfFile: dir + "/home.log", encoding: .utf8))
    }

    func testMigrateOnDemandToServeRun() throws {
        let (dir, home, away, expected) = try demandFixture()
        let (serve, err) = try launch(["serve", "--listen", "127.0.0.1:0", "--store", away, "--run", "--json",
                                       "--serial", "file:" + dir + "/away.log", "--max-instructions", Self.demandRun, "--state-hash"])
        let address = try listeningAddress(err)
        let r = try capsule(["migrate", "vm", "--to", address, "--store", home, "--demand", "--bandwidth", "8mbit", "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let sent = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [String: Any]
        XCTAssertGreaterThan(sent["priorityBlocks"] as? Int ?? 0, 0, "the running guest asked for blocks ahead of the stream")
        let rest = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        serve.waitUntilExit()
        XCTAssertEqual(serve.terminationStatus, 0, rest)
        XCTAssertTrue(rest.contains("runs; the rest arrives on demand"), rest)
        XCTAssertEqual(stateHash(rest), expected)
        XCTAssertEqual(try String(contentsOfFile: dir + "/away.log", encoding: .utf8), try String(contentsOfFile: dir + "/home.log", encoding: .utf8))
        let received = try jsonReport(rest)
        XCTAssertLessThan(try XCTUnwrap(received["secondsUntilRunnable"] as? Double), try XCTUnwrap(received["totalSeconds"] as? Double) / 4)
        // Without --keep the sender dropped its copy after the commit.
        XCTAssertFalse(FileManager.default.fileExists(atPath: home + "/capsules/vm"))
    }
}
