/// The state file of a capsule (`state.bin`): every component's section,
/// with a table to find them, a CRC-32 per section and a SHA-256 over the
/// whole file. docs/capsule-format.md has the byte layout.
///
///     header   "CAPSTATE", u32 container version, u32 section count, u64 file length
///     table    per section: u16 tag length, tag, u32 version, u32 flags,
///              u64 offset, u64 length, u32 CRC-32 of the encoded section
///     sections each encoded as in `StateSection`
///     trailer  SHA-256 of every byte before it
public struct StateContainer: Equatable, Sendable {
    public private(set) var sections: [StateSection] = []

    public static let magic: [UInt8] = Array("CAPSTATE".utf8)
    public static let formatVersion: UInt32 = 1
    static let headerSize = 24

    public init(sections: [StateSection] = []) {
        for s in sections { add(s) }
    }

    /// Adds a section; tags are unique within a container.
    public mutating func add(_ section: StateSection) {
        precondition(!sections.contains { $0.tag == section.tag }, "duplicate state section \(section.tag)")
        sections.append(section)
    }

    /// Saves a component under `id` (default its `stateTag`).
    public mutating func save<T: Stateful>(_ component: T, id: String? = nil, optional: Bool = false) {
        add(component.stateSection(id: id, optional: optional))
    }

    public func section(_ tag: String) -> StateSection? {
        sections.first { $0.tag == tag }
    }

    public func encoded() -> [UInt8] {
        let bodies = sections.map { $0.encoded() }
        var tableSize = 0
        for s in sections { tableSize += 2 + s.tag.utf8.count + 4 + 4 + 8 + 8 + 4 }
        var out: [UInt8] = StateContainer.magic
        appendLE(&out, UInt64(StateContainer.formatVersion), 4)
        appendLE(&out, UInt64(sections.count), 4)
        let total = StateContainer.headerSize + tableSize + bodies.reduce(0) { $0 + $1.count } + 32
        appendLE(&out, UInt64(total), 8)
        var offset = StateContainer.headerSize + tableSize
        for (s, body) in zip(sections, bodies) {
            let t = Array(s.tag.utf8)
            appendLE(&out, UInt64(t.count), 2)
            out += t
            appendLE(&out, UInt64(s.version), 4)
            appendLE(&out, s.optional ? 1 : 0, 4)
            appendLE(&out, UInt64(offset), 8)
            appendLE(&out, UInt64(body.count), 8)
            appendLE(&out, UInt64(body.withUnsafeBytes { CRC32.checksum($0) }), 4)
            offset += body.count
        }
        for b in bodies { out += b }
        out += BlockName.of(out).bytes
        assert(out.count == total)
        return out
    }

