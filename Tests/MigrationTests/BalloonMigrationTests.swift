import Capsule
import Foundation
import PC
import XCTest

/// `capsule migrate --balloon`: the release binary resumes the capsule,
/// Linux's own virtio_balloon driver inflates, balloon pages are never
/// sent, and the guest deflates after resume on the receiver.
extension ReleaseBinaryMigrationTests {
    func testBalloonInflatesBeforeMigrationAndDeflatesAfterResume() throws {
        try requirements()
        let dir = temporaryDirectory(self)
        let home = dir + "/home", withBalloon = dir + "/with", without = dir + "/without"
        let g = Self.guest.path
        var r = try capsule(["create", "vm", "--store", home, "--kernel", g + "/vmlinuz", "--initrd", g + "/initrd.gz",
                             "--append", "console=ttyS0 acpi=off", "--memory", "128M"])
        XCTAssertEqual(r.status, 0, r.stderr)
        // At the shell prompt the driver is bound (the initramfs loads it).
        r = try capsule(["run", "vm", "--store", home, "--serial", "none", "--suspend-after", "1", "--suspend-on", "text:shell ready"])
        XCTAssertEqual(r.status, 0, r.stderr)
        r = try capsule(["clone", "vm", "plain", "--store", home])
        XCTAssertEqual(r.status, 0, r.stderr)

        // Without the balloon, to one empty receiver.
        let (serveA, addressA, _) = try startServe(store: without, connections: 1)
        r = try capsule(["migrate", "plain", "--to", addressA, "--store", home, "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let plain = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [String: Any]
        serveA.waitUntilExit()

        // With it, to another.
        let (serveB, addressB, _) = try startServe(store: withBalloon, connections: 1)
        r = try capsule(["migrate", "vm", "--to", addressB, "--store", home, "--keep", "--json", "--balloon", "auto", "--balloon-wait", "20"])
        XCTAssertEqual(r.status, 0, r.stderr)
        serveB.waitUntilExit()
        let log = r.stderr
        let ballooned = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [String: Any]
        let inflated = try XCTUnwrap(log.components(separatedBy: "balloon: ").last?.split(separator: " ").first.flatMap { Int($0) }, log)
        XCTAssertGreaterThan(inflated, 4096, "the guest gave at least 16 MiB\n" + log)
        let skippedPlain = plain["skipped"] as! [String: Int], skippedBalloon = ballooned["skipped"] as! [String: Int]
        XCTAssertGreaterThanOrEqual(skippedBalloon["balloon"]!, inflated, "balloon pages are counted apart and not sent")
        XCTAssertLessThanOrEqual(ballooned["blocksTransferred"] as! Int, plain["blocksTransferred"] as! Int)
        let memory = { (d: [String: Any]) in (d["wireBytes"] as! [String: Int])["memory"]! }
        XCTAssertLessThanOrEqual(memory(ballooned), memory(plain))
        print("balloon migration: inflated \(inflated) pages; memory on the wire \(memory(plain)) B without, \(memory(ballooned)) B with; skipped \(skippedPlain) / \(skippedBalloon)")

        // The sender's kept copy: inflated, target already 0 (deflate pending).
        let sent = try MachineCapsule(resuming: "vm", store: Store(root: home)).machine
        XCTAssertEqual(sent.balloonTargetPages, 0)
        XCTAssertEqual(Int(sent.balloonActualPages), inflated)
        // On the receiver the guest deflates as soon as it runs.
        r = try capsule(["run", "vm", "--store", withBalloon, "--serial", "none", "--suspend-after", "400000000"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let resumed = try MachineCapsule(resuming: "vm", store: Store(root: withBalloon)).machine
        XCTAssertEqual(resumed.balloonActualPages, 0, "deflated after resume")
        XCTAssertEqual(resumed.balloonInflatedPages.count, 0)
    }
}
