#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The content-addressed block store: one file per distinct block, named by
/// the SHA-256 of its uncompressed content, under `ROOT/ab/cdef…` (the first
/// two hex digits pick one of 256 directories). Shared by every capsule and
/// disk of a store directory, so a block that many of them contain is kept
/// once.
///
/// A block file is a 16-byte header and the payload (docs/capsule-format.md):
///
///     0  "CBLK"  magic
///     4  u8      format version (1)
///     5  u8      encoding: 0 stored as is, 1 LZ4 block format
///     6  u16     reserved, 0
///     8  u32 LE  uncompressed length
///     12 u32 LE  stored (payload) length
///     16 …       payload
///
/// The 4 KiB zero block is never stored: `put` returns `BlockName.zero`
/// without touching the disk and `get(.zero)` returns zeros.
///
/// Every `get` checks the header, the lengths and the SHA-256 against the
/// name, and names the block in its error: a corrupted, truncated or
/// swapped block file is reported, never returned.
///
/// Crash safety: a block file only ever appears under its name complete and
/// durable (written to a `.tmp-` file in the same directory, fsynced, then
/// renamed; the directory is then fsynced). Inside `batch { }` the fsyncs
/// are gathered: the temporary files are written, one filesystem sync makes
/// them durable, then they are all renamed and synced again — the same
/// guarantee at a fraction of the cost. Blocks put inside a batch are
/// readable at once. Leftover `.tmp-` files from a crash are never read
/// and are removed by `Store.gc`.
///
/// Not thread-safe: one store object per thread (several processes may
/// share a directory; identical blocks written concurrently are identical
/// files, so the rename race is harmless).
public final class BlockStore {
    public let root: String

    public struct Statistics: Equatable, Sendable {
        /// Calls to `put`.
        public var puts = 0
        /// Puts of the zero block (not stored).
        public var zeroPuts = 0
        /// Puts of a block already present.
        public var duplicatePuts = 0
        /// Blocks written to disk.
        public var blocksWritten = 0
        /// Uncompressed bytes of the blocks written.
        public var bytesWritten: UInt64 = 0
        /// Bytes of the block files written (header + payload).
        public var bytesStored: UInt64 = 0
        /// Calls to `get` (zero block included).
        public var gets = 0
        /// Bytes returned by `get`.
        public var bytesRead: UInt64 = 0
    }

    public private(set) var stats = Statistics()

    /// Blocks written in the current batch: name → temporary file.
    var pending: [BlockName: String] = [:]
    var batchDepth = 0
    var knownDirectories = [Bool](repeating: false, count: 256)

    static let headerSize = 16
    static let magic: [UInt8] = Array("CBLK".utf8)
    static let formatVersion: UInt8 = 1
    /// Largest block accepted (blocks are 4 KiB; this bounds what a damaged
    /// header can make us allocate).
    public static let maxBlockSize = 1 << 20

    /// Opens (creating if needed) the block directory `root`.
    public init(directory root: String) throws {
        self.root = root
        try FileIO.makeDirectories(root)
    }

    /// Where block `name` lives.
    public func path(for name: BlockName) -> String {
        let h = name.hex
        return root + "/" + h.prefix(2) + "/" + h.dropFirst(2)
    }

    // MARK: put

    @discardableResult
    public func put(_ block: [UInt8]) throws -> BlockName {
        try block.withUnsafeBytes { try put($0) }
    }

