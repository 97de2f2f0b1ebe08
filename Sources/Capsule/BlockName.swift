import COpenSSL

/// The name of a block: the SHA-256 of its uncompressed bytes. Two blocks
/// with the same content have the same name everywhere, which is what lets
/// capsules share blocks in a store and lets migration skip blocks the
/// receiver already holds.
///
/// Kept as four words so that hashing and comparing names in the disk and
/// memory maps is cheap; the text form is 64 lowercase hex digits.
public struct BlockName: Hashable, Comparable, Sendable, CustomStringConvertible, Codable {
    public var w0: UInt64, w1: UInt64, w2: UInt64, w3: UInt64

    public init(w0: UInt64, w1: UInt64, w2: UInt64, w3: UInt64) {
        self.w0 = w0; self.w1 = w1; self.w2 = w2; self.w3 = w3
    }

    /// From the 32 digest bytes (big-endian words, so the hex form reads as
    /// the digest does).
    public init(digest p: UnsafeRawPointer) {
        w0 = UInt64(bigEndian: p.loadUnaligned(fromByteOffset: 0, as: UInt64.self))
        w1 = UInt64(bigEndian: p.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
        w2 = UInt64(bigEndian: p.loadUnaligned(fromByteOffset: 16, as: UInt64.self))
        w3 = UInt64(bigEndian: p.loadUnaligned(fromByteOffset: 24, as: UInt64.self))
    }

    /// The 32 digest bytes.
    public var bytes: [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        store(to: &out, at: 0)
        return out
    }

    /// Writes the 32 digest bytes at `offset` of `out`.
    public func store(to out: inout [UInt8], at offset: Int) {
        for (i, w) in [w0, w1, w2, w3].enumerated() {
            for b in 0..<8 { out[offset + i * 8 + b] = UInt8(truncatingIfNeeded: w >> (56 - 8 * UInt64(b))) }
        }
    }

    /// Parses 64 hex digits (either case); nil for anything else.
    public init?(hex: String) {
        let u = Array(hex.utf8)
        guard u.count == 64 else { return nil }
        var words: [UInt64] = [0, 0, 0, 0]
        for (i, c) in u.enumerated() {
            let v: UInt8
            switch c {
            case 0x30...0x39: v = c - 0x30
            case 0x61...0x66: v = c - 0x61 + 10
            case 0x41...0x46: v = c - 0x41 + 10
            default: return nil
            }
            words[i / 16] = words[i / 16] << 4 | UInt64(v)
        }
        self.init(w0: words[0], w1: words[1], w2: words[2], w3: words[3])
    }

    public var hex: String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8](repeating: 0, count: 64)
        for (i, w) in [w0, w1, w2, w3].enumerated() {
            for d in 0..<16 { out[i * 16 + d] = digits[Int((w >> (60 - 4 * UInt64(d))) & 0xF)] }
        }
        return String(decoding: out, as: UTF8.self)
    }

    public var description: String { hex }

    public static func < (a: BlockName, b: BlockName) -> Bool {
        (a.w0, a.w1, a.w2, a.w3) < (b.w0, b.w1, b.w2, b.w3)
    }

    public init(from decoder: Decoder) throws {
        let s = try decoder.singleValueContainer().decode(String.self)
        guard let n = BlockName(hex: s) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not a SHA-256 hex name: \(s)"))
        }
        self = n
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(hex)
    }

    /// The size of every memory page and disk block.
    public static let blockSize = 4096

    /// The name of the 4 KiB block of zeros. It is never stored: reads of it
    /// produce zeros, and maps may omit it.
    public static let zero: BlockName = {
        let z = [UInt8](repeating: 0, count: blockSize)
        return z.withUnsafeBytes { SHA256.hash($0) }
    }()

    /// SHA-256 of `bytes`.
    public static func of(_ bytes: [UInt8]) -> BlockName {
        bytes.withUnsafeBytes { SHA256.hash($0) }
    }
}

/// SHA-256 through OpenSSL's EVP interface (which uses the SHA extensions
/// or AVX2 when the host has them). The algorithm object is fetched once.
public enum SHA256 {
    nonisolated(unsafe) static let md: OpaquePointer = {
        guard let m = EVP_MD_fetch(nil, "SHA256", nil) else { fatalError("OpenSSL has no SHA256") }
        return m
    }()

    public static func hash(_ data: UnsafeRawBufferPointer) -> BlockName {
        var digest = (UInt64(0), UInt64(0), UInt64(0), UInt64(0))
        return withUnsafeMutableBytes(of: &digest) { d in
            var len: UInt32 = 0
            let ok = EVP_Digest(data.baseAddress, data.count, d.baseAddress!.assumingMemoryBound(to: UInt8.self), &len, md, nil)
            precondition(ok == 1 && len == 32, "EVP_Digest failed")
            return BlockName(digest: d.baseAddress!)
        }
    }

    /// An incremental hash (for files too large to hold at once).
    public final class Hasher {
        let ctx: OpaquePointer
        public init() {
            ctx = EVP_MD_CTX_new()
            precondition(EVP_DigestInit_ex2(ctx, SHA256.md, nil) == 1)
        }
        deinit { EVP_MD_CTX_free(ctx) }
        public func update(_ data: UnsafeRawBufferPointer) {
            precondition(EVP_DigestUpdate(ctx, data.baseAddress, data.count) == 1)
        }
        public func update(_ data: [UInt8]) { data.withUnsafeBytes { update($0) } }
        public func finish() -> BlockName {
            var digest = (UInt64(0), UInt64(0), UInt64(0), UInt64(0))
            return withUnsafeMutableBytes(of: &digest) { d in
                var len: UInt32 = 0
                precondition(EVP_DigestFinal_ex(ctx, d.baseAddress!.assumingMemoryBound(to: UInt8.self), &len) == 1)
                return BlockName(digest: d.baseAddress!)
            }
        }
    }
}

/// True when every byte is zero (word at a time).
@inline(__always)
func isAllZero(_ p: UnsafeRawBufferPointer) -> Bool {
    guard let base = p.baseAddress else { return true }
    let words = p.count / 8
    var acc: UInt64 = 0
    var i = 0
    while i < words {
        acc |= base.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self)
        if i & 63 == 63 && acc != 0 { return false }
        i += 1
    }
    for j in (words * 8)..<p.count { acc |= UInt64(base.load(fromByteOffset: j, as: UInt8.self)) }
    return acc == 0
}
