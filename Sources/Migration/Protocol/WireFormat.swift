import Capsule

/// The migration protocol's frames and limits (docs/migration-protocol.md).
///
/// Every frame is an 8-byte header and a payload:
///
///     0  u8      frame type (FrameType)
///     1  u8      reserved, 0
///     2  u16     reserved, 0
///     4  u32 LE  payload length (at most the type's limit)
///
/// All integers are little-endian. A peer that sends a frame the current
/// protocol step does not expect, or any value outside its limit, is sent
/// an ERROR frame and disconnected.
public enum FrameType: UInt8, CaseIterable, Sendable {
    case hello = 1
    case welcome = 2
    case fetch = 3
    case offer = 4
    case part = 5
    case needLayers = 6
    case needBlocks = 7
    case block = 8
    case done = 9
    case committed = 10
    case error = 11
    case priority = 12

    /// The largest payload a frame of this type may carry.
    var payloadLimit: Int {
        switch self {
        case .hello: return 16
        case .welcome: return 2
        case .fetch: return 2 + WireLimits.maxNameBytes
        case .offer: return 2 + WireLimits.maxNameBytes + 32 + 8 + 1
        case .part: return PartHeader.size + WireLimits.maxCompressed(WireLimits.partChunk)
        case .needLayers: return 4 + (WireLimits.maxLayers + 7) / 8
        case .needBlocks: return NeedBlocksHeader.size + WireLimits.maxCompressed(WireLimits.bitmapChunk)
        case .block: return BlockHeader.size + WireLimits.maxCompressed(WireLimits.maxBlockBytes)
        case .done: return 8
        case .committed: return 32
        case .error: return 4 + WireLimits.maxErrorMessage
        case .priority: return 4 + 4 * WireLimits.maxPriorityIndexes
        }
    }
}

/// Bounds on everything a peer can make us read, allocate or loop over.
public enum WireLimits {
    public static let protocolVersion: UInt16 = 2
    public static let minProtocolVersion: UInt16 = 1
    public static let magic: [UInt8] = Array("CAPSMIGR".utf8)
    public static let headerSize = 8
    public static let maxNameBytes = 128
    public static let maxManifestBytes: UInt64 = 256 << 20
    public static let maxStateBytes: UInt64 = 1 << 30
    public static let maxInputLogBytes: UInt64 = 256 << 20
    public static let maxLayerBytes: UInt64 = 1 << 30
    public static let maxLayers = 4096
    /// Distinct blocks a capsule may offer (64 GiB of distinct content).
    public static let maxOfferedBlocks = 1 << 24
    /// Raw bytes per PART chunk.
    public static let partChunk = 256 << 10
    /// Raw bytes of need bitmap per NEED_BLOCKS frame.
    public static let bitmapChunk = 64 << 10
    /// Largest block (memory pages and disk blocks are 4 KiB).
    public static let maxBlockBytes = 64 << 10
    public static let maxErrorMessage = 1024
    /// Block indexes per PRIORITY frame.
    public static let maxPriorityIndexes = 1024
    /// NEED/DONE rounds per connection: each round resends what failed
    /// verification, so only a peer that keeps sending bad data needs more.
    public static let maxRounds = 16

    /// Worst case of LZ4 on `n` bytes (liblz4's LZ4_COMPRESSBOUND).
    static func maxCompressed(_ n: Int) -> Int { n + n / 255 + 16 }
}

/// What kind of data a PART frame carries.
public enum PartKind: UInt8, Sendable {
    case manifest = 1
    case state = 2
    case inputLog = 3
    case layer = 4

    var limit: UInt64 {
        switch self {
        case .manifest: return WireLimits.maxManifestBytes
        case .state: return WireLimits.maxStateBytes
        case .inputLog: return WireLimits.maxInputLogBytes
        case .layer: return WireLimits.maxLayerBytes
        }
    }
}

/// PART payload header:
///
///     0  u8      kind (PartKind)
///     1  u8      encoding: 0 raw, 1 LZ4
///     2  u16     reserved, 0
///     4  u32     index (layer: position in the offer's layer list; else 0)
///     8  u64     total size of the part
///     16 u64     offset of this chunk (chunks come in order)
///     24 u32     raw length of this chunk (at most WireLimits.partChunk)
///     28 …       chunk payload
struct PartHeader {
    static let size = 28
}

/// NEED_BLOCKS payload header (one frame per bitmap chunk):
///
///     0  u32     round (1, 2, …)
///     4  u8      flags: bit 0 state file wanted, bit 1 input log wanted
///     5  u8      encoding of the bitmap chunk: 0 raw, 1 LZ4
///     6  u16     reserved, 0
///     8  u32     blocks reported corrupt in the previous round
///     12 u32     offered block count (must equal the sender's)
///     16 32B     SHA-256 of the offered block names in order
///     48 u64     first bit of this chunk (a multiple of 8)
///     56 u32     raw bytes of this chunk
///     60 …       bitmap chunk: bit i set = block i is wanted
struct NeedBlocksHeader {
    static let size = 60
}

