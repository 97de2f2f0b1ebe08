import Capsule
import Foundation
@testable import Migration
import PC
import X86
import XCTest

let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// A fresh directory under /tmp, removed when the test ends.
func temporaryDirectory(_ test: XCTestCase) -> String {
    var template = Array("/tmp/capsule-migration-XXXXXX".utf8CString)
    let p = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
    let dir = String(cString: p!)
    test.addTeardownBlock { _ = try? FileManager.default.removeItem(atPath: dir) }
    return dir
}

/// A CPU test ROM (built by testimages/cpu/build.sh).
func testROM(_ name: String) throws -> [UInt8] {
    let path = repositoryRoot.appendingPathComponent("testimages/cpu/build/\(name).bin").path
    if !FileManager.default.fileExists(atPath: path) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = [repositoryRoot.appendingPathComponent("testimages/cpu/build.sh").path]
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
    }
    return [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
}

/// Deterministic pseudo-random bytes.
struct Rand {
    var s: UInt64
    init(_ seed: UInt64) { s = seed &* 0x9E37_79B9_7F4A_7C15 | 1 }
    mutating func next() -> UInt64 { s ^= s << 13; s ^= s >> 7; s ^= s << 17; return s }
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
}

/// A raw disk image: 1 MiB, a quarter zero, some blocks repeated, text-like (compressible) data.
func writeRawDisk(_ path: String, seed: UInt64) throws {
    var r = Rand(seed)
    var out = [UInt8]()
    let words = Array("capsule migrates over slow links; ".utf8)
    for b in 0..<256 {
        if b % 4 == 0 { out += [UInt8](repeating: 0, count: 4096); continue }
        let variant = b % 7 == 1 ? 0 : r.next()
        var blk = [UInt8]()
        var i = 0
        while blk.count < 4096 { blk.append(words[(i + Int(variant % 31)) % words.count] ^ UInt8(truncatingIfNeeded: variant >> 8)); i += 1 }
        out += blk
    }
    try Data(out).write(to: URL(fileURLWithPath: path))
}

/// A real capsule: a CPU test ROM run for `instructions` on a 4 MiB
/// machine with a disk, suspended into `store` as `name`.
@discardableResult
func makeCapsule(_ test: XCTestCase, store: Store, name: String, rom: String = "t3_paging", instructions: UInt64 = 20_000,
                 diskSeed: UInt64? = 1, closeDisks: Bool = true) throws -> MachineCapsule {
    let image = try testROM(rom)
    let m = try Machine(memorySize: 4 << 20)
    try m.loadFirmware(image)
    var disks: [(part: String, path: String)] = []
    if let seed = diskSeed {
        let raw = temporaryDirectory(test) + "/disk.img"
        try writeRawDisk(raw, seed: seed)
        disks.append(("hda", raw))
    }
    let c = try MachineCapsule(creating: name, store: store, machine: m, firmware: image, rawDisks: disks)
    _ = m.run(instructions: instructions)
    try c.save()
    // As when `capsule run` exits: the working disks are closed (unlocked),
    // so the capsule may be dropped after a migration.
    if closeDisks { for (_, d) in c.disks { try d.close() } }
    return c
}

/// Every block name a capsule references (memory and disks, zero excluded).
func referencedBlocks(_ store: Store, _ name: String) throws -> Set<BlockName> {
    let m = try store.manifest(of: name).manifest
    var out = Set(m.memory.pages.values)
    for d in m.disks { for l in d.layers { out.formUnion(try store.layers.get(l).names) } }
    out.remove(.zero)
    return out
}

/// A channel wrapper for fault injection: ends the connection after a
/// budget of bytes in either direction (as a dropped link would), and
/// damages the payload of chosen BLOCK frames on their way out. Relies
/// on FramedConnection sending each frame with one `send`.
final class FaultyChannel: MigrationChannel {
    let inner: MigrationChannel
    var sendBudget: Int?
    var receiveBudget: Int?
    /// Corrupt this many of the next BLOCK frames sent.
    var corruptNextBlocks = 0
    var corrupted: [BlockName] = []
    var peerDescription: String { inner.peerDescription }

