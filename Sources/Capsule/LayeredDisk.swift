#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// A copy-on-write disk: a chain of sealed layers in the store, bottom
/// first, under one writable top layer that the running machine writes to.
///
/// The top layer lives in the disk's directory as a sparse file at the
/// disk's own offsets (`top-N.data`), so reads and writes of blocks it
/// holds are plain `pread`/`pwrite` — raw-file speed, with the host's page
/// cache as the write-back cache. Which blocks it holds is a bitmap in
/// memory, made durable by `flush()` as a record appended to the write
/// journal (`top-N.journal`): the data file is fsynced first, then the
/// record, so after a crash the journal never claims a block whose data is
/// not on disk. Writes acknowledged by a `flush()` survive a crash; later
/// ones may or may not, as with a real disk's volatile cache.
///
/// A write that covers only part of a 4 KiB block the top layer does not
/// hold yet reads the block from the layers below, patches it and writes
/// the whole block (read-modify-write). Blocks read from sealed layers are
/// verified against their names and kept in a small cache.
///
/// `seal()` turns the top layer into a sealed layer (its blocks go into the
/// block store) and starts an empty top; `flatten()` merges all layers into
/// one. Both switch the disk over by atomically replacing `disk.json`, the
/// single commit point, and both leave capsules that reference the old
/// layers valid.
///
/// Not thread-safe: the machine's disk controller owns it.
public final class LayeredDisk: SectorDevice {
    public static let sectorSize = 512
    static let bs = BlockName.blockSize

    public let store: Store
    /// The disk's directory; nil for a read-only view of a layer chain.
    public let directory: String?
    /// Bytes (a multiple of 512).
    public let size: UInt64
    public let readOnly: Bool
    /// Sealed layers, bottom first.
    public private(set) var layers: [BlockName]

    public var sectorCount: UInt64 { size / UInt64(LayeredDisk.sectorSize) }
    public var blockCount: UInt64 { (size + UInt64(LayeredDisk.bs) - 1) / UInt64(LayeredDisk.bs) }

    /// The sealed chain merged: block index → name (top-most layer wins;
    /// `.zero` entries mask lower data).
    var lower: [UInt64: BlockName] = [:]
    let cache: BlockCache
    /// Fetches a block the sealed layers name but the store does not hold
    /// yet (a migration's receiver running before the disk has arrived);
    /// blocking. The bytes are verified against the name and stored.
    public var missingBlockResolver: ((BlockName) throws -> [UInt8])?

    var generation: UInt64 = 0
    var dataFD: Int32 = -1
    var journalFD: Int32 = -1
    var journalEnd: UInt64 = 0
    /// Blocks the top layer holds.
    var present: [UInt64] = []
    public private(set) var topBlockCount = 0
    /// Blocks newly present since the last journal record.
    var unjournaled: [UInt64] = []
    var dataDirty = false
    let scratch: UnsafeMutableRawBufferPointer
    /// flock on the directory's `lock` file while the disk is open.
    var lockFD: Int32 = -1

    // MARK: descriptor

    struct Descriptor: Codable {
        var formatVersion: Int
        var size: UInt64
        var blockSize: Int
        var layers: [BlockName]
        var generation: UInt64
    }

    static let descriptorName = "disk.json"
    static let journalMagic: [UInt8] = Array("CJRN".utf8)
    static let journalHeaderSize = 32

    var dataPath: String { "\(directory!)/top-\(generation).data" }
    var journalPath: String { "\(directory!)/top-\(generation).journal" }
    var label: String { directory.map { "disk \($0)" } ?? "disk view" }

