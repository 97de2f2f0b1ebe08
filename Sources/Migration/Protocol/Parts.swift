import Capsule

/// Sending and reassembling PART frames: a part (manifest, state file,
/// input log, layer table) travels as chunks of at most
/// `WireLimits.partChunk` raw bytes, each LZ4-compressed, in order.
enum Parts {
    static func send(_ bytes: [UInt8], kind: PartKind, index: UInt32, over c: FramedConnection,
                     compress: Bool = true, progress: ((Int) -> Void)? = nil) throws(MigrationError) {
        var offset = 0
        repeat {
            let n = min(WireLimits.partChunk, bytes.count - offset)
            let (enc, payload) = compress ? bytes[offset..<(offset + n)].withUnsafeBytes { WireCompression.encode($0) }
                                          : (0, Array(bytes[offset..<(offset + n)]))
            var w = ByteWriter(capacity: PartHeader.size + payload.count)
            w.u8(kind.rawValue); w.u8(enc); w.u16(0); w.u32(index)
            w.u64(UInt64(bytes.count)); w.u64(UInt64(offset)); w.u32(UInt32(n))
            w.raw(payload)
            try c.send(.part, w.bytes, kind: FramedConnection.kind(kind))
            offset += n
            progress?(n)
        } while offset < bytes.count
    }
}

/// Collects one part's chunks, checking each against the part's limits.
struct PartAssembler {
    let kind: PartKind
    let index: UInt32
    var total: UInt64?
    var bytes: [UInt8] = []

    init(kind: PartKind, index: UInt32) { self.kind = kind; self.index = index }

    /// The header fields of a PART frame (without consuming the chunk).
    static func peek(_ f: Frame) throws(MigrationError) -> (PartKind, UInt32) {
        var r = ByteReader(f.payload, what: "PART")
        let k = try r.u8("kind")
        guard let kind = PartKind(rawValue: k) else { throw .protocolViolation("PART frame of unknown kind \(k)") }
        _ = try r.u8("encoding"); _ = try r.u16("reserved")
        return (kind, try r.u32("index"))
    }

    /// Adds a chunk; returns true when the part is complete.
    mutating func add(_ f: Frame) throws(MigrationError) -> Bool {
        var r = ByteReader(f.payload, what: "PART")
        let (kind, index) = try PartAssembler.peek(f)
        guard kind == self.kind, index == self.index else {
            throw .protocolViolation("PART chunk of \(kind) #\(index) interleaved with \(self.kind) #\(self.index)")
        }
        _ = try r.u8("kind")
        let enc = try r.u8("encoding")
        guard try r.u16("reserved") == 0 else { throw .protocolViolation("PART reserved bytes are not zero") }
        _ = try r.u32("index")
        let total = try r.u64("total"), offset = try r.u64("offset"), raw = Int(try r.u32("raw length"))
        guard total <= kind.limit else { throw .protocolViolation("\(kind) part of \(total) bytes (limit \(kind.limit))") }
        if let t = self.total, t != total { throw .protocolViolation("\(kind) part of \(total) bytes where \(t) were announced") }
        self.total = total
        guard offset == UInt64(bytes.count) else { throw .protocolViolation("\(kind) chunk at offset \(offset), expected \(bytes.count)") }
        guard raw <= WireLimits.partChunk, offset + UInt64(raw) <= total else {
            throw .protocolViolation("\(kind) chunk of \(raw) bytes at \(offset) does not fit the part's \(total) bytes")
        }
        guard raw > 0 || total == 0 else { throw .protocolViolation("empty \(kind) chunk") }
        let payload = r.rest()
        guard let data = WireCompression.decode(payload, encoding: enc, rawLength: raw) else {
            throw .protocolViolation("\(kind) chunk at offset \(offset) does not decode to \(raw) bytes")
        }
        bytes.append(contentsOf: data)
        return UInt64(bytes.count) == total
    }
}
