#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// Layered-disk throughput against a raw file on the same filesystem:
/// sequential 128 KiB requests (the largest ATA transfer) and random
/// 4 KiB requests, reads and writes, each write pass ended by a flush.
/// Also the sealed-layer paths (reads that go to the block store, with
/// the block cache cold and warm, and partial writes over sealed blocks)
/// and the cost of sealing. For `capsule bench disk`; prints, asserts nothing.
public enum DiskBenchmark {
    public struct Result: Sendable {
        public var name: String
        public var bytes: UInt64
        public var seconds: Double
        public var megabytesPerSecond: Double { seconds > 0 ? Double(bytes) / seconds / 1_000_000 : 0 }
    }

    /// Runs every measurement in a scratch store under `directory` (removed
    /// afterwards) on a disk of `sizeMB` MiB; `log` gets one line per result.
    public static func run(directory: String, sizeMB: Int = 256, randomOps: Int = 20000,
                           log: (String) -> Void = { print($0) }) throws -> [Result] {
        let size = UInt64(sizeMB) << 20
        let dir = directory + "/capsule-bench-\(getpid())"
        try FileIO.makeDirectories(dir)
        defer { try? FileIO.removeTree(dir) }
        let store = try Store(root: dir + "/store")
        var results: [Result] = []
        func record(_ name: String, _ bytes: UInt64, _ body: () throws -> Void) rethrows {
            let t0 = now()
            try body()
            let r = Result(name: name, bytes: bytes, seconds: now() - t0)
            results.append(r)
            log(pad(name, 44) + String(format: "%9.1f MB/s", r.megabytesPerSecond))
        }

        let chunk = 128 * 1024
        let buf = UnsafeMutableRawBufferPointer.allocate(byteCount: chunk, alignment: 4096)
        defer { buf.deallocate() }
        fill(buf, seed: 1)
        var rng: UInt64 = 0x1234_5678_9ABC_DEF1
        func nextRandom() -> UInt64 { rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17; return rng }
        let blocks = size / 4096
        let offsets = (0..<randomOps).map { _ in nextRandom() % blocks * 4096 }
        let randomBytes = UInt64(randomOps) * 4096

        log("disk benchmark: \(sizeMB) MiB, \(randomOps) random 4 KiB requests, in \(dir)")

        // raw file
        let rawPath = dir + "/raw.img"
        let fd = try FileIO.open(rawPath, O_RDWR | O_CREAT | O_TRUNC)
        defer { FileIO.close(fd) }
        _ = ftruncate(fd, off_t(size))
        try record("raw file: sequential write", size) {
            var off: UInt64 = 0
            while off < size { stamp(buf, off); try FileIO.pwriteAll(fd, UnsafeRawBufferPointer(buf), at: off, path: rawPath); off += UInt64(chunk) }
            try FileIO.fsync(fd, path: rawPath)
        }
        try record("raw file: sequential read", size) {
            var off: UInt64 = 0
            while off < size { _ = try FileIO.preadFull(fd, buf, at: off, path: rawPath); off += UInt64(chunk) }
        }
        let small = UnsafeMutableRawBufferPointer(rebasing: buf[0..<4096])
        try record("raw file: random 4 KiB write", randomBytes) {
            for o in offsets { stamp(small, o); try FileIO.pwriteAll(fd, UnsafeRawBufferPointer(small), at: o, path: rawPath) }
            try FileIO.fsync(fd, path: rawPath)
        }
        try record("raw file: random 4 KiB read", randomBytes) {
            for o in offsets { _ = try FileIO.preadFull(fd, small, at: o, path: rawPath) }
        }

        // layered disk, top layer
        let disk = try store.createDisk("bench", size: size)
        let sectorsPerChunk = chunk / 512
        try record("layered: sequential write (top layer)", size) {
            var s: UInt64 = 0
            while s < disk.sectorCount { stamp(buf, s * 512); try disk.write(sector: s, count: sectorsPerChunk, from: UnsafeRawBufferPointer(buf)); s += UInt64(sectorsPerChunk) }
            try disk.flush()
        }
        try record("layered: sequential read (top layer)", size) {
            var s: UInt64 = 0
            while s < disk.sectorCount { try disk.read(sector: s, count: sectorsPerChunk, into: buf); s += UInt64(sectorsPerChunk) }
        }
        try record("layered: random 4 KiB write (top layer)", randomBytes) {
            for o in offsets { stamp(small, o); try disk.write(sector: o / 512, count: 8, from: UnsafeRawBufferPointer(small)) }
            try disk.flush()
        }
        try record("layered: random 4 KiB read (top layer)", randomBytes) {
            for o in offsets { try disk.read(sector: o / 512, count: 8, into: small) }
        }

        // sealed layers
        try record("layered: seal (top layer into block store)", size) { try disk.seal() }
        try disk.close()
        let cold = try store.openDisk("bench", readOnly: false)
        try record("layered: sequential read (sealed, cold cache)", size) {
            var s: UInt64 = 0
            while s < cold.sectorCount { try cold.read(sector: s, count: sectorsPerChunk, into: buf); s += UInt64(sectorsPerChunk) }
        }
        try record("layered: random 4 KiB read (sealed)", randomBytes) {
            for o in offsets { try cold.read(sector: o / 512, count: 8, into: small) }
        }
        let warmOffsets = offsets.prefix(2000)
        for o in warmOffsets { try cold.read(sector: o / 512, count: 8, into: small) }
        try record("layered: random 4 KiB read (sealed, warm cache)", UInt64(warmOffsets.count) * 4096 * 10) {
            for _ in 0..<10 { for o in warmOffsets { try cold.read(sector: o / 512, count: 8, into: small) } }
        }
        let sector = UnsafeMutableRawBufferPointer(rebasing: buf[0..<512])
        try record("layered: random 512 B write over sealed (RMW)", UInt64(randomOps) * 512) {
            for o in offsets { stamp(sector, o); try cold.write(sector: o / 512 + 3, count: 1, from: UnsafeRawBufferPointer(sector)) }
            try cold.flush()
        }
        return results
    }

