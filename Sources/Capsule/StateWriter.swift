import Foundation

/// Writes a component's state as typed little-endian values. Each value is
/// preceded by a one-byte type code, so a reader that expects another type
/// (a component whose layout changed without a version bump) fails with a
/// message instead of loading a silently wrong machine.
public struct StateWriter {
    public private(set) var payload: [UInt8] = []
    public private(set) var subsections: [StateSection] = []

    public init() {}

    /// The one-byte codes in front of each value.
    public enum Kind: UInt8, CustomStringConvertible {
        case u8 = 1, u16, u32, u64, i8, i16, i32, i64, bool, f64, bytes, string, u16s, u32s, u64s, dictionary

        public var description: String {
            switch self {
            case .u8: "u8"; case .u16: "u16"; case .u32: "u32"; case .u64: "u64"
            case .i8: "i8"; case .i16: "i16"; case .i32: "i32"; case .i64: "i64"
            case .bool: "bool"; case .f64: "f64"; case .bytes: "bytes"; case .string: "string"
            case .u16s: "[u16]"; case .u32s: "[u32]"; case .u64s: "[u64]"; case .dictionary: "[String: u64]"
            }
        }
    }

    @inline(__always) mutating func put(_ kind: Kind, _ v: UInt64, _ n: Int) {
        payload.append(kind.rawValue)
        appendLE(&payload, v, n)
    }

    public mutating func write(_ v: UInt8) { put(.u8, UInt64(v), 1) }
    public mutating func write(_ v: UInt16) { put(.u16, UInt64(v), 2) }
    public mutating func write(_ v: UInt32) { put(.u32, UInt64(v), 4) }
    public mutating func write(_ v: UInt64) { put(.u64, v, 8) }
    public mutating func write(_ v: Int8) { put(.i8, UInt64(UInt8(bitPattern: v)), 1) }
    public mutating func write(_ v: Int16) { put(.i16, UInt64(UInt16(bitPattern: v)), 2) }
    public mutating func write(_ v: Int32) { put(.i32, UInt64(UInt32(bitPattern: v)), 4) }
    public mutating func write(_ v: Int64) { put(.i64, UInt64(bitPattern: v), 8) }
    /// Int is written as i64 (the same on every host).
    public mutating func write(_ v: Int) { write(Int64(v)) }
    public mutating func write(_ v: Bool) { put(.bool, v ? 1 : 0, 1) }
    /// Bit pattern, so NaN payloads survive.
    public mutating func write(_ v: Double) { put(.f64, v.bitPattern, 8) }

    public mutating func write(bytes: [UInt8]) {
        put(.bytes, UInt64(bytes.count), 8)
        payload += bytes
    }

    public mutating func write(bytes: UnsafeRawBufferPointer) {
        put(.bytes, UInt64(bytes.count), 8)
        payload.append(contentsOf: bytes)
    }

    public mutating func write(_ s: String) {
        let u = Array(s.utf8)
        put(.string, UInt64(u.count), 8)
        payload += u
    }

    public mutating func write(_ a: [UInt16]) {
        put(.u16s, UInt64(a.count), 8)
        for v in a { appendLE(&payload, UInt64(v), 2) }
    }

    public mutating func write(_ a: [UInt32]) {
        put(.u32s, UInt64(a.count), 8)
        for v in a { appendLE(&payload, UInt64(v), 4) }
    }

    public mutating func write(_ a: [UInt64]) {
        put(.u64s, UInt64(a.count), 8)
        for v in a { appendLE(&payload, v, 8) }
    }

    /// A name → value table (sorted by name): the shape the devices'
    /// `saveState() -> [String: UInt64]` use today.
    public mutating func write(_ d: [String: UInt64]) {
        put(.dictionary, UInt64(d.count), 8)
        for (k, v) in d.sorted(by: { $0.key < $1.key }) {
            let u = Array(k.utf8)
            appendLE(&payload, UInt64(u.count), 2)
            payload += u
            appendLE(&payload, v, 8)
        }
    }

    /// A Codable value as sorted-key JSON in a string (for state structs
    /// such as `IdeControllerState` until they write typed values).
    public mutating func write<T: Encodable>(json value: T) throws {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        write(String(decoding: try e.encode(value), as: UTF8.self))
    }

    /// Adds a sub-section written by `body`. Mark it `optional` when older
    /// builds may ignore it (state that did not exist before and whose
    /// absence they can live with); a required sub-section that a reader
    /// does not know makes the load fail.
    public mutating func subsection(_ tag: String, version: Int = 1, optional: Bool = false, _ body: (inout StateWriter) -> Void) {
        precondition(!subsections.contains { $0.tag == tag }, "duplicate sub-section \(tag)")
        var w = StateWriter()
        body(&w)
        subsections.append(w.section(tag: tag, version: version, optional: optional))
    }

    /// The finished section.
    public func section(tag: String, version: Int, optional: Bool = false) -> StateSection {
        StateSection(tag: tag, version: version, optional: optional, payload: payload, subsections: subsections)
    }
}
