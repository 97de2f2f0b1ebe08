import Foundation

/// A capsule's table of contents (`manifest.json`): readable JSON, pretty
/// printed with sorted keys so two manifests diff cleanly. Everything a
/// capsule holds is reached from here by hash: the state file, the memory
/// pages (block names), the disks (sealed layer names), the input log.
/// The SHA-256 of the manifest file itself names the capsule's content;
/// a child capsule records its parent by name and that hash.
public struct Manifest: Codable, Equatable, Sendable {
    public static let currentFormatVersion = 1

    public var formatVersion: Int
    /// SHA-256 of the file with this value written as 64 zeros: any change
    /// to the file (a flipped byte, a hand edit) is detected on load.
    /// Filled in by `encoded()`.
    public var checksum: String = String(repeating: "0", count: 64)
    public var name: String
    /// ISO 8601 UTC wall-clock time of the suspend (metadata only; the
    /// machine never sees it).
    public var created: String
    /// Machine configuration (RAM size, devices, firmware…), free-form.
    public var machine: [String: String]
    public var parent: Parent?
    public var state: StatePart
    public var memory: MemoryPart
    public var disks: [DiskPart]
    public var inputLog: InputLogPart?

    public struct Parent: Codable, Equatable, Sendable {
        public var name: String
        /// SHA-256 of the parent's manifest.json.
        public var manifestHash: BlockName
        public init(name: String, manifestHash: BlockName) { self.name = name; self.manifestHash = manifestHash }
    }

    public struct StatePart: Codable, Equatable, Sendable {
        /// File name inside the capsule directory.
        public var file: String
        public var hash: BlockName
        public var size: UInt64
        public init(file: String, hash: BlockName, size: UInt64) { self.file = file; self.hash = hash; self.size = size }
    }

    /// Guest RAM as a page map: physical address (hex) → block name. Pages
    /// of zeros are omitted.
    public struct MemoryPart: Codable, Equatable, Sendable {
        public var pageSize: Int
        public var pageCount: Int
        public var pages: [UInt64: BlockName]

        public init(pageCount: Int, pages: [UInt64: BlockName] = [:]) {
            self.pageSize = BlockName.blockSize
            self.pageCount = pageCount
            self.pages = pages
        }