/// BLOCK payload header:
///
///     0  32B     block name (SHA-256 of the raw content)
///     32 u8      encoding: 0 raw, 1 LZ4
///     33 u8×3    reserved, 0
///     36 u32     raw length
///     40 …       payload
struct BlockHeader {
    static let size = 40
}

/// Codes of ERROR frames (u16), followed by a u16 length and a UTF-8 message.
public enum WireErrorCode: UInt16, Sendable {
    case version = 1
    case protocolViolation = 2
    case notFound = 3
    case store = 4
    case invalidName = 5
    case refused = 6
    case corrupt = 7

    public var label: String {
        switch self {
        case .version: return "version mismatch"
        case .protocolViolation: return "protocol violation"
        case .notFound: return "not found"
        case .store: return "store error"
        case .invalidName: return "invalid name"
        case .refused: return "refused"
        case .corrupt: return "too much corrupt data"
        }
    }
}

// MARK: - byte helpers

/// Appends little-endian values to a payload.
struct ByteWriter {
    var bytes: [UInt8] = []
    init(capacity: Int = 64) { bytes.reserveCapacity(capacity) }
    mutating func u8(_ v: UInt8) { bytes.append(v) }
    mutating func u16(_ v: UInt16) { bytes.append(UInt8(v & 0xFF)); bytes.append(UInt8(v >> 8)) }
    mutating func u32(_ v: UInt32) { for i in 0..<4 { bytes.append(UInt8(truncatingIfNeeded: v >> (8 * UInt32(i)))) } }
    mutating func u64(_ v: UInt64) { for i in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: v >> (8 * UInt64(i)))) } }
    mutating func raw(_ b: [UInt8]) { bytes.append(contentsOf: b) }
    mutating func raw(_ b: UnsafeRawBufferPointer) { bytes.append(contentsOf: b) }
    mutating func name(_ n: BlockName) { bytes.append(contentsOf: n.bytes) }
    /// A u16-length-prefixed UTF-8 string.
    mutating func string(_ s: String) { let u = Array(s.utf8); u16(UInt16(u.count)); raw(u) }
}

/// Reads a payload; every read is bounds-checked and fails with the
/// field's name (a short or long payload is a protocol violation).
struct ByteReader {
    let bytes: [UInt8]
    var at = 0
    let what: String
    init(_ bytes: [UInt8], what: String) { self.bytes = bytes; self.what = what }

    var remaining: Int { bytes.count - at }

    func short(_ field: String) -> MigrationError {
        .protocolViolation("\(what) frame too short for its \(field) (\(bytes.count) bytes)")
    }

    mutating func u8(_ field: String) throws(MigrationError) -> UInt8 {
        guard remaining >= 1 else { throw short(field) }
        at += 1
        return bytes[at - 1]
    }
    mutating func u16(_ field: String) throws(MigrationError) -> UInt16 {
        guard remaining >= 2 else { throw short(field) }
        defer { at += 2 }
        return UInt16(bytes[at]) | UInt16(bytes[at + 1]) << 8
    }
    mutating func u32(_ field: String) throws(MigrationError) -> UInt32 {
        guard remaining >= 4 else { throw short(field) }
        var v: UInt32 = 0
        for i in 0..<4 { v |= UInt32(bytes[at + i]) << (8 * UInt32(i)) }
        at += 4
        return v
    }
    mutating func u64(_ field: String) throws(MigrationError) -> UInt64 {
        guard remaining >= 8 else { throw short(field) }
        var v: UInt64 = 0
        for i in 0..<8 { v |= UInt64(bytes[at + i]) << (8 * UInt64(i)) }
        at += 8
        return v
    }
    mutating func raw(_ n: Int, _ field: String) throws(MigrationError) -> ArraySlice<UInt8> {
        guard n >= 0, remaining >= n else { throw short(field) }
        defer { at += n }
        return bytes[at..<(at + n)]
    }
    mutating func name(_ field: String) throws(MigrationError) -> BlockName {
        let b = try raw(32, field)
        return b.withUnsafeBytes { BlockName(digest: $0.baseAddress!) }
    }
    mutating func rest() -> ArraySlice<UInt8> { defer { at = bytes.count }; return bytes[at...] }
    /// A u16-length-prefixed string: valid UTF-8 of at most `limit` bytes.
    mutating func string(_ field: String, limit: Int) throws(MigrationError) -> String {
        let n = Int(try u16("\(field) length"))
        guard n <= limit else { throw .protocolViolation("\(what): \(field) is \(n) bytes (limit \(limit))") }
        let b = try raw(n, field)
        guard let s = String(validating: b, as: UTF8.self) else { throw .protocolViolation("\(what): \(field) is not valid UTF-8") }
        return s
    }
    func expectEnd() throws(MigrationError) {
        guard remaining == 0 else { throw .protocolViolation("\(what) frame has \(remaining) unexpected trailing bytes") }
    }
}
