import Foundation

/// Reads the values a `StateWriter` wrote, in the same order and types.
/// Every failure names the section (and sub-section path), the offset and
/// what was expected.
public struct StateReader {
    public let section: StateSection
    /// The section path for messages: "section 'cpu' / sub-section 'fpu'".
    public let path: String
    public private(set) var offset = 0
    var consumedSubsections = Set<String>()

    public init(_ section: StateSection, path: String? = nil) {
        self.section = section
        self.path = path ?? "section '\(section.tag)'"
    }

    public var version: Int { section.version }
    public var remaining: Int { section.payload.count - offset }
    public var isAtEnd: Bool { offset == section.payload.count }

    func fail(_ why: String) -> CapsuleError {
        .badSection("\(path) version \(section.version): \(why)")
    }

    @inline(__always) mutating func take(_ kind: StateWriter.Kind, _ n: Int) throws -> UInt64 {
        let p = section.payload
        guard offset < p.count else { throw fail("expected \(kind) at offset \(offset), found the end of the section") }
        guard p[offset] == kind.rawValue else {
            let found = StateWriter.Kind(rawValue: p[offset]).map { "\($0)" } ?? "unknown type code \(p[offset])"
            throw fail("expected \(kind) at offset \(offset), found \(found)")
        }
        guard p.count - offset - 1 >= n else { throw fail("truncated \(kind) at offset \(offset)") }
        let v = readLE(p, offset + 1, n)
        offset += 1 + n
        return v
    }

    public mutating func readU8() throws -> UInt8 { UInt8(try take(.u8, 1)) }
    public mutating func readU16() throws -> UInt16 { UInt16(try take(.u16, 2)) }
    public mutating func readU32() throws -> UInt32 { UInt32(try take(.u32, 4)) }
    public mutating func readU64() throws -> UInt64 { try take(.u64, 8) }
    public mutating func readI8() throws -> Int8 { Int8(bitPattern: UInt8(try take(.i8, 1))) }
    public mutating func readI16() throws -> Int16 { Int16(bitPattern: UInt16(try take(.i16, 2))) }
    public mutating func readI32() throws -> Int32 { Int32(bitPattern: UInt32(try take(.i32, 4))) }
    public mutating func readI64() throws -> Int64 { Int64(bitPattern: try take(.i64, 8)) }
    public mutating func readInt() throws -> Int { Int(try readI64()) }
    public mutating func readDouble() throws -> Double { Double(bitPattern: try take(.f64, 8)) }

    public mutating func readBool() throws -> Bool {
        let at = offset
        switch try take(.bool, 1) {
        case 0: return false
        case 1: return true
        case let v: throw fail("bool at offset \(at) has value \(v)")
        }
    }

    mutating func count(_ kind: StateWriter.Kind, elementSize: Int) throws -> Int {
        let at = offset
        let n = try take(kind, 8)
        guard n <= UInt64(remaining / max(elementSize, 1)) else {
            throw fail("\(kind) at offset \(at) claims \(n) elements, more than the section holds")
        }
        return Int(n)
    }

    public mutating func readBytes() throws -> [UInt8] {
        let n = try count(.bytes, elementSize: 1)
        defer { offset += n }
        return Array(section.payload[offset..<(offset + n)])
    }

    /// Reads a byte string that must be exactly `into.count` long.
    public mutating func readBytes(into buffer: UnsafeMutableRawBufferPointer) throws {
        let at = offset
        let n = try count(.bytes, elementSize: 1)
        guard n == buffer.count else {
            throw fail("bytes at offset \(at) are \(n) long where \(buffer.count) were expected")
        }
        section.payload.withUnsafeBytes { p in
            buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: p[offset..<(offset + n)]))
        }
        offset += n
    }

    public mutating func readString() throws -> String {
        let at = offset
        let n = try count(.string, elementSize: 1)
        defer { offset += n }
        guard let s = String(validating: section.payload[offset..<(offset + n)], as: UTF8.self) else {
            throw fail("string at offset \(at) is not valid UTF-8")
        }
        return s
    }

    public mutating func readU16Array() throws -> [UInt16] {
        let n = try count(.u16s, elementSize: 2)
        defer { offset += 2 * n }
        return (0..<n).map { UInt16(readLE(section.payload, offset + 2 * $0, 2)) }
    }

    public mutating func readU32Array() throws -> [UInt32] {
        let n = try count(.u32s, elementSize: 4)
        defer { offset += 4 * n }
        return (0..<n).map { UInt32(readLE(section.payload, offset + 4 * $0, 4)) }
    }

    public mutating func readU64Array() throws -> [UInt64] {
        let n = try count(.u64s, elementSize: 8)
        defer { offset += 8 * n }
        return (0..<n).map { readLE(section.payload, offset + 8 * $0, 8) }
    }

    public mutating func readDictionary() throws -> [String: UInt64] {
        let at = offset
        let n = try count(.dictionary, elementSize: 10)
        var out: [String: UInt64] = [:]
        let p = section.payload
        for _ in 0..<n {
            guard p.count - offset >= 2 else { throw fail("dictionary at offset \(at) is truncated") }
            let kl = Int(readLE(p, offset, 2))
            guard p.count - offset - 2 >= kl + 8, let k = String(validating: p[(offset + 2)..<(offset + 2 + kl)], as: UTF8.self) else {
                throw fail("dictionary at offset \(at) is truncated or has a key that is not UTF-8")
            }
            out[k] = readLE(p, offset + 2 + kl, 8)
            offset += 2 + kl + 8
        }
        return out
    }

    /// A value written by `write(json:)`.
    public mutating func readJSON<T: Decodable>(_ type: T.Type) throws -> T {
        let at = offset
        let s = try readString()
        do { return try JSONDecoder().decode(T.self, from: Data(s.utf8)) } catch {
            throw fail("JSON value at offset \(at) does not decode as \(T.self): \(error)")
        }
    }

    /// A sub-section's reader, or nil when the section has none by that tag
    /// (state written before it existed: the component keeps its defaults).
    /// Fails when the sub-section's version is newer than `maxVersion`.
    public mutating func subsection(_ tag: String, maxVersion: Int = 1) throws -> StateReader? {
        guard let s = section.subsection(tag) else { return nil }
        consumedSubsections.insert(tag)
        let subPath = "\(path) / sub-section '\(tag)'"
        guard s.version <= maxVersion else {
            throw CapsuleError.sectionVersion("\(subPath) version \(s.version) is newer than this build understands (max \(maxVersion))")
        }
        return StateReader(s, path: subPath)
    }

    /// Checks that the component read the whole payload and every required
    /// sub-section; unknown optional sub-sections are skipped.
    public func finish() throws {
        guard isAtEnd else {
            throw fail("\(remaining) bytes left unread at offset \(offset) (the layout differs from what this build expects)")
        }
        for s in section.subsections where !consumedSubsections.contains(s.tag) && !s.optional {
            throw CapsuleError.sectionVersion("\(path): unknown required sub-section '\(s.tag)' (version \(s.version)); this build cannot restore it")
        }
    }
}