    init(_ inner: MigrationChannel, sendBudget: Int? = nil, receiveBudget: Int? = nil) {
        self.inner = inner; self.sendBudget = sendBudget; self.receiveBudget = receiveBudget
    }

    func send(_ bytes: UnsafeRawBufferPointer) throws(ChannelError) {
        var data = [UInt8](bytes)
        if corruptNextBlocks > 0, data.count > 48, data[0] == FrameType.block.rawValue {
            corruptNextBlocks -= 1
            data[data.count - 1] ^= 0x5A
            corrupted.append(data[8..<40].withUnsafeBytes { BlockName(digest: $0.baseAddress!) })
        }
        if let b = sendBudget {
            if data.count > b {
                if b > 0 { try inner.send(Array(data[0..<b])) }
                sendBudget = 0
                inner.close()
                throw .closed("injected: link dropped while sending")
            }
            sendBudget = b - data.count
        }
        try inner.send(data)
    }

    func receive(into buffer: UnsafeMutableRawBufferPointer) throws(ChannelError) {
        if let b = receiveBudget {
            if buffer.count > b {
                receiveBudget = 0
                inner.close()
                throw .closed("injected: link dropped while receiving")
            }
            receiveBudget = b - buffer.count
        }
        try inner.receive(into: buffer)
    }

    func close() { inner.close() }
}

/// A `MigrationServer` on 127.0.0.1 (a free port) in a background thread,
/// recording each connection's statistics.
final class LoopbackServer {
    let server: MigrationServer
    let thread: Thread
    let lock = NSLock()
    private var _results: [(TransferStatistics, MigrationError?)] = []
    let finished = DispatchSemaphore(value: 0)
    var address: String { "127.0.0.1:\(server.listener.address.port)" }

    var results: [(TransferStatistics, MigrationError?)] { lock.lock(); defer { lock.unlock() }; return _results }

    init(store root: String, wrap: ((TCPChannel) throws(ChannelError) -> MigrationChannel)? = nil) throws {
        let l = try TCPListener(address: "127.0.0.1:0")
        server = MigrationServer(storeRoot: root, listener: l)
        if let w = wrap { server.wrap = w }
        if ProcessInfo.processInfo.environment["MIGRATION_TEST_LOG"] != nil {
            server.log = { FileHandle.standardError.write(Data("\(Date()) server: \($0)\n".utf8)) }
        }
        thread = Thread { [server, finished] in
            try? server.serve()
            finished.signal()
        }
        server.completed = { [weak self] s, e in
            guard let self else { return }
            self.lock.lock(); self._results.append((s, e)); self.lock.unlock()
        }
        thread.start()
    }

    /// Waits until `n` connections have been handled.
    func waitForResults(_ n: Int, timeout: Double = 30) -> [(TransferStatistics, MigrationError?)] {
        let end = Date().addingTimeInterval(timeout)
        while results.count < n && Date() < end { usleep(10_000) }
        return results
    }

    private var stopped = false

    func stop() {
        if stopped { return }
        stopped = true
        server.listener.close()
        _ = finished.wait(timeout: .now() + 10)
    }
}

/// A migrator to `address` over plain TCP, with quick retries.
func migrator(_ store: Store, to address: String, wrap: @escaping (MigrationChannel) -> MigrationChannel = { $0 }) -> Migrator {
    let m = Migrator(store: store) { () throws(ChannelError) -> MigrationChannel in
        wrap(try TCPChannel.connect(to: address, timeout: 5, ioTimeout: 10))
    }
    m.retryDelay = 0.05
    if ProcessInfo.processInfo.environment["MIGRATION_TEST_LOG"] != nil {
        m.log = { FileHandle.standardError.write(Data("\(Date()) client: \($0)\n".utf8)) }
    }
    m.retries = 50
    return m
}
