import Foundation
import XCTest

/// End-to-end with the release binary and the Linux guest: a
/// capsule suspended mid-boot, migrated by `capsule serve` / `capsule
/// migrate` over loopback TCP, resumes on the receiver to exactly the
/// state it reaches when resumed at home (determinism makes the state
/// hashes equal, bit for bit: processor, devices, RAM, disks).
final class ReleaseBinaryMigrationTests: XCTestCase {
    static let binary = repositoryRoot.appendingPathComponent(".build/release/capsule")
    static let guest = FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/capsule/guest")

    func capsule(_ args: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        let p = Process()
        p.executableURL = Self.binary
        p.arguments = args
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        p.standardInput = FileHandle.nullDevice
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
    }

    func stateHash(_ stderr: String) -> String? {
        stderr.split(separator: "\n").last(where: { $0.hasPrefix("state-hash ") }).map { String($0.dropFirst("state-hash ".count)) }
    }

    func requirements() throws {
        guard FileManager.default.isExecutableFile(atPath: Self.binary.path) else {
            throw XCTSkip("no release build: run `swift build -c release --product capsule`")
        }
        for f in ["vmlinuz", "initrd.gz", "disk.img"] where !FileManager.default.fileExists(atPath: Self.guest.appendingPathComponent(f).path) {
            throw XCTSkip("guest file \(f) missing in \(Self.guest.path)")
        }
    }

    /// The Linux guest with its disk, suspended after 30 M instructions of boot.
    func makeLinuxCapsule(_ name: String, store: String) throws {
        let g = Self.guest.path
        var r = try capsule(["create", name, "--store", store, "--kernel", g + "/vmlinuz", "--initrd", g + "/initrd.gz",
                             "--append", "console=ttyS0", "--disk", g + "/disk.img", "--memory", "64M"])
        XCTAssertEqual(r.status, 0, r.stderr)
        r = try capsule(["run", name, "--store", store, "--serial", "none", "--suspend-after", "30000000"])
        XCTAssertEqual(r.status, 0, r.stderr)
    }

    /// `capsule serve` on a free loopback port; returns the process, its address and its stdout.
    /// `extra`: more serve options; `listen` another address (a port to reuse).
    func startServe(store: String, connections: Int?, extra: [String] = [], listen: String = "127.0.0.1:0") throws -> (Process, String, Pipe) {
        let serve = Process()
        serve.executableURL = Self.binary
        serve.arguments = ["serve", "--listen", listen, "--store", store, "--json"] + (connections.map { ["--connections", String($0)] } ?? []) + extra
        let serveErr = Pipe(), serveOut = Pipe()
        serve.standardError = serveErr
        serve.standardOutput = serveOut
        try serve.run()
        addTeardownBlock { if serve.isRunning { kill(serve.processIdentifier, SIGKILL) } }
        return (serve, try listeningAddress(serveErr), serveOut)
    }

    /// The address from serve's first stderr line ("listening on ADDR, store …").
    func listeningAddress(_ serveErr: Pipe) throws -> String {
        var banner = ""
        while !banner.contains("\n") {
            let d = serveErr.fileHandleForReading.availableData
            if d.isEmpty { break }
            banner += String(decoding: d, as: UTF8.self)
        }
        return try XCTUnwrap(banner.components(separatedBy: "listening on ").last?.components(separatedBy: ",").first, banner)
    }

