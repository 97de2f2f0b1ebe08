import CLZ4

/// The LZ4 block format through liblz4.
enum LZ4 {
    /// Compresses `src`; nil when the result would not be smaller.
    static func compress(_ src: UnsafeRawBufferPointer) -> [UInt8]? {
        let bound = Int(LZ4_compressBound(Int32(src.count)))
        var out = [UInt8](repeating: 0, count: bound)
        let n = out.withUnsafeMutableBytes { dst in
            LZ4_compress_default(src.baseAddress?.assumingMemoryBound(to: CChar.self),
                                 dst.baseAddress!.assumingMemoryBound(to: CChar.self),
                                 Int32(src.count), Int32(bound))
        }
        guard n > 0, Int(n) < src.count else { return nil }
        out.removeSubrange(Int(n)...)
        return out
    }

    /// Decompresses `src` into exactly `dst.count` bytes; false if the data
    /// is malformed or decodes to another length.
    static func decompress(_ src: UnsafeRawBufferPointer, into dst: UnsafeMutableRawBufferPointer) -> Bool {
        guard let s = src.baseAddress, let d = dst.baseAddress else { return src.count == 0 && dst.count == 0 }
        let n = LZ4_decompress_safe(s.assumingMemoryBound(to: CChar.self), d.assumingMemoryBound(to: CChar.self),
                                    Int32(src.count), Int32(dst.count))
        return Int(n) == dst.count
    }
}
