import Capsule

/// The blocks a capsule offers, in the order both peers derive from the
/// manifest and the disk layers: memory pages by ascending address, then
/// each disk's layers bottom first, entries by block index; each name
/// once (first occurrence decides its kind), zero blocks never. Without
/// hashing (an experiment, OFFER flag 2) every position is offered, so a
/// block that occurs twice travels twice. Because
/// both sides compute the same list, the receiver's answer is a bitmap
/// over it (1 bit per offered name) instead of a list of 32-byte names;
/// the SHA-256 of the list, sent back with the bitmap, proves the two
/// lists are the same.
struct BlockOffer {
    var names: [BlockName] = []
    var kinds: [TrafficKind] = []
    /// Index of the layer (in `layerNames`) whose entry put the name in the
    /// list; -1 for memory pages.
    var layerOf: [Int32] = []
    var digest = BlockName.zero
    /// Zero pages and zero layer entries: never sent.
    var zeroBlocks = 0
    /// Of the zero memory pages, those the guest's balloon held when the
    /// capsule was saved (the manifest's `machine.balloonPages`): reported
    /// apart from `zeroBlocks`, never sent either.
    var balloonBlocks = 0

    /// The distinct layers of the manifest's disks, bottom first per disk.
    static func layerNames(_ m: Manifest) -> [BlockName] {
        var seen = Set<BlockName>()
        var out: [BlockName] = []
        for d in m.disks { for l in d.layers where seen.insert(l).inserted { out.append(l) } }
        return out
    }

    init(manifest m: Manifest, layers: [BlockName: DiskLayer], distinct: Bool = true) {
        var seen = Set<BlockName>()
        let hasher = SHA256.Hasher()
        func add(_ n: BlockName, _ kind: TrafficKind, _ layer: Int32) {
            if n == .zero { zeroBlocks += 1; return }
            guard seen.insert(n).inserted || !distinct else { return }
            names.append(n); kinds.append(kind); layerOf.append(layer)
            hasher.update(n.bytes)
        }
        zeroBlocks = m.memory.pageCount - m.memory.pages.count
        // A hostile or stale count cannot claim more pages than are absent.
        balloonBlocks = max(0, min(Int(m.machine["balloonPages"] ?? "") ?? 0, zeroBlocks))
        zeroBlocks -= balloonBlocks
        for i in m.memory.pages.keys.sorted() { add(m.memory.pages[i]!, .memory, -1) }
        let order = BlockOffer.layerNames(m)
        for (li, l) in order.enumerated() {
            guard let layer = layers[l] else { continue }
            for n in layer.names { add(n, .disk, Int32(li)) }
        }
        digest = hasher.finish()
    }

    var count: Int { names.count }
}
