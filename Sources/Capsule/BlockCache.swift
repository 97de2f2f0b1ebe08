/// Recently read blocks of sealed layers, decompressed and verified, keyed
/// by name (so identical blocks at several indexes are cached once).
/// Fixed capacity, second-chance (clock) eviction, one allocation.
final class BlockCache {
    let capacity: Int
    let storage: UnsafeMutableRawPointer
    var slotOf: [BlockName: Int] = [:]
    var owner: [BlockName?]
    var referenced: [Bool]
    var hand = 0
    var used = 0
    private(set) var hits = 0
    private(set) var misses = 0

    init(capacity: Int) {
        self.capacity = max(capacity, 1)
        storage = UnsafeMutableRawPointer.allocate(byteCount: self.capacity * BlockName.blockSize, alignment: 4096)
        owner = [BlockName?](repeating: nil, count: self.capacity)
        referenced = [Bool](repeating: false, count: self.capacity)
    }

    deinit { storage.deallocate() }

    /// The cached block, or nil.
    @inline(__always)
    func lookup(_ name: BlockName) -> UnsafeRawPointer? {
        guard let s = slotOf[name] else { misses += 1; return nil }
        hits += 1
        referenced[s] = true
        return UnsafeRawPointer(storage + s * BlockName.blockSize)
    }

    /// A slot for `name`, to be filled by the caller (evicting another
    /// block if full). If filling fails, call `drop`.
    func insert(_ name: BlockName) -> UnsafeMutableRawBufferPointer {
        let s: Int
        if used < capacity {
            s = used
            used += 1
        } else {
            while referenced[hand] {
                referenced[hand] = false
                hand = (hand + 1) % capacity
            }
            s = hand
            hand = (hand + 1) % capacity
            if let old = owner[s] { slotOf[old] = nil }
        }
        owner[s] = name
        referenced[s] = false
        slotOf[name] = s
        return UnsafeMutableRawBufferPointer(start: storage + s * BlockName.blockSize, count: BlockName.blockSize)
    }

    func drop(_ name: BlockName) {
        if let s = slotOf.removeValue(forKey: name) { owner[s] = nil; referenced[s] = false }
    }

    func removeAll() {
        slotOf.removeAll()
        for i in 0..<capacity { owner[i] = nil; referenced[i] = false }
        used = 0
        hand = 0
    }
}
