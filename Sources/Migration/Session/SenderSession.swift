import Capsule
import Foundation

/// The sending side of one connection: offers a capsule, sends the layers
/// and blocks the receiver asks for, and returns when the receiver has
/// committed it. Runs again on a new connection after a drop: the
/// receiver's answers then leave out what it already verified and stored.
final class SenderSession {
    let c: FramedConnection
    let store: Store
    let capsule: Store.Exported
    let stats: TransferStatistics
    let progress: ProgressSink?
    /// Memory page indexes, most recently used first, to stream first.
    var recentPages: [UInt64] = []
    /// The protocol version of this connection, and (from version 2 on)
    /// whether to ask the receiver to resume the guest before the blocks
    /// are in (OFFER flag 1: demand paging).
    var version: UInt16 = WireLimits.minProtocolVersion
    var demand = false
    /// Ablations for experiments (what each optimisation saves): see `Ablation`.
    var ablation = Ablation()

    init(connection: FramedConnection, store: Store, capsule: Store.Exported, stats: TransferStatistics, progress: ProgressSink?,
         recentPages: [UInt64] = []) {
        c = connection; self.store = store; self.capsule = capsule; self.stats = stats; self.progress = progress
        self.recentPages = recentPages
    }

    /// Runs the exchange; returns the manifest hash the receiver committed.
    func run() throws(MigrationError) -> BlockName {
        let m = capsule.manifest
        // OFFER + manifest
        var w = ByteWriter()
        w.string(m.name)
        w.name(capsule.manifestHash)
        w.u64(UInt64(capsule.manifestBytes.count))
        if version >= 2 {
            w.u8((demand ? OfferFlags.demand : 0) | (ablation.noHashing ? OfferFlags.noHashing : 0) | (ablation.noCOW ? OfferFlags.noCOW : 0))
        } else if ablation.noHashing || ablation.noCOW {
            throw .local(.version, "the receiver speaks protocol version \(version), which cannot switch off hashing or copy-on-write")
        }
        try c.send(.offer, w.bytes)
        try Parts.send(capsule.manifestBytes, kind: .manifest, index: 0, over: c, compress: ablation.compress)

        // Layers the receiver lacks.
        let layerNames = BlockOffer.layerNames(m)
        var layers: [BlockName: DiskLayer] = [:]
        var layerBytes: [BlockName: [UInt8]] = [:]
        for l in layerNames {
            do {
                let layer = try store.layers.get(l)
                layers[l] = layer
                layerBytes[l] = layer.encoded()
            } catch { throw .local(.store, "capsule \(m.name): disk layer \(l.hex.prefix(16))…: \(error)") }
        }
        let f = try c.receive()
        guard f.type == .needLayers else { throw FramedConnection.unexpected(f, "waiting for the layer answer") }
        let wanted = try Bitmap.parse(f.payload, count: layerNames.count, what: "NEED_LAYERS")
        stats.layersOffered = layerNames.count
        for i in wanted {
            let bytes = layerBytes[layerNames[i]]!
            guard BlockName.of(bytes) == layerNames[i] else { throw .local(.store, "disk layer \(layerNames[i]) does not re-encode to its name") }
            try Parts.send(bytes, kind: .layer, index: UInt32(i), over: c, compress: ablation.compress)
            stats.layersTransferred += 1
        }

        let offer = BlockOffer(manifest: m, layers: layers, distinct: !ablation.noHashing)
        stats.blocksOffered = offer.count
        let wantedLayer = Set(wanted)
        var round: UInt32 = 0
        var carried: [Int] = []
        while true {
            var first = try c.receive()
            // PRIORITY requests sent before the receiver's answer (or that
            // crossed our DONE) count for the next round.
            while first.type == .priority {
                try PriorityFrame.parse(first, offer: offer, into: &carried)
                first = try c.receive()
            }
            if first.type == .committed {
                if !stats.skipCountsSet {
                    // Committed without asking for anything: the receiver had it all.
                    stats.skipCountsSet = true
                    stats.skippedZero = offer.zeroBlocks
                    stats.skippedBalloon = offer.balloonBlocks
                    stats.skippedPresent = offer.count
                    stats.skippedInPresentLayers = (0..<offer.count).filter { offer.layerOf[$0] >= 0 && !wantedLayer.contains(Int(offer.layerOf[$0])) }.count
                }
                var r = ByteReader(first.payload, what: "COMMITTED")
                let h = try r.name("manifest hash")
                try r.expectEnd()
                guard h == capsule.manifestHash else {
                    throw .protocolViolation("receiver committed manifest \(h.hex.prefix(16))…, not the offered \(capsule.manifestHash.hex.prefix(16))…")
                }
                return h
            }
            guard first.type == .needBlocks else { throw FramedConnection.unexpected(first, "waiting for the block answer") }
            round += 1
            guard Int(round) <= WireLimits.maxRounds else { throw .protocolViolation("receiver asked for more than \(WireLimits.maxRounds) rounds") }
            let need = try NeedList.receive(first: first, from: c, round: round, offer: offer)
            stats.rounds += 1
            if need.corruptReported > 0 { stats.corruptBlocks += need.corruptReported }
            if !stats.skipCountsSet {
                stats.skipCountsSet = true
                stats.skippedZero = offer.zeroBlocks
                stats.skippedBalloon = offer.balloonBlocks
                let wantedSet = Set(need.indexes)
                for i in 0..<offer.count where !wantedSet.contains(i) {
                    stats.skippedPresent += 1
                    let li = offer.layerOf[i]
                    if li >= 0 && !wantedLayer.contains(Int(li)) { stats.skippedInPresentLayers += 1 }
                }
            }
            var total = UInt64(need.indexes.count * BlockName.blockSize)
            if need.wantsState { total += UInt64(capsule.state.count) }
            if need.wantsLog { total += UInt64(capsule.inputLog?.count ?? 0) }
            progress?.begin(total: total)
            if need.wantsState {
                try Parts.send(capsule.state, kind: .state, index: 0, over: c, compress: ablation.compress) { self.progress?.advance(UInt64($0)) }
                // With demand paging the receiver resumes about now (its own
                // report has the moment its guest started).
                if demand && stats.timeToRunnable == nil { stats.timeToRunnable = Date().timeIntervalSince(stats.start) }
            }
            if need.wantsLog {
                guard let log = capsule.inputLog else { throw .protocolViolation("receiver asked for an input log the capsule does not have") }
                try Parts.send(log, kind: .inputLog, index: 0, over: c, compress: ablation.compress) { self.progress?.advance(UInt64($0)) }
            }
            // Stream order: recently used memory pages first (when the
            // caller knows them), then the offer's order; a PRIORITY request
            // from the receiver (a guest touching a page that is not there
            // yet) jumps the queue.
            let order = streamOrder(need.indexes, offer: offer, m: m)
            var pending = [Bool](repeating: false, count: offer.count)
            for i in order { pending[i] = true }
            var urgent = carried
            carried = []
            var next = 0
            while true {
                try pollPriority(into: &urgent, offer: offer)
                var pick: Int?
                while let u = urgent.first {
                    urgent.removeFirst()
                    if pending[u] { pick = u; stats.priorityBlocks += 1; break }
                }
                if pick == nil {
                    while next < order.count && !pending[order[next]] { next += 1 }
                    guard next < order.count else { break }
                    pick = order[next]
                }
                let i = pick!
                pending[i] = false
                let name = offer.names[i]
                let block: [UInt8]
                do { block = try store.blocks.get(name) } catch { throw .local(.store, "capsule \(m.name): \(error)") }
                let (enc, payload) = ablation.compress ? WireCompression.encode(block) : (0, block)
                var b = ByteWriter(capacity: BlockHeader.size + payload.count)
                b.name(name); b.u8(enc); b.u8(0); b.u16(0); b.u32(UInt32(block.count))
                b.raw(payload)
                try c.send(.block, b.bytes, kind: offer.kinds[i])
                stats.blocksTransferred += 1
                stats.blockRawBytes += UInt64(block.count)
                stats.blockWireBytes += UInt64(payload.count)
                progress?.advance(UInt64(block.count))
            }
            var d = ByteWriter()
            d.u32(round); d.u32(UInt32(need.indexes.count))
            try c.send(.done, d.bytes)
        }
    }
}

