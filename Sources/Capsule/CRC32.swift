/// CRC-32 (the IEEE 802.3 polynomial, reflected, as in zlib and PNG), used
/// for the per-section checks in state.bin and the records of a disk's
/// write journal: cheap, and enough to detect a damaged or torn record.
enum CRC32 {
    static let table: [UInt32] = (0..<256).map { i -> UInt32 in
        var c = UInt32(i)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    static func checksum(_ data: UnsafeRawBufferPointer, seed: UInt32 = 0) -> UInt32 {
        var c = ~seed
        table.withUnsafeBufferPointer { t in
            for b in data { c = t[Int((c ^ UInt32(b)) & 0xFF)] ^ (c >> 8) }
        }
        return ~c
    }

    static func checksum(_ data: ArraySlice<UInt8>) -> UInt32 {
        data.withUnsafeBytes { checksum($0) }
    }
}
