#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A sealed disk layer: which 4 KiB blocks of a disk it holds, by block
/// index, and their names in the block store. Immutable; stored as a file
/// named by its own SHA-256 in the store's `layers/` directory, so two
/// disks (or capsules) with the same base share it, and a migration
/// receiver that has a layer skips it whole.
///
/// An entry whose name is `BlockName.zero` means "zeros here", masking
/// whatever a lower layer holds at that index; an index the layer does not
/// list shows through to the layer below.
///
/// File layout (little-endian):
///
///     0   "CLYR"       magic
///     4   u32          format version (1)
///     8   u64          disk size in bytes
///     16  u32          block size (4096)
///     20  u32          reserved, 0
///     24  u64          entry count
///     32  entries      u64 block index + 32-byte block name, indexes strictly ascending
public struct DiskLayer: Equatable, Sendable {
    public var diskSize: UInt64
    public var indexes: [UInt64]
    public var names: [BlockName]

    public init(diskSize: UInt64, indexes: [UInt64] = [], names: [BlockName] = []) {
        precondition(indexes.count == names.count)
        self.diskSize = diskSize
        self.indexes = indexes
        self.names = names
    }

    public var count: Int { indexes.count }
    public var blockCount: UInt64 { (diskSize + UInt64(BlockName.blockSize) - 1) / UInt64(BlockName.blockSize) }

    static let magic: [UInt8] = Array("CLYR".utf8)
    static let formatVersion: UInt32 = 1
    static let headerSize = 32
    static let entrySize = 40

    public func encoded() -> [UInt8] {
        var out = [UInt8](repeating: 0, count: DiskLayer.headerSize + DiskLayer.entrySize * count)
        out[0..<4] = DiskLayer.magic[0..<4]
        storeLE32(&out, 4, DiskLayer.formatVersion)
        storeLE64(&out, 8, diskSize)
        storeLE32(&out, 16, UInt32(BlockName.blockSize))
        storeLE64(&out, 24, UInt64(count))
        var o = DiskLayer.headerSize
        for i in 0..<count {
            storeLE64(&out, o, indexes[i])
            names[i].store(to: &out, at: o + 8)
            o += DiskLayer.entrySize
        }
        return out
    }

    /// Parses a layer file; `name` is used in error messages only.
    public static func decode(_ bytes: [UInt8], name: String) throws -> DiskLayer {
        func bad(_ why: String) -> CapsuleError { .corruptLayer(name, why) }
        guard bytes.count >= headerSize else { throw bad("truncated: \(bytes.count) bytes") }
        guard Array(bytes[0..<4]) == magic else { throw bad("bad magic (not a layer file)") }
        let v = loadLE32(bytes, 4)
        guard v <= formatVersion else { throw bad("layer format version \(v) is newer than this build understands (max \(formatVersion))") }
        guard loadLE32(bytes, 16) == UInt32(BlockName.blockSize) else { throw bad("block size \(loadLE32(bytes, 16)) unsupported") }
        let size = loadLE64(bytes, 8)
        let n = loadLE64(bytes, 24)
        guard n <= UInt64((bytes.count - headerSize) / entrySize), bytes.count == headerSize + Int(n) * entrySize else {
            throw bad("\(bytes.count) bytes do not hold \(n) entries (truncated)")
        }
        var layer = DiskLayer(diskSize: size)
        layer.indexes.reserveCapacity(Int(n))
        layer.names.reserveCapacity(Int(n))
        let blocks = layer.blockCount
        try bytes.withUnsafeBytes { p in
            var o = headerSize
            for _ in 0..<Int(n) {
                let i = loadLE64(bytes, o)
                guard i < blocks else { throw bad("block index \(i) beyond the disk's \(blocks) blocks") }
                if let last = layer.indexes.last, i <= last { throw bad("block indexes out of order at \(i)") }
                layer.indexes.append(i)
                layer.names.append(BlockName(digest: p.baseAddress! + o + 8))
                o += entrySize
            }
        }
        return layer
    }
}

/// The sealed layer files of a store: `layers/<sha256 hex>`, written
/// atomically and verified against their name on every read.
public final class LayerStore {
    public let root: String

    public init(directory: String) throws {
        root = directory
        try FileIO.makeDirectories(root)
    }

    public func path(for name: BlockName) -> String { root + "/" + name.hex }

    public func has(_ name: BlockName) -> Bool { FileIO.exists(path(for: name)) }

    /// Stores a layer (idempotent) and returns its name.
    @discardableResult
    public func put(_ layer: DiskLayer) throws -> BlockName {
        let bytes = layer.encoded()
        let name = BlockName.of(bytes)
        if !has(name) { try FileIO.atomicWrite(bytes, to: path(for: name)) }
        return name
    }

    public func get(_ name: BlockName) throws -> DiskLayer {
        let bytes: [UInt8]
        do {
            bytes = try FileIO.readFile(path(for: name))
        } catch CapsuleError.io(_, _, let e) where e == ENOENT {
            throw CapsuleError.corruptLayer(name.hex, "missing from the store")
        }
        let actual = BlockName.of(bytes)
        guard actual == name else { throw CapsuleError.corruptLayer(name.hex, "content hashes to \(actual)") }
        return try DiskLayer.decode(bytes, name: name.hex)
    }

    public func storedSize(_ name: BlockName) -> UInt64? { FileIO.size(path(for: name)) }

    public func all() throws -> [BlockName] {
        try FileIO.list(root).compactMap { f in BlockName(hex: f).flatMap { $0.hex == f ? $0 : nil } }
    }

    public func temporaryFiles() throws -> [String] {
        try FileIO.list(root).filter(FileIO.isTemporaryName).map { root + "/" + $0 }
    }

    public func remove(_ name: BlockName) throws { try FileIO.remove(path(for: name)) }
}