        enum CodingKeys: String, CodingKey { case pageSize, pageCount, pages }

        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            pageSize = try c.decode(Int.self, forKey: .pageSize)
            pageCount = try c.decode(Int.self, forKey: .pageCount)
            let raw = try c.decode([String: BlockName].self, forKey: .pages)
            var pages: [UInt64: BlockName] = [:]
            for (k, v) in raw {
                guard let address = UInt64(k, radix: 16), pageSize > 0, address % UInt64(pageSize) == 0 else {
                    throw CapsuleError.badManifest("memory page key \(String(reflecting: k)) is not a page-aligned hex address")
                }
                pages[address / UInt64(pageSize)] = v
            }
            self.pages = pages
        }

        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(pageSize, forKey: .pageSize)
            try c.encode(pageCount, forKey: .pageCount)
            let width = max(8, String(UInt64(max(pageCount, 1)) * UInt64(pageSize) - 1, radix: 16).count)
            var raw: [String: BlockName] = [:]
            for (i, n) in pages {
                let hex = String(i * UInt64(pageSize), radix: 16)
                raw[String(repeating: "0", count: max(0, width - hex.count)) + hex] = n
            }
            try c.encode(raw, forKey: .pages)
        }
    }

    public struct DiskPart: Codable, Equatable, Sendable {
        public var name: String
        /// Bytes (a multiple of 512).
        public var size: UInt64
        public var blockSize: Int
        /// Sealed layers, bottom first; each names a layer file in the store.
        public var layers: [BlockName]
        public init(name: String, size: UInt64, layers: [BlockName]) {
            self.name = name; self.size = size; self.blockSize = BlockName.blockSize; self.layers = layers
        }
    }

    /// The host input delivered to the guest since the parent capsule,
    /// stamped with instruction counts (for deterministic replay).
    public struct InputLogPart: Codable, Equatable, Sendable {
        public var file: String
        public var hash: BlockName
        public var events: Int
        public init(file: String, hash: BlockName, events: Int) { self.file = file; self.hash = hash; self.events = events }
    }

    public init(name: String, machine: [String: String] = [:], parent: Parent? = nil, state: StatePart,
                memory: MemoryPart, disks: [DiskPart] = [], inputLog: InputLogPart? = nil, created: Date = Date()) {
        self.formatVersion = Manifest.currentFormatVersion
        self.name = name
        self.created = Manifest.timestamp(created)
        self.machine = machine
        self.parent = parent
        self.state = state
        self.memory = memory
        self.disks = disks
        self.inputLog = inputLog
    }

    static func timestamp(_ d: Date) -> String {
        let f = ISO8601DateFormatter()
        f.timeZone = TimeZone(identifier: "UTC")
        return f.string(from: d)
    }

    /// The JSON form (the manifest's hash is the SHA-256 of exactly these bytes).
    public func encoded() -> [UInt8] {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        var m = self
        m.checksum = String(repeating: "0", count: 64)
        // Encoding plain strings, numbers and dictionaries cannot fail.
        var bytes = Array(try! e.encode(m)) + [0x0A]
        let sum = BlockName.of(bytes).hex
        let at = Manifest.checksumRange(bytes)!
        bytes.replaceSubrange(at, with: Array(sum.utf8))
        return bytes
    }

    /// Where the checksum's 64 hex digits are: the value of the first
    /// `"checksum"` key, which sorted keys make the first key of the file.
    static func checksumRange(_ b: [UInt8]) -> Range<Int>? {
        let key = Array("\"checksum\"".utf8)
        var i = 0
        search: while true {
            guard i + key.count <= b.count else { return nil }
            var k = 0
            while k < key.count && b[i + k] == key[k] { k += 1 }
            if k == key.count { break search }
            i += 1
        }
        i += key.count
        func skipSpace() { while i < b.count && (b[i] == 0x20 || b[i] == 0x0A || b[i] == 0x0D || b[i] == 0x09) { i += 1 } }
        skipSpace()
        guard i < b.count, b[i] == UInt8(ascii: ":") else { return nil }
        i += 1
        skipSpace()
        guard i < b.count, b[i] == UInt8(ascii: "\""), i + 65 < b.count, b[i + 65] == UInt8(ascii: "\"") else { return nil }
        return (i + 1)..<(i + 65)
    }

    /// Parses and validates a manifest: JSON shape, format version, hashes,
    /// page indexes within the page count, names.
    public static func decode(_ bytes: [UInt8]) throws -> Manifest {
        // A newer format may differ in shape: say so before anything else.
        struct VersionPeek: Decodable { var formatVersion: Int }
        if let peek = try? JSONDecoder().decode(VersionPeek.self, from: Data(bytes)), peek.formatVersion > currentFormatVersion {
            throw CapsuleError.badManifest("format version \(peek.formatVersion) is newer than this build understands (max \(currentFormatVersion))")
        }
        let m: Manifest
        do {
            m = try JSONDecoder().decode(Manifest.self, from: Data(bytes))
        } catch let e as CapsuleError {
            throw e
        } catch let DecodingError.keyNotFound(key, ctx) {
            throw CapsuleError.badManifest("missing \(path(ctx.codingPath + [key]))")
        } catch let DecodingError.typeMismatch(_, ctx), let DecodingError.valueNotFound(_, ctx) {
            throw CapsuleError.badManifest("wrong type at \(path(ctx.codingPath))")
        } catch let DecodingError.dataCorrupted(ctx) {
            throw CapsuleError.badManifest(ctx.codingPath.isEmpty ? "not valid JSON (damaged or truncated)"
                                           : "bad value at \(path(ctx.codingPath)): \(ctx.debugDescription)")
        } catch {
            throw CapsuleError.badManifest("unreadable: \(error)")
        }
        guard let at = checksumRange(bytes), String(decoding: bytes[at], as: UTF8.self) == m.checksum else {
            throw CapsuleError.badManifest("checksum missing or misplaced")
        }
        var zeroed = bytes
        zeroed.replaceSubrange(at, with: [UInt8](repeating: UInt8(ascii: "0"), count: 64))
        guard BlockName.of(zeroed).hex == m.checksum.lowercased() else {
            throw CapsuleError.badManifest("checksum mismatch (the file is damaged or was edited by hand)")
        }
        try m.validate()
        return m
    }

    static func path(_ keys: [CodingKey]) -> String {
        keys.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
    }

    public func validate() throws {
        guard formatVersion >= 1 else { throw CapsuleError.badManifest("invalid format version \(formatVersion)") }
        guard formatVersion <= Manifest.currentFormatVersion else {
            throw CapsuleError.badManifest("format version \(formatVersion) is newer than this build understands (max \(Manifest.currentFormatVersion))")
        }
        try Store.validateName(name)
        if let p = parent { try Store.validateName(p.name) }
        guard memory.pageSize == BlockName.blockSize else {
            throw CapsuleError.badManifest("memory page size \(memory.pageSize) is not \(BlockName.blockSize)")
        }
        guard memory.pageCount >= 0 else { throw CapsuleError.badManifest("negative memory page count") }
        if let bad = memory.pages.keys.first(where: { $0 >= UInt64(memory.pageCount) }) {
            throw CapsuleError.badManifest("memory page \(bad) is beyond the page count \(memory.pageCount)")
        }
        guard Manifest.isPlainFileName(state.file) else { throw CapsuleError.badManifest("state file name \(String(reflecting: state.file)) is not a plain file name") }
        if let log = inputLog, !Manifest.isPlainFileName(log.file) {
            throw CapsuleError.badManifest("input log file name \(String(reflecting: log.file)) is not a plain file name")
        }
        var seen = Set<String>()
        for d in disks {
            try Store.validateName(d.name)
            guard seen.insert(d.name).inserted else { throw CapsuleError.badManifest("disk \(d.name) listed twice") }
            guard d.blockSize == BlockName.blockSize, d.size % 512 == 0, d.size > 0 else {
                throw CapsuleError.badManifest("disk \(d.name): size \(d.size) / block size \(d.blockSize) invalid")
            }
        }
    }

    static func isPlainFileName(_ s: String) -> Bool {
        (try? Store.validateName(s)) != nil
    }
}
