import Foundation
import XCTest

/// The end-to-end proof with the release binary and the Linux guest: a
/// capsule suspended mid-boot, migrated by `capsule serve` / `capsule
/// migrate` over loopback TCP, resumes on the receiver to exactly the
/// state it reaches when resumed at home (determinism makes the state
/// hashes equal, bit for bit: processor, devices, RAM, disks).
final class MigratedResumeDeterminismTests: XCTestCase {
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

    func testMigratedCapsuleResumesToTheSameStateHashAsAtHome() throws {
        guard FileManager.default.isExecutableFile(atPath: Self.binary.path) else {
            throw XCTSkip("no release build: run `swift build -c release --product capsule`")
        }
        for f in ["vmlinuz", "initrd.gz", "disk.img"] where !FileManager.default.fileExists(atPath: Self.guest.appendingPathComponent(f).path) {
            throw XCTSkip("guest file \(f) missing in \(Self.guest.path)")
        }
        let dir = temporaryDirectory(self)
        let home = dir + "/home", away = dir + "/away"
        let g = Self.guest.path
        var r = try capsule(["create", "vm", "--store", home, "--kernel", g + "/vmlinuz", "--initrd", g + "/initrd.gz",
                             "--append", "console=ttyS0", "--disk", g + "/disk.img", "--memory", "64M"])
        XCTAssertEqual(r.status, 0, r.stderr)
        r = try capsule(["run", "vm", "--store", home, "--serial", "none", "--suspend-after", "30000000"])
        XCTAssertEqual(r.status, 0, r.stderr)

        // Receiver: `capsule serve` on a free port, one connection.
        let serve = Process()
        serve.executableURL = Self.binary
        serve.arguments = ["serve", "--listen", "127.0.0.1:0", "--store", away, "--connections", "1", "--json"]
        let serveErr = Pipe(), serveOut = Pipe()
        serve.standardError = serveErr
        serve.standardOutput = serveOut
        try serve.run()
        addTeardownBlock { if serve.isRunning { serve.terminate() } }
        var banner = ""
        while !banner.contains("\n") {
            let d = serveErr.fileHandleForReading.availableData
            if d.isEmpty { break }
            banner += String(decoding: d, as: UTF8.self)
        }
        let address = try XCTUnwrap(banner.components(separatedBy: "listening on ").last?.components(separatedBy: ",").first, banner)

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
}
