/// A set of guest RAM page frames (4 KiB pages, frame = address >> 12) as
/// a bitmap: constant-time membership, compact state tables.
public struct GuestPageSet: Equatable {
    public let pageCount: Int
    private(set) var words: [UInt64]
    public private(set) var count = 0

    public init(pageCount: Int) {
        self.pageCount = pageCount
        words = [UInt64](repeating: 0, count: (pageCount + 63) / 64)
    }

    public func contains(_ page: UInt32) -> Bool {
        Int(page) < pageCount && words[Int(page) >> 6] & (1 << UInt64(page & 63)) != 0
    }

    /// Adds `page`; returns false if it was already there or is out of range.
    @discardableResult
    public mutating func insert(_ page: UInt32) -> Bool {
        guard Int(page) < pageCount, !contains(page) else { return false }
        words[Int(page) >> 6] |= 1 << UInt64(page & 63)
        count += 1
        return true
    }

    @discardableResult
    public mutating func remove(_ page: UInt32) -> Bool {
        guard contains(page) else { return false }
        words[Int(page) >> 6] &= ~(1 << UInt64(page & 63))
        count -= 1
        return true
    }

    public mutating func removeAll() {
        for i in words.indices { words[i] = 0 }
        count = 0
    }

    /// The frames in ascending order.
    public var pages: [UInt32] {
        var out: [UInt32] = []
        out.reserveCapacity(count)
        for (i, w) in words.enumerated() where w != 0 {
            var bits = w
            while bits != 0 {
                let b = bits.trailingZeroBitCount
                out.append(UInt32(i * 64 + b))
                bits &= bits - 1
            }
        }
        return out
    }

    /// Non-zero bitmap words under `prefix` + word index.
    func save(_ prefix: String, into s: inout [String: UInt64]) {
        for (i, w) in words.enumerated() where w != 0 { s["\(prefix)\(i)"] = w }
    }

    mutating func restore(_ prefix: String, from s: [String: UInt64]) {
        removeAll()
        for i in words.indices {
            var w = s["\(prefix)\(i)"] ?? 0
            // Frames past the end of RAM cannot be in the set.
            let valid = min(64, pageCount - i * 64)
            if valid < 64 { w &= (1 << UInt64(valid)) - 1 }
            words[i] = w
            count += w.nonzeroBitCount
        }
    }
}