    /// Stores `block` (at most `maxBlockSize` bytes) and returns its name.
    /// Idempotent: a block already present is not written again.
    @discardableResult
    public func put(_ block: UnsafeRawBufferPointer) throws -> BlockName {
        precondition(block.count <= BlockStore.maxBlockSize, "block larger than BlockStore.maxBlockSize")
        stats.puts += 1
        if block.count == BlockName.blockSize && isAllZero(block) {
            stats.zeroPuts += 1
            return .zero
        }
        let name = SHA256.hash(block)
        if pending[name] != nil || FileIO.exists(path(for: name)) {
            stats.duplicatePuts += 1
            return name
        }
        let file = encode(block)
        let final = path(for: name)
        try ensureDirectory(for: name)
        let tmp = FileIO.temporaryName(for: final)
        let fd = try FileIO.open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0o444)
        do {
            try file.withUnsafeBytes { try FileIO.pwriteAll(fd, $0, at: 0, path: tmp) }
            if batchDepth == 0 { try FileIO.fsync(fd, path: tmp) }
            FileIO.close(fd)
        } catch {
            FileIO.close(fd)
            try? FileIO.remove(tmp)
            throw error
        }
        stats.blocksWritten += 1
        stats.bytesWritten += UInt64(block.count)
        stats.bytesStored += UInt64(file.count)
        if batchDepth > 0 {
            pending[name] = tmp
        } else {
            try FileIO.rename(tmp, final)
            try FileIO.fsyncDirectory(FileIO.directoryOf(final))
        }
        return name
    }

    /// The file form of a block: header + LZ4 payload, or the bytes as they
    /// are when LZ4 does not make them smaller.
    func encode(_ block: UnsafeRawBufferPointer) -> [UInt8] {
        let compressed = LZ4.compress(block)
        let payloadCount = compressed?.count ?? block.count
        var out = [UInt8](repeating: 0, count: BlockStore.headerSize + payloadCount)
        out[0..<4] = BlockStore.magic[0..<4]
        out[4] = BlockStore.formatVersion
        out[5] = compressed == nil ? 0 : 1
        storeLE32(&out, 8, UInt32(block.count))
        storeLE32(&out, 12, UInt32(payloadCount))
        out.withUnsafeMutableBytes { o in
            let dst = UnsafeMutableRawBufferPointer(rebasing: o[BlockStore.headerSize...])
            if let c = compressed { c.withUnsafeBytes { dst.copyMemory(from: $0) } } else { dst.copyMemory(from: block) }
        }
        return out
    }

    func ensureDirectory(for name: BlockName) throws {
        let i = Int(name.w0 >> 56)
        if knownDirectories[i] { return }
        let dir = FileIO.directoryOf(path(for: name))
        if !FileIO.isDirectory(dir) {
            if mkdir(dir, 0o755) != 0 && errno != EEXIST { throw FileIO.fail(dir, "mkdir") }
            try FileIO.fsyncDirectory(root)
        }
        knownDirectories[i] = true
    }

    // MARK: batches

    /// Runs `body` with the fsyncs of its puts gathered into one commit at
    /// the end (see the type's comment). Nested batches commit with the
    /// outermost. If `body` throws, the batch's blocks are discarded.
    public func batch<T>(_ body: () throws -> T) throws -> T {
        batchDepth += 1
        let result: T
        do {
            result = try body()
        } catch {
            batchDepth -= 1
            if batchDepth == 0 { discardPending() }
            throw error
        }
        batchDepth -= 1
        if batchDepth == 0 { try commitPending() }
        return result
    }

    func discardPending() {
        for (_, tmp) in pending { try? FileIO.remove(tmp) }
        pending.removeAll()
    }

    func commitPending() throws {
        if pending.isEmpty { return }
        // 1. make every temporary file's data durable
        try syncFilesystem(paths: Array(pending.values))
        // 2. give them their names
        var dirs = Set<String>()
        for (name, tmp) in pending {
            let final = path(for: name)
            try FileIO.rename(tmp, final)
            dirs.insert(FileIO.directoryOf(final))
        }
        pending.removeAll()
        // 3. make the names durable
        for d in dirs { try FileIO.fsyncDirectory(d) }
    }

    func syncFilesystem(paths: [String]) throws {
        #if os(Linux)
        let fd = try FileIO.open(root, O_RDONLY | O_DIRECTORY)
        defer { FileIO.close(fd) }
        if capsule_syncfs(fd) == 0 { return }
        #endif
        for p in paths {
            let fd = try FileIO.open(p, O_RDONLY)
            defer { FileIO.close(fd) }
            try FileIO.fsync(fd, path: p)
        }
    }

    // MARK: get

    /// True when block `name` can be read (the zero block always can). Does
    /// not verify the content; `get` does.
    public func has(_ name: BlockName) -> Bool {
        name == .zero || pending[name] != nil || FileIO.exists(path(for: name))
    }

    /// The block's content, verified against its name.
    public func get(_ name: BlockName) throws -> [UInt8] {
        if name == .zero {
            stats.gets += 1
            stats.bytesRead += UInt64(BlockName.blockSize)
            return [UInt8](repeating: 0, count: BlockName.blockSize)
        }
        let file = try readBlockFile(name)
        let length = Int(loadLE32(file, 8))
        var out = [UInt8](repeating: 0, count: length)
        try out.withUnsafeMutableBytes { try decode(file, name: name, into: $0) }
        stats.gets += 1
        stats.bytesRead += UInt64(length)
        return out
    }

    /// Reads block `name` into `buffer`, whose size must be the block's.
    public func read(_ name: BlockName, into buffer: UnsafeMutableRawBufferPointer) throws {
        if name == .zero && buffer.count == BlockName.blockSize {
            buffer.initializeMemory(as: UInt8.self, repeating: 0)
            stats.gets += 1
            stats.bytesRead += UInt64(buffer.count)
            return
        }
        let file = try readBlockFile(name)
        guard Int(loadLE32(file, 8)) == buffer.count else {
            throw CapsuleError.corruptBlock(name, "holds \(loadLE32(file, 8)) bytes where \(buffer.count) were expected")
        }
        try decode(file, name: name, into: buffer)
        stats.gets += 1
        stats.bytesRead += UInt64(buffer.count)
    }

    /// The raw block file, with its header checked.
    func readBlockFile(_ name: BlockName) throws -> [UInt8] {
        let p = pending[name] ?? path(for: name)
        let file: [UInt8]
        do {
            file = try FileIO.readFile(p, limit: UInt64(BlockStore.headerSize + BlockStore.maxBlockSize + 4096))
        } catch CapsuleError.io(_, _, let e) where e == ENOENT {
            throw CapsuleError.missingBlock(name)
        } catch CapsuleError.other {
            throw CapsuleError.corruptBlock(name, "file is larger than any block (extended or replaced)")
        }
        guard file.count >= BlockStore.headerSize else {
            throw CapsuleError.corruptBlock(name, "file is \(file.count) bytes, shorter than the header (truncated)")
        }
        guard Array(file[0..<4]) == BlockStore.magic else {
            throw CapsuleError.corruptBlock(name, "bad magic (not a block file)")
        }
        guard file[4] <= BlockStore.formatVersion else {
            throw CapsuleError.corruptBlock(name, "block format version \(file[4]) is newer than this build understands (max \(BlockStore.formatVersion))")
        }
        guard file[5] <= 1 else { throw CapsuleError.corruptBlock(name, "unknown encoding \(file[5])") }
        let length = Int(loadLE32(file, 8)), stored = Int(loadLE32(file, 12))
        guard length <= BlockStore.maxBlockSize else {
            throw CapsuleError.corruptBlock(name, "header claims \(length) bytes")
        }
        guard file.count == BlockStore.headerSize + stored else {
            throw CapsuleError.corruptBlock(name, "file is \(file.count) bytes, header says \(BlockStore.headerSize + stored) (truncated or extended)")
        }
        guard file[5] == 1 || stored == length else {
            throw CapsuleError.corruptBlock(name, "stored length \(stored) differs from length \(length)")
        }
        return file
    }

    func decode(_ file: [UInt8], name: BlockName, into out: UnsafeMutableRawBufferPointer) throws {
        try file.withUnsafeBytes { f in
            let payload = UnsafeRawBufferPointer(rebasing: f[BlockStore.headerSize...])
            if file[5] == 1 {
                guard LZ4.decompress(payload, into: out) else {
                    throw CapsuleError.corruptBlock(name, "LZ4 payload does not decode to \(out.count) bytes")
                }
            } else {
                out.copyMemory(from: payload)
            }
        }
        let actual = SHA256.hash(UnsafeRawBufferPointer(out))
        guard actual == name else {
            throw CapsuleError.corruptBlock(name, "content hashes to \(actual)")
        }
    }

    // MARK: enumeration

    /// Calls `body` with the name of every stored block (not the zero block,
    /// not pending ones). Files whose names are not block names (temporary
    /// files) are skipped.
    public func forEachBlock(_ body: (BlockName) throws -> Void) throws {
        for dir in try FileIO.list(root).sorted() where dir.utf8.count == 2 {
            for f in try FileIO.list(root + "/" + dir) {
                if let n = BlockName(hex: dir + f), n.hex == dir + f { try body(n) }
            }
        }
    }

    public func allBlocks() throws -> [BlockName] {
        var out: [BlockName] = []
        try forEachBlock { out.append($0) }
        return out
    }

    /// Paths of leftover temporary files (from a crash or a failed write).
    public func temporaryFiles() throws -> [String] {
        var out: [String] = []
        for dir in try FileIO.list(root) where dir.utf8.count == 2 {
            for f in try FileIO.list(root + "/" + dir) where FileIO.isTemporaryName(f) {
                let p = root + "/" + dir + "/" + f
                if !pending.values.contains(p) { out.append(p) }
            }
        }
        return out
    }

    /// Bytes the block's file occupies (header included); nil if absent.
    public func storedSize(_ name: BlockName) -> UInt64? {
        if name == .zero { return 0 }
        return FileIO.size(pending[name] ?? path(for: name))
    }

    /// Deletes a block (gc only).
    public func remove(_ name: BlockName) throws {
        try FileIO.remove(path(for: name))
    }

    /// Reads and verifies a block, discarding the content.
    public func verify(_ name: BlockName) throws {
        _ = try get(name)
    }
}