    func testMigratedCapsuleResumesToTheSameStateHashAsAtHome() throws {
        try requirements()
        let dir = temporaryDirectory(self)
        let home = dir + "/home", away = dir + "/away"
        try makeLinuxCapsule("vm", store: home)
        var r: (status: Int32, stdout: String, stderr: String)

        // Receiver: `capsule serve` on a free port, one connection.
        let (serve, address, serveOut) = try startServe(store: away, connections: 1)

        r = try capsule(["migrate", "vm", "--to", address, "--store", home, "--keep", "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let report = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [String: Any]
        XCTAssertGreaterThan(report["blocksTransferred"] as! Int, 100)
        XCTAssertGreaterThan((report["skipped"] as! [String: Int])["zero"]!, 1000)
        serve.waitUntilExit()
        XCTAssertEqual(serve.terminationStatus, 0)
        let serverReport = try JSONSerialization.jsonObject(with: serveOut.fileHandleForReading.readDataToEndOfFile()) as! [String: Any]
        XCTAssertEqual(serverReport["duplicateArrivals"] as? Int, 0)
        XCTAssertEqual(serverReport["manifestHash"] as? String, report["manifestHash"] as? String)

        r = try capsule(["verify", "vm", "--store", away])
        XCTAssertEqual(r.status, 0, r.stderr)
        let atHome = try capsule(["run", "vm", "--store", home, "--serial", "none", "--max-instructions", "20000000", "--state-hash"])
        let migrated = try capsule(["run", "vm", "--store", away, "--serial", "none", "--max-instructions", "20000000", "--state-hash"])
        let h1 = try XCTUnwrap(stateHash(atHome.stderr), atHome.stderr)
        let h2 = try XCTUnwrap(stateHash(migrated.stderr), migrated.stderr)
        XCTAssertEqual(h1, h2, "the migrated capsule computes exactly what it computes at home")
        XCTAssertEqual(h1.count, 64)
    }

    /// A receiver killed (SIGKILL) in the middle of a transfer: its store
    /// stays consistent (the capsules it had still verify, the half-received
    /// one does not appear), gc can clean the partial data, and a new
    /// migration resumes: the blocks the dead receiver had stored are not sent again.
    func testKilledReceiverLeavesAConsistentStoreAndTheTransferResumes() throws {
        try requirements()
        let dir = temporaryDirectory(self)
        let home = dir + "/home", away = dir + "/away"
        try makeLinuxCapsule("vm", store: home)
        let rom = repositoryRoot.appendingPathComponent("testimages/cpu/build/t3_paging.bin").path
        _ = try testROM("t3_paging")
        var r = try capsule(["create", "old", "--store", away, "--firmware", rom, "--memory", "4M"])
        XCTAssertEqual(r.status, 0, r.stderr)

        let (serve, address, _) = try startServe(store: away, connections: nil)
        let migrate = Process()
        migrate.executableURL = Self.binary
        migrate.arguments = ["migrate", "vm", "--to", address, "--store", home, "--bandwidth", "24mbit", "--retries", "0"]
        migrate.standardOutput = FileHandle.nullDevice
        migrate.standardError = FileHandle.nullDevice
        try migrate.run()
        // Kill the receiver once a good part of the blocks has arrived.
        let blocksDir = away + "/blocks"
        let deadline = Date().addingTimeInterval(60)
        func storedBlocks() -> Int {
            ((try? FileManager.default.subpathsOfDirectory(atPath: blocksDir)) ?? []).filter { $0.count == 65 && !$0.contains(".tmp-") }.count
        }
        while storedBlocks() < 1500 && Date() < deadline && migrate.isRunning { usleep(20_000) }
        kill(serve.processIdentifier, SIGKILL)
        serve.waitUntilExit()
        migrate.waitUntilExit()
        XCTAssertNotEqual(migrate.terminationStatus, 0, "the migration cannot complete without its receiver")
        let partial = storedBlocks()
        XCTAssertGreaterThan(partial, 1000)

        r = try capsule(["ls", "--store", away])
        XCTAssertEqual(r.stdout.split(separator: "\n").map { String($0.split(separator: "\t")[0]) }, ["old"], "no half-received capsule appears")
        XCTAssertEqual(try capsule(["verify", "old", "--store", away]).status, 0)
        r = try capsule(["verify", "vm", "--store", home])
        XCTAssertEqual(r.status, 0, "the sender kept its capsule: \(r.stderr)")

        // gc on a copy of the store removes the partial data and nothing else.
        let copy = dir + "/copy"
        XCTAssertEqual(try capsule(["ls", "--store", away]).status, 0)
        let cp = Process()
        cp.executableURL = URL(fileURLWithPath: "/bin/cp")
        cp.arguments = ["-a", away, copy]
        try cp.run(); cp.waitUntilExit()
        r = try capsule(["gc", "--store", copy])
        XCTAssertEqual(r.status, 0, r.stderr)
        let removed = Int(r.stdout.components(separatedBy: "removed ").last?.split(separator: " ").first ?? "") ?? 0
        XCTAssertGreaterThanOrEqual(removed, partial - 10, r.stdout)
        XCTAssertEqual(try capsule(["verify", "old", "--store", copy]).status, 0)

        // A new receiver on the same store: the transfer resumes.
        let (serve2, address2, _) = try startServe(store: away, connections: 1)
        r = try capsule(["migrate", "vm", "--to", address2, "--store", home, "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        serve2.waitUntilExit()
        let report = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [String: Any]
        let offered = report["blocksOffered"] as! Int, sent = report["blocksTransferred"] as! Int
        XCTAssertEqual(sent, offered - partial, "exactly the blocks the dead receiver had not stored travel; none is sent again")
        XCTAssertEqual(try capsule(["verify", "vm", "--store", away]).status, 0)
        XCTAssertEqual(try capsule(["verify", "old", "--store", away]).status, 0)
    }
}
