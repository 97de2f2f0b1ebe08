/// One typed, versioned piece of machine state: a component's values
/// (`payload`, written by `StateWriter`) and optional named sub-sections
/// that a later build may add without breaking older readers.
///
/// Encoding (little-endian; recursive, so a section is self-delimiting):
///
///     u16   tag length (1…255), tag (UTF-8)
///     u32   version (≥ 1)
///     u32   flags: bit 0 = optional (a reader that does not know the tag may skip it)
///     u64   payload length, payload
///     u32   sub-section count, then each sub-section encoded the same way
public struct StateSection: Equatable, Sendable {
    public var tag: String
    public var version: Int
    public var optional: Bool
    public var payload: [UInt8]
    public var subsections: [StateSection]

    public init(tag: String, version: Int, optional: Bool = false, payload: [UInt8] = [], subsections: [StateSection] = []) {
        precondition(StateSection.isValidTag(tag), "state section tag must be 1…255 UTF-8 bytes without control characters: \(tag)")
        precondition(version >= 1 && version <= Int(UInt32.max), "state section version must be ≥ 1")
        self.tag = tag
        self.version = version
        self.optional = optional
        self.payload = payload
        self.subsections = subsections
    }

    public static func isValidTag(_ tag: String) -> Bool {
        let n = tag.utf8.count
        return n >= 1 && n <= 255 && !tag.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F }
    }

    /// Fails, naming this section, when its version is outside what the
    /// reader accepts (docs/capsule-format.md, "Sections and versions").
    public func checkVersion(max: Int, min: Int = 1) throws {
        guard version <= max else {
            throw CapsuleError.sectionVersion("section \(tag) version \(version) is newer than this build understands (max \(max))")
        }
        guard version >= min else {
            throw CapsuleError.sectionVersion("section \(tag) version \(version) is older than this build can read (min \(min))")
        }
    }

    public func subsection(_ tag: String) -> StateSection? {
        subsections.first { $0.tag == tag }
    }

    /// Payload bytes of this section and all its sub-sections.
    public var totalPayloadBytes: Int {
        payload.count + subsections.reduce(0) { $0 + $1.totalPayloadBytes }
    }

    public func encoded() -> [UInt8] {
        var out: [UInt8] = []
        encode(into: &out)
        return out
    }

    func encode(into out: inout [UInt8]) {
        let t = Array(tag.utf8)
        appendLE(&out, UInt64(t.count), 2)
        out += t
        appendLE(&out, UInt64(version), 4)
        appendLE(&out, optional ? 1 : 0, 4)
        appendLE(&out, UInt64(payload.count), 8)
        out += payload
        appendLE(&out, UInt64(subsections.count), 4)
        for s in subsections { s.encode(into: &out) }
    }

    /// Decodes one section starting at `offset`, advancing it. `path` names
    /// the enclosing sections for error messages.
    static func decode(_ bytes: [UInt8], offset: inout Int, end: Int, path: String, depth: Int = 0) throws -> StateSection {
        func need(_ n: Int, _ what: String) throws {
            guard n >= 0, end - offset >= n else {
                throw CapsuleError.corruptState("\(path): truncated while reading \(what)")
            }
        }
        guard depth < 32 else { throw CapsuleError.corruptState("\(path): sub-sections nested too deeply") }
        try need(2, "a section tag length")
        let tagLength = Int(readLE(bytes, offset, 2)); offset += 2
        try need(tagLength, "a section tag")
        guard let tag = String(validating: bytes[offset..<(offset + tagLength)], as: UTF8.self), isValidTag(tag) else {
            throw CapsuleError.corruptState("\(path): invalid section tag")
        }
        offset += tagLength
        let here = path.isEmpty ? "section '\(tag)'" : "\(path) / sub-section '\(tag)'"
        try need(16, "the header of \(here)")
        let version = Int(readLE(bytes, offset, 4))
        let flags = readLE(bytes, offset + 4, 4)
        let payloadLength = readLE(bytes, offset + 8, 8)
        offset += 16
        guard version >= 1 else { throw CapsuleError.corruptState("\(here): version 0 is invalid") }
        guard payloadLength <= UInt64(end - offset) else {
            throw CapsuleError.corruptState("\(here): truncated (payload of \(payloadLength) bytes does not fit)")
        }
        let payload = Array(bytes[offset..<(offset + Int(payloadLength))])
        offset += Int(payloadLength)
        try need(4, "the sub-section count of \(here)")
        let count = Int(readLE(bytes, offset, 4)); offset += 4
        var subs: [StateSection] = []
        for _ in 0..<count {
            subs.append(try decode(bytes, offset: &offset, end: end, path: here, depth: depth + 1))
        }
        return StateSection(tag: tag, version: version, optional: flags & 1 != 0, payload: payload, subsections: subs)
    }
}

@inline(__always) func appendLE(_ out: inout [UInt8], _ v: UInt64, _ n: Int) {
    for i in 0..<n { out.append(UInt8(truncatingIfNeeded: v >> (8 * UInt64(i)))) }
}

@inline(__always) func readLE(_ a: [UInt8], _ o: Int, _ n: Int) -> UInt64 {
    var v: UInt64 = 0
    for i in 0..<n { v |= UInt64(a[o + i]) << (8 * UInt64(i)) }
    return v
}