extension SenderSession {
    /// The wanted blocks in sending order: the blocks of `recentPages`
    /// (memory page indexes, most recently used first) lead, the rest
    /// follow in offer order.
    func streamOrder(_ wanted: [Int], offer: BlockOffer, m: Manifest) -> [Int] {
        guard !recentPages.isEmpty else { return wanted }
        var index: [BlockName: Int] = [:]
        for i in wanted { index[offer.names[i]] = i }
        var out: [Int] = []
        var taken = Set<Int>()
        for p in recentPages {
            if let n = m.memory.pages[p], let i = index[n], taken.insert(i).inserted { out.append(i) }
        }
        for i in wanted where !taken.contains(i) { out.append(i) }
        return out
    }

    /// Reads the PRIORITY frames waiting on the channel (without blocking
    /// when there are none). Indexes of blocks already sent or not wanted
    /// are dropped later (the request crossed the block on the wire).
    func pollPriority(into urgent: inout [Int], offer: BlockOffer) throws(MigrationError) {
        while c.hasPendingInput {
            let f = try c.receive()
            guard f.type == .priority else { throw FramedConnection.unexpected(f, "sending blocks") }
            try PriorityFrame.parse(f, offer: offer, into: &urgent)
        }
    }
}

/// OFFER's flags byte (protocol version 2 on).
enum OfferFlags {
    /// The sender asks the receiver to resume the guest as soon as the
    /// state has arrived, and will serve PRIORITY requests meanwhile.
    static let demand: UInt8 = 1
    /// Ablation: the receiver asks for every offered block, as if its
    /// store held none of them (no hash cache).
    static let noHashing: UInt8 = 2
    /// Ablation: the receiver asks for every disk layer and its blocks,
    /// as if it held none of the capsule's layers (no copy-on-write reuse).
    static let noCOW: UInt8 = 4
    static let known: UInt8 = demand | noHashing | noCOW
}