    /// Parses and checks a state file. Damage inside one section's bytes is
    /// reported by the section's name; damage elsewhere as damage to the
    /// header or table.
    public static func decode(_ bytes: [UInt8]) throws -> StateContainer {
        guard bytes.count >= headerSize + 32 else {
            throw CapsuleError.corruptState("truncated: \(bytes.count) bytes is shorter than a header")
        }
        guard Array(bytes[0..<8]) == magic else { throw CapsuleError.corruptState("bad magic (not a state file)") }
        let version = UInt32(readLE(bytes, 8, 4))
        guard version <= formatVersion else {
            throw CapsuleError.corruptState("container format version \(version) is newer than this build understands (max \(formatVersion))")
        }
        let count = Int(readLE(bytes, 12, 4))
        let total = readLE(bytes, 16, 8)
        guard total == UInt64(bytes.count) else {
            throw CapsuleError.corruptState(total > UInt64(bytes.count)
                ? "truncated: \(bytes.count) bytes where the header says \(total)"
                : "\(bytes.count) bytes where the header says \(total) (extra data)")
        }
        let end = bytes.count - 32
        struct Entry { var tag: String; var version: Int; var optional: Bool; var offset: Int; var length: Int; var crc: UInt32 }
        var entries: [Entry] = []
        var p = headerSize
        for i in 0..<count {
            guard end - p >= 2 else { throw CapsuleError.corruptState("section table truncated at entry \(i)") }
            let tl = Int(readLE(bytes, p, 2)); p += 2
            guard end - p >= tl + 28 else { throw CapsuleError.corruptState("section table truncated at entry \(i)") }
            guard let tag = String(validating: bytes[p..<(p + tl)], as: UTF8.self), StateSection.isValidTag(tag) else {
                throw CapsuleError.corruptState("section table entry \(i) has an invalid tag (table damaged)")
            }
            p += tl
            let e = Entry(tag: tag, version: Int(readLE(bytes, p, 4)), optional: readLE(bytes, p + 4, 4) & 1 != 0,
                          offset: Int(clamping: readLE(bytes, p + 8, 8)), length: Int(clamping: readLE(bytes, p + 16, 8)),
                          crc: UInt32(readLE(bytes, p + 24, 4)))
            p += 28
            guard !entries.contains(where: { $0.tag == tag }) else {
                throw CapsuleError.corruptState("section '\(tag)' appears twice in the table")
            }
            entries.append(e)
        }
        var container = StateContainer()
        for e in entries {
            guard e.offset >= p, e.length <= end - e.offset else {
                throw CapsuleError.corruptState("section '\(e.tag)' lies outside the file (table damaged or file truncated)")
            }
            let crc = bytes.withUnsafeBytes { CRC32.checksum(UnsafeRawBufferPointer(rebasing: $0[e.offset..<(e.offset + e.length)])) }
            guard crc == e.crc else {
                throw CapsuleError.corruptState("section '\(e.tag)' is damaged (CRC-32 mismatch)")
            }
            var o = e.offset
            let s = try StateSection.decode(bytes, offset: &o, end: e.offset + e.length, path: "")
            guard o == e.offset + e.length, s.tag == e.tag, s.version == e.version, s.optional == e.optional else {
                throw CapsuleError.corruptState("section '\(e.tag)' does not match its table entry")
            }
            container.sections.append(s)
        }
        guard BlockName.of(Array(bytes[0..<end])) == BlockName(digest: bytes.withUnsafeBytes { $0.baseAddress! + end }) else {
            throw CapsuleError.corruptState("checksum mismatch: the header or section table is damaged")
        }
        return container
    }

    /// A restore session over this container (see `StateRestore`).
    public func restorer() -> StateRestore { StateRestore(self) }
}

/// Restores components from a container, and at the end checks that no
/// required section was left unread: a capsule from a newer build whose
/// extra state this build does not know fails with a message naming the
/// section, while unknown optional sections are skipped.
public final class StateRestore {
    public let container: StateContainer
    public private(set) var consumed = Set<String>()

    public init(_ container: StateContainer) { self.container = container }

    func take(_ id: String) throws -> StateSection {
        guard let s = container.section(id) else {
            throw CapsuleError.sectionVersion("section \(id) is missing from the capsule's state")
        }
        consumed.insert(id)
        return s
    }

    /// Restores a required section into a value-type component.
    public func restore<T: Stateful>(_ component: inout T, id: String? = nil) throws {
        try component.restore(from: try take(id ?? T.stateTag))
    }

    /// Restores a required section into a class component.
    public func restore<T: Stateful & AnyObject>(_ component: T, id: String? = nil) throws {
        var c = component
        try c.restore(from: try take(id ?? T.stateTag))
    }

    /// Restores the section if present; false (component untouched) if not.
    @discardableResult
    public func restoreIfPresent<T: Stateful & AnyObject>(_ component: T, id: String? = nil) throws -> Bool {
        let tag = id ?? T.stateTag
        guard container.section(tag) != nil else { return false }
        try restore(component, id: tag)
        return true
    }

    /// The raw section, marked as consumed (for state read without `Stateful`).
    public func section(_ id: String) throws -> StateSection { try take(id) }

    /// Fails on any required section nobody restored.
    public func finish() throws {
        for s in container.sections where !consumed.contains(s.tag) && !s.optional {
            throw CapsuleError.sectionVersion("unknown required section \(s.tag) (version \(s.version)): this build cannot restore it")
        }
    }
}