    /// Wall-clock seconds (the benchmark measures the host, not the guest).
    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    /// Incompressible-looking data.
    static func fill(_ b: UnsafeMutableRawBufferPointer, seed: UInt64) {
        var x = seed | 1
        for i in 0..<(b.count / 8) {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17
            b.storeBytes(of: x, toByteOffset: i * 8, as: UInt64.self)
        }
    }

    /// Makes every 4 KiB block distinct (so dedup does not flatter the numbers).
    static func stamp(_ b: UnsafeMutableRawBufferPointer, _ offset: UInt64) {
        var i = 0
        while i + 16 <= b.count {
            b.storeBytes(of: offset + UInt64(i), toByteOffset: i, as: UInt64.self)
            i += 4096
        }
    }

    static func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s : s + String(repeating: " ", count: n - s.count) }
}

extension DiskBenchmark {
    /// SHA-256 and LZ4 speed on 4 KiB blocks (what every put and verified
    /// read costs besides the file system).
    public static func blockCodecs(blocks: Int = 16384, log: (String) -> Void = { print($0) }) -> [Result] {
        let buf = UnsafeMutableRawBufferPointer.allocate(byteCount: 4096 * 256, alignment: 4096)
        defer { buf.deallocate() }
        fill(buf, seed: 7)
        // half the bytes of each block repeat, so LZ4 has something to do
        for b in 0..<256 { (buf.baseAddress! + b * 4096 + 2048).initializeMemory(as: UInt8.self, repeating: UInt8(b), count: 2048) }
        var results: [Result] = []
        func measure(_ name: String, _ body: (UnsafeRawBufferPointer) -> Void) {
            let t0 = now()
            for i in 0..<blocks { body(UnsafeRawBufferPointer(rebasing: buf[((i & 255) * 4096)..<((i & 255) * 4096 + 4096)])) }
            let r = Result(name: name, bytes: UInt64(blocks) * 4096, seconds: now() - t0)
            results.append(r)
            log(pad(name, 44) + String(format: "%9.1f MB/s", r.megabytesPerSecond))
        }
        var sink: UInt64 = 0
        measure("SHA-256 of 4 KiB blocks") { sink &+= SHA256.hash($0).w0 }
        measure("LZ4 compress 4 KiB blocks") { sink &+= UInt64($0.count - (LZ4.compress($0)?.count ?? 0)) }
        let packed = LZ4.compress(UnsafeRawBufferPointer(rebasing: buf[0..<4096]))!
        let out = UnsafeMutableRawBufferPointer.allocate(byteCount: 4096, alignment: 4096)
        defer { out.deallocate() }
        measure("LZ4 decompress 4 KiB blocks") { _ in packed.withUnsafeBytes { sink &+= LZ4.decompress($0, into: out) ? 1 : 0 } }
        if sink == 42 { log("") }  // keep the work observable
        return results
    }
}