    init(store: Store, directory: String?, size: UInt64, readOnly: Bool, layers: [BlockName], cacheBlocks: Int) throws {
        self.store = store
        self.directory = directory
        self.size = size
        self.readOnly = readOnly
        self.layers = layers
        cache = BlockCache(capacity: cacheBlocks)
        scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: LayeredDisk.bs, alignment: 4096)
        present = [UInt64](repeating: 0, count: Int((blockCount + 63) / 64))
        for l in layers { try merge(store.layers.get(l)) }
    }

    deinit {
        if !readOnly { try? flush() }
        closeTop()
        if lockFD >= 0 { FileIO.close(lockFD) }
        scratch.deallocate()
    }

    /// Flushes and releases the disk (the object must not be used after).
    public func close() throws {
        if !readOnly { try flush() }
        closeTop()
        if lockFD >= 0 { FileIO.close(lockFD); lockFD = -1 }
    }

    func merge(_ layer: DiskLayer) throws {
        guard layer.diskSize == size else {
            throw CapsuleError.corruptLayer("of \(label)", "layer is for a disk of \(layer.diskSize) bytes, not \(size)")
        }
        for i in 0..<layer.count { lower[layer.indexes[i]] = layer.names[i] }
    }

    /// A read-only view of a sealed layer chain (a capsule's disk).
    public static func view(store: Store, size: UInt64, layers: [BlockName], cacheBlocks: Int = 4096) throws -> LayeredDisk {
        try validateSize(size)
        return try LayeredDisk(store: store, directory: nil, size: size, readOnly: true, layers: layers, cacheBlocks: cacheBlocks)
    }

    static func validateSize(_ size: UInt64) throws {
        guard size > 0, size % UInt64(sectorSize) == 0 else {
            throw CapsuleError.badDiskAccess("disk size \(size) is not a positive multiple of \(sectorSize) bytes")
        }
        guard size <= 1 << 41 else { throw CapsuleError.badDiskAccess("disk size \(size) exceeds 2 TiB") }
    }

    /// Creates a new disk in `directory` (which must not hold one yet) over
    /// the given sealed layers (none: a disk of zeros).
    public static func create(in directory: String, size: UInt64, layers: [BlockName] = [], store: Store) throws -> LayeredDisk {
        try validateSize(size)
        try FileIO.makeDirectories(directory)
        let desc = directory + "/" + descriptorName
        guard !FileIO.exists(desc) else { throw CapsuleError.alreadyExists("disk \(directory)") }
        for l in layers { _ = try store.layers.get(l) }  // all present and valid before the commit
        let lock = try lockDirectory(directory, exclusive: true)
        let d: LayeredDisk
        do {
            d = try LayeredDisk(store: store, directory: directory, size: size, readOnly: false, layers: layers, cacheBlocks: 4096)
        } catch {
            FileIO.close(lock)
            throw error
        }
        d.lockFD = lock
        d.generation = 1
        try d.createTopFiles()
        try d.writeDescriptor()
        return d
    }

    /// Opens the disk in `directory`: exclusively when writable, shared
    /// when read-only (a disk in use by another process is refused).
    public static func open(_ directory: String, store: Store, readOnly: Bool = false, cacheBlocks: Int = 4096) throws -> LayeredDisk {
        let desc = try readDescriptor(directory)
        let lock = try lockDirectory(directory, exclusive: !readOnly)
        let d: LayeredDisk
        do {
            d = try LayeredDisk(store: store, directory: directory, size: desc.size, readOnly: readOnly,
                                layers: desc.layers, cacheBlocks: cacheBlocks)
        } catch {
            FileIO.close(lock)
            throw error
        }
        d.lockFD = lock
        d.generation = desc.generation
        try d.openTop()
        if !readOnly { d.removeStaleTopFiles() }
        return d
    }

    /// Takes the disk directory's lock (flock on `lock`), without waiting.
    static func lockDirectory(_ directory: String, exclusive: Bool) throws -> Int32 {
        let path = directory + "/lock"
        let fd = try FileIO.open(path, O_RDWR | O_CREAT, 0o644)
        if flock(fd, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) != 0 {
            let e = errno
            FileIO.close(fd)
            if e == EWOULDBLOCK { throw CapsuleError.badDiskAccess("disk \(directory) is in use by another process") }
            throw CapsuleError.io(path: path, operation: "flock", errno: e)
        }
        return fd
    }

    /// The disk's descriptor, read without opening (or locking) the disk.
    static func readDescriptor(_ directory: String) throws -> Descriptor {
        let descPath = directory + "/" + descriptorName
        let bytes: [UInt8]
        do { bytes = try FileIO.readFile(descPath) } catch CapsuleError.io(_, _, let e) where e == ENOENT {
            throw CapsuleError.notFound("disk \(directory)")
        }
        let desc: Descriptor
        do { desc = try JSONDecoder().decode(Descriptor.self, from: Data(bytes)) } catch {
            throw CapsuleError.other("\(descPath) is damaged: \(error)")
        }
        guard desc.formatVersion <= 1 else {
            throw CapsuleError.other("\(descPath): format version \(desc.formatVersion) is newer than this build understands (max 1)")
        }
        guard desc.blockSize == bs else { throw CapsuleError.other("\(descPath): block size \(desc.blockSize) unsupported") }
        try validateSize(desc.size)
        return desc
    }

    func writeDescriptor() throws {
        let desc = Descriptor(formatVersion: 1, size: size, blockSize: LayeredDisk.bs, layers: layers, generation: generation)
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys]
        try FileIO.atomicWrite(Array(try e.encode(desc)) + [0x0A], to: directory! + "/" + LayeredDisk.descriptorName)
    }

    // MARK: top layer files

    func createTopFiles() throws {
        let dfd = try FileIO.open(dataPath, O_RDWR | O_CREAT | O_TRUNC, 0o644)
        if ftruncate(dfd, off_t(blockCount * UInt64(LayeredDisk.bs))) != 0 {
            let e = FileIO.fail(dataPath, "ftruncate"); FileIO.close(dfd); throw e
        }
        try FileIO.fsync(dfd, path: dataPath)
        let jfd = try FileIO.open(journalPath, O_RDWR | O_CREAT | O_TRUNC, 0o644)
        var h = [UInt8](repeating: 0, count: LayeredDisk.journalHeaderSize)
        h[0..<4] = LayeredDisk.journalMagic[0..<4]
        storeLE32(&h, 4, 1)
        storeLE64(&h, 8, size)
        storeLE64(&h, 16, generation)
        try h.withUnsafeBytes { try FileIO.pwriteAll(jfd, $0, at: 0, path: journalPath) }
        try FileIO.fsync(jfd, path: journalPath)
        try FileIO.fsyncDirectory(directory!)
        closeTop()
        dataFD = dfd
        journalFD = jfd
        journalEnd = UInt64(LayeredDisk.journalHeaderSize)
        for i in present.indices { present[i] = 0 }
        topBlockCount = 0
        unjournaled.removeAll()
        dataDirty = false
    }

    func openTop() throws {
        let flags = readOnly ? O_RDONLY : O_RDWR
        dataFD = try FileIO.open(dataPath, flags)
        journalFD = try FileIO.open(journalPath, flags)
        let j = try FileIO.readFile(journalPath)
        guard j.count >= LayeredDisk.journalHeaderSize, Array(j[0..<4]) == LayeredDisk.journalMagic,
              loadLE32(j, 4) == 1, loadLE64(j, 8) == size, loadLE64(j, 16) == generation else {
            throw CapsuleError.other("\(journalPath): damaged journal header")
        }
        // Replay records; stop at the first torn or damaged one (a crash
        // while appending it) and cut it off.
        var o = LayeredDisk.journalHeaderSize
        while j.count - o >= 8 {
            let n = Int(loadLE32(j, o))
            guard n <= (j.count - o - 8) / 8 else { break }
            let crc = j.withUnsafeBytes { CRC32.checksum(UnsafeRawBufferPointer(rebasing: $0[o..<(o + 4 + 8 * n)])) }
            guard crc == loadLE32(j, o + 4 + 8 * n) else { break }
            for k in 0..<n {
                let bi = loadLE64(j, o + 4 + 8 * k)
                guard bi < blockCount else { throw CapsuleError.other("\(journalPath): block \(bi) beyond the disk") }
                setPresent(bi)
            }
            o += 8 + 8 * n
        }
        unjournaled.removeAll()
        journalEnd = UInt64(o)
        if !readOnly && o < j.count && ftruncate(journalFD, off_t(o)) != 0 {
            throw FileIO.fail(journalPath, "ftruncate")
        }
        let expected = blockCount * UInt64(LayeredDisk.bs)
        if try FileIO.fileSize(dataFD, path: dataPath) < expected {
            guard !readOnly, ftruncate(dataFD, off_t(expected)) == 0 else {
                throw CapsuleError.other("\(dataPath) is shorter than the disk")
            }
        }
    }

    func closeTop() {
        if dataFD >= 0 { FileIO.close(dataFD); dataFD = -1 }
        if journalFD >= 0 { FileIO.close(journalFD); journalFD = -1 }
    }

    /// Top-layer files of other generations: leftovers of a seal that
    /// crashed before or after its commit.
    func removeStaleTopFiles() {
        guard let dir = directory, let names = try? FileIO.list(dir) else { return }
        let keep: Set<String> = ["top-\(generation).data", "top-\(generation).journal"]
        for n in names where (n.hasPrefix("top-") && !keep.contains(n)) || FileIO.isTemporaryName(n) {
            try? FileIO.remove(dir + "/" + n)
        }
    }

    @inline(__always) func isPresent(_ bi: UInt64) -> Bool {
        present.withUnsafeBufferPointer { $0[Int(bi >> 6)] & (1 << (bi & 63)) != 0 }
    }

    @inline(__always) func setPresent(_ bi: UInt64) {
        let w = Int(bi >> 6), m: UInt64 = 1 << (bi & 63)
        if present[w] & m == 0 {
            present[w] |= m
            topBlockCount += 1
            unjournaled.append(bi)
        }
    }

    // MARK: SectorDevice

    func checkRange(_ sector: UInt64, _ count: Int, _ bufferSize: Int) throws {
        guard directory == nil || dataFD >= 0 else { throw CapsuleError.badDiskAccess("\(label) is closed") }
        guard count >= 0, sector <= sectorCount, UInt64(count) <= sectorCount - sector else {
            throw CapsuleError.badDiskAccess("\(label): sectors \(sector)+\(count) beyond its \(sectorCount) sectors")
        }
        guard bufferSize >= count * LayeredDisk.sectorSize else {
            throw CapsuleError.badDiskAccess("\(label): buffer of \(bufferSize) bytes for \(count) sectors")
        }
    }

    public func read(sector: UInt64, count: Int, into buffer: UnsafeMutableRawBufferPointer) throws {
        try checkRange(sector, count, buffer.count)
        try readBytes(at: sector * UInt64(LayeredDisk.sectorSize),
                      into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<(count * LayeredDisk.sectorSize)]))
    }

    public func write(sector: UInt64, count: Int, from buffer: UnsafeRawBufferPointer) throws {
        guard !readOnly else { throw CapsuleError.badDiskAccess("\(label) is read-only") }
        try checkRange(sector, count, buffer.count)
        try writeBytes(at: sector * UInt64(LayeredDisk.sectorSize),
                       from: UnsafeRawBufferPointer(rebasing: buffer[0..<(count * LayeredDisk.sectorSize)]))
    }

    /// Makes every write so far durable (data, then the journal record).
    public func flush() throws {
        guard !readOnly, dataFD >= 0 else { return }
        if dataDirty {
            try FileIO.fsync(dataFD, path: dataPath)
            dataDirty = false
        }
        if !unjournaled.isEmpty {
            var rec = [UInt8](repeating: 0, count: 8 + 8 * unjournaled.count)
            storeLE32(&rec, 0, UInt32(unjournaled.count))
            for (k, bi) in unjournaled.enumerated() { storeLE64(&rec, 4 + 8 * k, bi) }
            let crc = rec.withUnsafeBytes { CRC32.checksum(UnsafeRawBufferPointer(rebasing: $0[0..<(4 + 8 * unjournaled.count)])) }
            storeLE32(&rec, 4 + 8 * unjournaled.count, crc)
            try rec.withUnsafeBytes { try FileIO.pwriteAll(journalFD, $0, at: journalEnd, path: journalPath) }
            try FileIO.fsync(journalFD, path: journalPath)
            journalEnd += UInt64(rec.count)
            unjournaled.removeAll(keepingCapacity: true)
        }
    }

    // MARK: byte-level access

    /// The block's content from the sealed layers (cached, verified), or
    /// nil when it is zero there.
    func lowerBlock(_ bi: UInt64) throws -> UnsafeRawPointer? {
        guard let name = lower[bi], name != .zero else { return nil }
        if let p = cache.lookup(name) { return p }
        if let resolver = missingBlockResolver, !store.blocks.has(name) { try fetchMissing(name, resolver) }
        let slot = cache.insert(name)
        do { try store.blocks.read(name, into: slot) } catch {
            cache.drop(name)
            throw error
        }
        return UnsafeRawPointer(slot.baseAddress!)
    }

    /// Asks the resolver for a block and stores it if it is the one named.
    func fetchMissing(_ name: BlockName, _ resolver: (BlockName) throws -> [UInt8]) throws {
        let bytes = try resolver(name)
        guard bytes.count == LayeredDisk.bs else {
            throw CapsuleError.other("\(label): block \(name) arrived with \(bytes.count) bytes, expected \(LayeredDisk.bs)")
        }
        let got = try store.blocks.put(bytes)
        guard got == name else {
            throw CapsuleError.other("\(label): block fetched for \(name) has the contents of \(got)")
        }
    }

    /// Reads `buffer.count` bytes at byte `offset` (inside the disk).
    public func readBytes(at offset: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws {
        let bs = LayeredDisk.bs
        var pos = 0
        while pos < buffer.count {
            let off = offset + UInt64(pos)
            let bi = off / UInt64(bs)
            let inBlock = Int(off % UInt64(bs))
            let n = min(bs - inBlock, buffer.count - pos)
            if dataFD >= 0 && isPresent(bi) {
                // a run of blocks the top layer holds: one pread
                var run = n
                var next = bi + 1
                while pos + run < buffer.count && isPresent(next) {
                    run += min(bs, buffer.count - pos - run)
                    next += 1
                }
                let dst = UnsafeMutableRawBufferPointer(rebasing: buffer[pos..<(pos + run)])
                let got = try FileIO.preadFull(dataFD, dst, at: off, path: dataPath)
                if got < run { UnsafeMutableRawBufferPointer(rebasing: dst[got...]).initializeMemory(as: UInt8.self, repeating: 0) }
                pos += run
                continue
            }
            let dst = buffer.baseAddress! + pos
            if let src = try lowerBlock(bi) {
                dst.copyMemory(from: src + inBlock, byteCount: n)
            } else {
                dst.initializeMemory(as: UInt8.self, repeating: 0, count: n)
            }
            pos += n
        }
    }

    /// Writes `buffer` at byte `offset` (inside the disk) into the top layer.
    public func writeBytes(at offset: UInt64, from buffer: UnsafeRawBufferPointer) throws {
        guard !readOnly, dataFD >= 0 else { throw CapsuleError.badDiskAccess("\(label) is read-only") }
        let bs = LayeredDisk.bs
        var pos = 0
        dataDirty = true
        while pos < buffer.count {
            let off = offset + UInt64(pos)
            let bi = off / UInt64(bs)
            let inBlock = Int(off % UInt64(bs))
            let n = min(bs - inBlock, buffer.count - pos)
            if n == bs || isPresent(bi) {
                // whole blocks, or blocks the top already holds: write through
                var run = n
                var next = bi + 1
                while pos + run < buffer.count {
                    let m = min(bs, buffer.count - pos - run)
                    guard m == bs || isPresent(next) else { break }
                    run += m
                    next += 1
                }
                try FileIO.pwriteAll(dataFD, UnsafeRawBufferPointer(rebasing: buffer[pos..<(pos + run)]), at: off, path: dataPath)
                for b in bi..<next { setPresent(b) }
                pos += run
                continue
            }
            // part of a block the top does not hold: read-modify-write
            if let src = try lowerBlock(bi) {
                scratch.baseAddress!.copyMemory(from: src, byteCount: bs)
            } else {
                scratch.initializeMemory(as: UInt8.self, repeating: 0)
            }
            (scratch.baseAddress! + inBlock).copyMemory(from: buffer.baseAddress! + pos, byteCount: n)
            try FileIO.pwriteAll(dataFD, UnsafeRawBufferPointer(scratch), at: bi * UInt64(bs), path: dataPath)
            setPresent(bi)
            pos += n
        }
    }

    // MARK: layers

    /// Indexes of the blocks the top layer holds, ascending.
    func topIndexes() -> [UInt64] {
        var out: [UInt64] = []
        out.reserveCapacity(topBlockCount)
        for (w, word) in present.enumerated() where word != 0 {
            var bits = word
            while bits != 0 {
                let b = UInt64(bits.trailingZeroBitCount)
                out.append(UInt64(w) * 64 + b)
                bits &= bits - 1
            }
        }
        return out
    }

    /// Seals the top layer: its blocks go into the block store, it becomes
    /// the newest sealed layer, and an empty top layer replaces it. Returns
    /// the new layer's name, or nil when the top held nothing (no layer is
    /// added). Crash-safe: until `disk.json` is replaced the disk is as it
    /// was; after, it is sealed; leftovers are removed on the next open.
    @discardableResult
    public func seal() throws -> BlockName? {
        guard !readOnly, directory != nil else { throw CapsuleError.badDiskAccess("\(label) is read-only") }
        try flush()
        guard topBlockCount > 0 else { return nil }
        return try store.withLock(exclusive: false) {
            var layer = DiskLayer(diskSize: size)
            let indexes = topIndexes()
            layer.indexes = indexes
            layer.names.reserveCapacity(indexes.count)
            try store.blocks.batch {
                for bi in indexes {
                    let got = try FileIO.preadFull(dataFD, scratch, at: bi * UInt64(LayeredDisk.bs), path: dataPath)
                    if got < scratch.count { UnsafeMutableRawBufferPointer(rebasing: scratch[got...]).initializeMemory(as: UInt8.self, repeating: 0) }
                    layer.names.append(try store.blocks.put(UnsafeRawBufferPointer(scratch)))
                }
            }
            let name = try store.layers.put(layer)
            let oldData = dataPath, oldJournal = journalPath
            generation += 1
            layers.append(name)
            do {
                try createTopFiles()
                try writeDescriptor()  // the commit point
            } catch {
                // back to the old top layer (flushed above, so its journal
                // holds every block)
                let newData = dataPath, newJournal = journalPath
                closeTop()
                generation -= 1
                layers.removeLast()
                try? FileIO.remove(newData)
                try? FileIO.remove(newJournal)
                try openTop()
                throw error
            }
            try? FileIO.remove(oldData)
            try? FileIO.remove(oldJournal)
            try merge(layer)
            return name
        }
    }

    /// Discards the top layer and puts the disk on `newLayers` (a capsule's
    /// chain, when a machine resumes from it). Committed by replacing
    /// `disk.json`, like `seal`.
    public func reset(to newLayers: [BlockName]) throws {
        guard !readOnly, directory != nil else { throw CapsuleError.badDiskAccess("\(label) is read-only") }
        var merged: [DiskLayer] = []
        for l in newLayers {
            let layer = try store.layers.get(l)
            guard layer.diskSize == size else {
                throw CapsuleError.corruptLayer(l.hex, "is for a disk of \(layer.diskSize) bytes, not \(size)")
            }
            merged.append(layer)
        }
        let oldData = dataPath, oldJournal = journalPath, oldLayers = layers
        generation += 1
        layers = newLayers
        do {
            try createTopFiles()
            try writeDescriptor()
        } catch {
            let newData = dataPath, newJournal = journalPath
            closeTop()
            generation -= 1
            layers = oldLayers
            try? FileIO.remove(newData)
            try? FileIO.remove(newJournal)
            try openTop()
            throw error
        }
        try? FileIO.remove(oldData)
        try? FileIO.remove(oldJournal)
        lower.removeAll()
        cache.removeAll()
        for layer in merged { try merge(layer) }
    }

    /// Seals the top layer, then replaces the whole chain by one layer
    /// holding the disk's current content.
    public func flatten() throws {
        guard !readOnly, directory != nil else { throw CapsuleError.badDiskAccess("\(label) is read-only") }
        try seal()
        guard layers.count > 1 else { return }
        try store.withLock(exclusive: false) {
            var layer = DiskLayer(diskSize: size)
            for bi in lower.keys.sorted() where lower[bi] != .zero {
                layer.indexes.append(bi)
                layer.names.append(lower[bi]!)
            }
            let name = try store.layers.put(layer)
            let old = layers
            layers = [name]
            do { try writeDescriptor() } catch { layers = old; throw error }
            lower.removeAll()
            try merge(layer)
        }
    }

    /// Writes the disk's content to a raw image (sparse where zero).
    public func export(to path: String) throws {
        let fd = try FileIO.open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        defer { FileIO.close(fd) }
        if ftruncate(fd, off_t(size)) != 0 { throw FileIO.fail(path, "ftruncate") }
        var indexes = Set(lower.keys)
        for bi in topIndexes() { indexes.insert(bi) }
        let buf = UnsafeMutableRawBufferPointer.allocate(byteCount: LayeredDisk.bs, alignment: 4096)
        defer { buf.deallocate() }
        for bi in indexes.sorted() {
            let start = bi * UInt64(LayeredDisk.bs)
            let n = Int(min(UInt64(LayeredDisk.bs), size - start))
            let part = UnsafeMutableRawBufferPointer(rebasing: buf[0..<n])
            try readBytes(at: start, into: part)
            if isAllZero(UnsafeRawBufferPointer(part)) { continue }
            try FileIO.pwriteAll(fd, UnsafeRawBufferPointer(part), at: start, path: path)
        }
        try FileIO.fsync(fd, path: path)
    }

    /// Creates a disk in `directory` whose single sealed layer holds the
    /// raw image's content (its size rounded up to 512 bytes).
    public static func importRaw(_ rawPath: String, into directory: String, store: Store) throws -> LayeredDisk {
        let fd = try FileIO.open(rawPath, O_RDONLY)
        defer { FileIO.close(fd) }
        let fileSize = try FileIO.fileSize(fd, path: rawPath)
        let size = (fileSize + 511) / 512 * 512
        try validateSize(size)
        let chunk = 256 * bs
        let buf = UnsafeMutableRawBufferPointer.allocate(byteCount: chunk, alignment: 4096)
        defer { buf.deallocate() }
        return try store.withLock(exclusive: false) {
            var layer = DiskLayer(diskSize: size)
            try store.blocks.batch {
                var off: UInt64 = 0
                while off < fileSize {
                    let got = try FileIO.preadFull(fd, buf, at: off, path: rawPath)
                    if got == 0 { break }
                    let blocks = (got + bs - 1) / bs
                    if got < blocks * bs { UnsafeMutableRawBufferPointer(rebasing: buf[got..<(blocks * bs)]).initializeMemory(as: UInt8.self, repeating: 0) }
                    for k in 0..<blocks {
                        let b = UnsafeRawBufferPointer(rebasing: buf[(k * bs)..<((k + 1) * bs)])
                        if isAllZero(b) { continue }
                        layer.indexes.append(off / UInt64(bs) + UInt64(k))
                        layer.names.append(try store.blocks.put(b))
                    }
                    off += UInt64(got)
                }
            }
            let name = try store.layers.put(layer)
            return try create(in: directory, size: size, layers: [name], store: store)
        }
    }

    // MARK: info

    public struct LayerInfo: Sendable {
        public var name: BlockName
        /// Blocks the layer lists (zero-masking entries included).
        public var blocks: Int
        /// Of these, entries that mask lower data with zeros.
        public var zeroBlocks: Int
        /// Size of the layer file.
        public var fileBytes: UInt64
    }

    public struct Info: Sendable {
        public var size: UInt64
        public var layers: [LayerInfo]
        /// Blocks held by the writable top layer.
        public var topBlocks: Int
        /// Blocks of the disk that hold data: non-zero entries of the merged
        /// sealed chain plus the blocks of the top layer.
        public var visibleBlocks: Int
        /// Bytes of non-zero blocks the sealed layers list, counting each entry.
        public var referencedBytes: UInt64
        /// Bytes of distinct blocks listed once in the whole chain.
        public var uniqueBytes: UInt64
        /// Bytes of distinct blocks listed more than once (each counted once):
        /// the chain stores them once and uses them several times.
        public var sharedBytes: UInt64
        /// Bytes the distinct blocks occupy in the store (compressed, with
        /// headers) plus the layer files.
        public var storedBytes: UInt64
    }

    public func info() throws -> Info {
        var uses: [BlockName: Int] = [:]
        var infos: [LayerInfo] = []
        var referenced: UInt64 = 0
        var stored: UInt64 = 0
        for l in layers {
            let layer = try store.layers.get(l)
            var zeros = 0
            for n in layer.names {
                if n == .zero { zeros += 1; continue }
                uses[n, default: 0] += 1
                referenced += UInt64(LayeredDisk.bs)
            }
            let fileBytes = store.layers.storedSize(l) ?? 0
            stored += fileBytes
            infos.append(LayerInfo(name: l, blocks: layer.count, zeroBlocks: zeros, fileBytes: fileBytes))
        }
        var unique: UInt64 = 0, shared: UInt64 = 0
        for (n, c) in uses {
            if c == 1 { unique += UInt64(LayeredDisk.bs) } else { shared += UInt64(LayeredDisk.bs) }
            stored += store.blocks.storedSize(n) ?? 0
        }
        var visible = Set(lower.compactMap { $0.value == .zero ? nil : $0.key })
        for bi in topIndexes() { visible.insert(bi) }
        return Info(size: size, layers: infos, topBlocks: topBlockCount, visibleBlocks: visible.count,
                    referencedBytes: referenced, uniqueBytes: unique, sharedBytes: shared, storedBytes: stored)
    }

    /// Cache hits and misses for sealed-layer blocks.
    public var cacheStatistics: (hits: Int, misses: Int) { (cache.hits, cache.misses) }
}
