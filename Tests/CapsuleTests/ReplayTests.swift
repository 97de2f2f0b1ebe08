@testable import Capsule
import Foundation
import PC
import X86
import XCTest

/// Recorded runs and their replay: a run's input enters at recorded
/// instants; replaying the record from the replay base reaches exactly the
/// suspended capsule's state; a different record, a missing or damaged
/// base, a debugged run are each reported.
final class ReplayTests: XCTestCase {
    static func echoROM() throws -> [UInt8] { try testImage("serial", "echo") }

    var store: Store!

    override func setUpWithError() throws {
        store = try Store(root: temporaryDirectory(self))
    }

    func createEcho(_ name: String) throws {
        let m = try Machine(memorySize: 4 << 20)
        try m.loadFirmware(try Self.echoROM())
        try MachineCapsule(creating: name, store: store, machine: m, firmware: try Self.echoROM(), rawDisks: []).save()
    }

    /// Resumes `name`, runs with input queued at uneven moments (some still
    /// undelivered at the end), then suspends. Returns the state hash.
    @discardableResult
    func runWithInput(_ name: String, text: String, stopFromHook: Bool = false) throws -> BlockName {
        let c = try MachineCapsule(resuming: name, store: store)
        var output: [UInt8] = []
        c.machine.com1.transmit = { output.append($0) }
        var chunks = Array(text.utf8).map { [$0] }
        _ = c.machine.run(instructions: 10_007)
        while !chunks.isEmpty {
            c.machine.queueSerialInput(chunks.removeFirst() + (chunks.isEmpty ? [] : chunks.removeFirst()))
            _ = c.machine.run(instructions: 3_001 + UInt64(chunks.count) * 977)
        }
        c.machine.queueSerialInput(Array(repeating: UInt8(ascii: "z"), count: 40))  // more than the FIFO takes
        _ = c.machine.run(instructions: 500)
        if stopFromHook {
            // A stop asked for at a slice boundary, as Ctrl-A s or SIGTERM do:
            // the boundary's work (input delivery, due events) is done first.
            c.machine.onSliceBoundary = { c.machine.cpu.requestStop() }
            _ = c.machine.run(instructions: 1 << 30)
            c.machine.onSliceBoundary = nil
        }
        XCTAssertTrue(String(decoding: output, as: UTF8.self).contains(text.uppercased()), String(decoding: output, as: UTF8.self))
        try c.save()
        return try StateHash.of(c.machine)
    }

    func testReplayReachesTheSuspendedState() throws {
        try createEcho("echo")
        XCTAssertThrowsMessage(try CapsuleReplay.run("echo", store: store), "capsule echo has no recorded run")
        let hash = try runWithInput("echo", text: "hello, replay")
        let o = try CapsuleReplay.run("echo", store: store)
        XCTAssertNil(o.divergence)
        XCTAssertEqual(o.replayedHash, hash)
        XCTAssertEqual(o.capsuleHash, hash)
        XCTAssertTrue(o.matches)
        XCTAssertGreaterThan(o.record.events.count, 13)
        XCTAssertEqual(o.record.baseInstructions, 0)
        // A second run replays from the first run's capsule; gc keeps the
        // base's blocks (its RAM differs from the capsule's).
        let second = try runWithInput("echo", text: "again", stopFromHook: true)
        let r = try XCTUnwrap(try store.runRecord(of: try store.loadCapsule("echo")))
        XCTAssertTrue(r.end.boundaryDone)
        XCTAssertGreaterThan(r.baseInstructions, 0)
        _ = try store.gc()
        let o2 = try CapsuleReplay.run("echo", store: store)
        XCTAssertTrue(o2.matches, "\(o2.divergence ?? "") \(o2.differences)")
        XCTAssertEqual(o2.capsuleHash, second)
        // Only the last run's base is kept.
        let files = try FileIO.list(try store.capsuleDirectory("echo")).filter { $0.hasPrefix("base-") }
        XCTAssertEqual(files, [Store.baseFileName(r.base)])
    }

    func recommit(_ name: String, _ edit: (inout RunRecord) -> Void) throws {
        try store.recommit(name, edit)
    }