/// Switches that turn optimisations off, to measure what each one saves
/// (benchmarks/migration.sh). Zero blocks never travel in any case: the
/// memory page map and the layer tables do not name them.
public struct Ablation: Sendable {
    public var noHashing = false
    public var noCOW = false
    public var compress = true
    public init(noHashing: Bool = false, noCOW: Bool = false, compress: Bool = true) {
        self.noHashing = noHashing; self.noCOW = noCOW; self.compress = compress
    }
}

/// PRIORITY payload: u32 count (1…1024), then count u32 indexes into the offer list.
enum PriorityFrame {
    static func parse(_ f: Frame, offer: BlockOffer, into urgent: inout [Int]) throws(MigrationError) {
        var r = ByteReader(f.payload, what: "PRIORITY")
        let n = Int(try r.u32("count"))
        guard n >= 1, n <= WireLimits.maxPriorityIndexes else { throw .protocolViolation("PRIORITY with \(n) indexes (1…\(WireLimits.maxPriorityIndexes))") }
        for _ in 0..<n {
            let i = Int(try r.u32("index"))
            guard i < offer.count else { throw .protocolViolation("PRIORITY index \(i) beyond the \(offer.count) offered blocks") }
            urgent.append(i)
        }
        try r.expectEnd()
        // A hostile receiver must not grow the queue without bound.
        if urgent.count > offer.count { urgent.removeFirst(urgent.count - offer.count) }
    }
}

/// A receiver's NEED_BLOCKS answer, reassembled from its chunks and checked
/// against the sender's own offer.
struct NeedList {
    var indexes: [Int] = []
    var wantsState = false
    var wantsLog = false
    var corruptReported = 0