@inline(__always) func storeLE32(_ a: inout [UInt8], _ o: Int, _ v: UInt32) {
    a[o] = UInt8(truncatingIfNeeded: v); a[o + 1] = UInt8(truncatingIfNeeded: v >> 8)
    a[o + 2] = UInt8(truncatingIfNeeded: v >> 16); a[o + 3] = UInt8(truncatingIfNeeded: v >> 24)
}

@inline(__always) func loadLE32(_ a: [UInt8], _ o: Int) -> UInt32 {
    UInt32(a[o]) | UInt32(a[o + 1]) << 8 | UInt32(a[o + 2]) << 16 | UInt32(a[o + 3]) << 24
}

@inline(__always) func storeLE64(_ a: inout [UInt8], _ o: Int, _ v: UInt64) {
    storeLE32(&a, o, UInt32(truncatingIfNeeded: v)); storeLE32(&a, o + 4, UInt32(truncatingIfNeeded: v >> 32))
}

@inline(__always) func loadLE64(_ a: [UInt8], _ o: Int) -> UInt64 {
    UInt64(loadLE32(a, o)) | UInt64(loadLE32(a, o + 4)) << 32
}

#if os(Linux)
/// syncfs(2): Swift's Glibc module does not import it (it needs _GNU_SOURCE).
@_silgen_name("syncfs") func capsule_syncfs(_ fd: Int32) -> Int32
#endif