    func testDifferentInputDiverges() throws {
        try createEcho("echo")
        try runWithInput("echo", text: "determinism")
        // Another byte: the guest computes something else.
        try recommit("echo") { $0.events[3].byte ^= 0x01 }
        var o = try CapsuleReplay.run("echo", store: store)
        XCTAssertFalse(o.matches)
        XCTAssertTrue(o.differences.contains { $0.contains("RAM pages differ, the first at 0x0") }, "\(o.differences)")
        XCTAssertTrue(o.differences.contains { $0.hasPrefix("state section cpu differs") }, "\(o.differences)")
        try recommit("echo") { $0.events[3].byte ^= 0x01 }
        XCTAssertTrue(try CapsuleReplay.run("echo", store: store).matches)
        // The same bytes, delivered later: the checksum counts the polls in between.
        try recommit("echo") { r in for i in 5..<r.events.count { r.events[i].time += 2_000 } }
        o = try CapsuleReplay.run("echo", store: store)
        XCTAssertFalse(o.matches)
        XCTAssertFalse(o.differences.isEmpty)
        // An event stamped after the end is never delivered: named.
        try recommit("echo") { r in r.events[r.events.count - 1].time = r.end.time + 10 }
        o = try CapsuleReplay.run("echo", store: store)
        XCTAssertEqual(o.divergence?.contains("left over at the recorded end"), true, o.divergence ?? "nil")
        // A run that ends later than the capsule's state.
        try recommit("echo") { r in r.events.removeLast(); r.end.instructions += 1000; r.end.time += 1000 }
        o = try CapsuleReplay.run("echo", store: store)
        XCTAssertFalse(o.matches)
        XCTAssertTrue(o.differences.contains { $0.hasPrefix("replayed to instruction") }, "\(o.differences)")
    }

    func testMissingDamagedAndDebuggedBases() throws {
        try createEcho("echo")
        try runWithInput("echo", text: "abc")
        let dir = try store.capsuleDirectory("echo")
        let record = try XCTUnwrap(try store.runRecord(of: try store.loadCapsule("echo")))
        let basePath = dir + "/" + Store.baseFileName(record.base)
        let good = try FileIO.readFile(basePath)
        var bad = good
        bad[bad.count / 2] ^= 0x20
        try writeFile(basePath, bad)
        XCTAssertThrowsMessage(try CapsuleReplay.run("echo", store: store), "capsule echo: replay base (base-", "damaged or swapped")
        XCTAssertThrowsMessage(try store.gc(), "replay base", "is damaged")
        try FileIO.remove(basePath)
        XCTAssertThrowsMessage(try CapsuleReplay.run("echo", store: store), "the replay base of capsule echo", "is not in this store")
        _ = try store.gc()  // a capsule without its base is fine for gc
        try writeFile(basePath, good)
        XCTAssertTrue(try CapsuleReplay.run("echo", store: store).matches)
        // A clone keeps the base: its last run replays too.
        try store.cloneCapsule("echo", as: "fork")
        XCTAssertTrue(try CapsuleReplay.run("fork", store: store).matches)
        try recommit("echo") { $0.debugged = true }
        XCTAssertThrowsMessage(try CapsuleReplay.run("echo", store: store), "under gdb", "cannot be replayed")
    }

    func testRunRecordRoundTripAndDamage() throws {
        let r = RunRecord(base: BlockName.of([1, 2, 3]), baseInstructions: 77, baseEventCount: 4,
                          end: RunEnd(instructions: 1_000, time: 1_500, boundaryDone: true),
                          events: [InputEvent(time: 90, target: .com1, byte: 65), InputEvent(time: 95, target: .keyboard, byte: 0x1C)],
                          queued: [InputReplay.Queued(time: 80, serial: [65]), InputReplay.Queued(time: 81, keyboard: [97])], debugged: false)
        let bytes = r.encoded()
        XCTAssertEqual(try RunRecord.decode(bytes), r)
        var bad = bytes
        bad[bytes.count - 60] ^= 1
        XCTAssertThrowsMessage(try RunRecord.decode(bad), "damaged")
        var c = try StateContainer.decode(bytes)
        var sections = c.sections
        sections[1].version = 2
        c = StateContainer(sections: sections)
        XCTAssertThrowsMessage(try RunRecord.decode(c.encoded()), "section events version 2 is newer than this build understands (max 1)")
    }
}

extension Store {
    /// Rewrites capsule `name` with a different but intact run record (its
    /// replay base kept): what a capsule whose recorded input does not
    /// match its state looks like.
    func recommit(_ name: String, _ edit: (inout RunRecord) -> Void) throws {
        let loaded = try loadCapsule(name)
        var record = try XCTUnwrap(try runRecord(of: loaded))
        let base = try XCTUnwrap(try replayBase(of: name, record: record))
        edit(&record)
        let bytes = record.encoded()
        let m = loaded.manifest
        try withLock(exclusive: false) {
            _ = try commitCapsule(name: name, directory: try capsuleDirectory(name), machine: m.machine, parent: m.parent,
                                  state: loaded.state, memory: m.memory, disks: m.disks, inputLog: (bytes, record.events.count),
                                  replayBase: ReplayBase(manifestBytes: base.manifestBytes, stateFile: base.manifest.state.file,
                                                         stateBytes: base.state.encoded()))
        }
    }
}