    static func receive(first: Frame, from c: FramedConnection, round: UInt32, offer: BlockOffer) throws(MigrationError) -> NeedList {
        var out = NeedList()
        let byteCount = (offer.count + 7) / 8
        var bitmap: [UInt8] = []
        bitmap.reserveCapacity(byteCount)
        var f = first
        repeat {
            if bitmap.count > 0 || f.type != .needBlocks {
                f = try c.receive()
                guard f.type == .needBlocks else { throw FramedConnection.unexpected(f, "reading the block answer") }
            }
            var r = ByteReader(f.payload, what: "NEED_BLOCKS")
            let rnd = try r.u32("round")
            guard rnd == round else { throw .protocolViolation("NEED_BLOCKS for round \(rnd), expected \(round)") }
            let flags = try r.u8("flags")
            guard flags & ~3 == 0 else { throw .protocolViolation("NEED_BLOCKS has unknown flags 0x\(String(flags, radix: 16))") }
            out.wantsState = flags & 1 != 0
            out.wantsLog = flags & 2 != 0
            let enc = try r.u8("encoding")
            guard try r.u16("reserved") == 0 else { throw .protocolViolation("NEED_BLOCKS reserved field is not zero") }
            out.corruptReported = Int(try r.u32("corrupt count"))
            let count = Int(try r.u32("offered count"))
            guard count == offer.count else {
                throw .protocolViolation("receiver derived \(count) offered blocks, the sender offers \(offer.count)")
            }
            guard try r.name("offer digest") == offer.digest else {
                throw .protocolViolation("receiver's list of offered blocks differs from the sender's (digest mismatch)")
            }
            let firstBit = try r.u64("first bit")
            let raw = Int(try r.u32("chunk length"))
            guard firstBit == UInt64(bitmap.count) * 8 else { throw .protocolViolation("NEED_BLOCKS chunk at bit \(firstBit), expected \(bitmap.count * 8)") }
            guard raw <= WireLimits.bitmapChunk, bitmap.count + raw <= byteCount, raw > 0 || byteCount == 0 else {
                throw .protocolViolation("NEED_BLOCKS chunk of \(raw) bytes does not fit a bitmap of \(byteCount) bytes")
            }
            guard let chunk = WireCompression.decode(r.rest(), encoding: enc, rawLength: raw) else {
                throw .protocolViolation("NEED_BLOCKS bitmap chunk does not decode to \(raw) bytes")
            }
            bitmap += chunk
        } while bitmap.count < byteCount
        out.indexes = try Bitmap.indexes(bitmap, count: offer.count, what: "NEED_BLOCKS")
        return out
    }
}

/// Bit i set (bit i%8 of byte i/8) = item i wanted.
enum Bitmap {
    static func make(count: Int, _ isSet: (Int) -> Bool) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: (count + 7) / 8)
        for i in 0..<count where isSet(i) { out[i >> 3] |= 1 << UInt8(i & 7) }
        return out
    }

    static func indexes(_ b: [UInt8], count: Int, what: String) throws(MigrationError) -> [Int] {
        guard b.count == (count + 7) / 8 else { throw .protocolViolation("\(what) bitmap is \(b.count) bytes for \(count) items") }
        var out: [Int] = []
        for (i, byte) in b.enumerated() where byte != 0 {
            for bit in 0..<8 where byte & (1 << UInt8(bit)) != 0 {
                let n = i * 8 + bit
                guard n < count else { throw .protocolViolation("\(what) bitmap sets bit \(n) beyond its \(count) items") }
                out.append(n)
            }
        }
        return out
    }

    /// A NEED_LAYERS payload: u32 count + bitmap.
    static func parse(_ payload: [UInt8], count: Int, what: String) throws(MigrationError) -> [Int] {
        var r = ByteReader(payload, what: what)
        let n = Int(try r.u32("count"))
        guard n == count else { throw .protocolViolation("\(what) answers for \(n) layers, \(count) were offered") }
        return try indexes(Array(r.rest()), count: count, what: what)
    }
}
