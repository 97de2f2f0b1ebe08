import CLZ4

/// LZ4 (block format) for what travels: every block and part chunk is
/// compressed unless that would not make it smaller.
enum WireCompression {
    /// (encoding, payload): 1 and the LZ4 bytes, or 0 and the raw bytes.
    static func encode(_ src: UnsafeRawBufferPointer) -> (UInt8, [UInt8]) {
        let bound = Int(LZ4_compressBound(Int32(src.count)))
        var out = [UInt8](repeating: 0, count: bound)
        let n = out.withUnsafeMutableBytes { dst in
            LZ4_compress_default(src.baseAddress?.assumingMemoryBound(to: CChar.self),
                                 dst.baseAddress!.assumingMemoryBound(to: CChar.self), Int32(src.count), Int32(bound))
        }
        if n > 0 && Int(n) < src.count {
            out.removeSubrange(Int(n)...)
            return (1, out)
        }
        return (0, [UInt8](src))
    }

    static func encode(_ src: [UInt8]) -> (UInt8, [UInt8]) { src.withUnsafeBytes { encode($0) } }

    /// Decodes a payload to exactly `rawLength` bytes; nil when it is
    /// malformed, decodes to another length, or the encoding is unknown.
    static func decode(_ payload: ArraySlice<UInt8>, encoding: UInt8, rawLength: Int) -> [UInt8]? {
        switch encoding {
        case 0:
            return payload.count == rawLength ? Array(payload) : nil
        case 1:
            guard rawLength > 0, payload.count <= WireLimits.maxCompressed(rawLength) else { return nil }
            var out = [UInt8](repeating: 0, count: rawLength)
            let n = payload.withUnsafeBytes { s in
                out.withUnsafeMutableBytes { d in
                    LZ4_decompress_safe(s.baseAddress?.assumingMemoryBound(to: CChar.self), d.baseAddress!.assumingMemoryBound(to: CChar.self),
                                        Int32(s.count), Int32(rawLength))
                }
            }
            return Int(n) == rawLength ? out : nil
        default:
            return nil
        }
    }
}
