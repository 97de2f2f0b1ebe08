import Capsule
import Foundation

/// The receiving side of one connection: validates the offered manifest,
/// asks for the layers and blocks missing from the whole store, verifies
/// each block against its name as it arrives and stores it durably, and
/// commits the capsule (manifest last) once everything is present.
///
/// Everything the peer sends is checked before it is used: names (a
/// capsule name goes through `Store.validateName`), sizes and counts
/// against `WireLimits`, every block against its SHA-256 name, every layer
/// and part against its hash. A violation ends the connection with an
/// ERROR frame; the store only ever gains verified blocks and layers.
final class ReceiverSession {
    let c: FramedConnection
    let store: Store
    let expectedName: String?
    let stats: TransferStatistics
    let progress: ProgressSink?
    /// Demand requests from a guest already running on the receiver.
    var demand: DemandRequests?
    /// The connection's protocol version (OFFER has a flags byte from 2 on).
    var version: UInt16 = WireLimits.minProtocolVersion
    /// For a pushed capsule: given the offered name and whether the sender
    /// asked for demand paging, the requests object the guest's side uses
    /// (nil: receive it whole).
    var demandFor: ((String, Bool) -> DemandRequests?)?
    /// The sender's ablations (OFFER flags): ignore the store's blocks, its layers.
    var noHashing = false, noCOW = false
    /// Without hashing a block may be offered at several positions: the
    /// copies still to come beyond the first, per name (verified, not stored).
    var extraCopies: [BlockName: Int] = [:]
    /// Verified blocks are made durable at least every this many blocks
    /// (and whenever the connection fails), so a resumed transfer does not
    /// need them again.
    static let batchSize = 1024

    init(connection: FramedConnection, store: Store, expectedName: String?, stats: TransferStatistics, progress: ProgressSink?) {
        c = connection; self.store = store; self.expectedName = expectedName; self.stats = stats; self.progress = progress
    }

    func run() throws(MigrationError) -> (name: String, hash: BlockName) {
        // OFFER
        let f = try c.receive()
        guard f.type == .offer else { throw FramedConnection.unexpected(f, "waiting for an offer") }
        var r = ByteReader(f.payload, what: "OFFER")
        let name = try r.string("capsule name", limit: WireLimits.maxNameBytes)
        do { try Store.validateName(name) } catch { throw .protocolViolation("offered capsule name rejected: \(error)") }
        if let e = expectedName, e != name { throw .protocolViolation("offered capsule \(String(reflecting: name)), \(String(reflecting: e)) was asked for") }
        let manifestHash = try r.name("manifest hash")
        let manifestSize = try r.u64("manifest size")
        var flags: UInt8 = 0
        if version >= 2 {
            flags = try r.u8("flags")
            guard flags & ~OfferFlags.known == 0 else { throw .protocolViolation("OFFER has unknown flags 0x\(String(flags, radix: 16))") }
        }
        try r.expectEnd()
        guard manifestSize > 0, manifestSize <= WireLimits.maxManifestBytes else {
            throw .protocolViolation("manifest of \(manifestSize) bytes (limit \(WireLimits.maxManifestBytes))")
        }
        stats.capsule = name
        stats.manifestHash = manifestHash.hex
        if let pick = demandFor { demand = pick(name, flags & OfferFlags.demand != 0) }
        noHashing = flags & OfferFlags.noHashing != 0
        noCOW = flags & OfferFlags.noCOW != 0
        var result: Result<(name: String, hash: BlockName), MigrationError>?
        do {
            result = try store.asOnlyReceiver(of: name, timeout: ReceiverSession.lockTimeout) {
                do throws(MigrationError) {
                    let r = try receive(name: name, manifestHash: manifestHash, manifestSize: manifestSize)
                    demand?.detach(nil)
                    if let d = demand { (stats.demandRequests, stats.demandWaitSeconds) = (d.requestsSent, d.waitedSeconds) }
                    return .success(r)
                } catch {
                    demand?.detach(error)
                    return .failure(error)
                }
            }
        } catch {
            throw .local(.store, "cannot lock capsule \(name) for receiving: \(error)")
        }
        guard let r = result else {
            throw .local(.refused, "capsule \(name) is being received on another connection")
        }
        return try r.get()
    }

    /// How long a new connection waits for an earlier receiver of the same
    /// capsule (which ends at the latest when its I/O times out).
    static let lockTimeout = 90.0

    func receive(name: String, manifestHash: BlockName, manifestSize: UInt64) throws(MigrationError) -> (name: String, hash: BlockName) {
        let manifestBytes = try receivePart(.manifest, index: 0, size: manifestSize)
        guard UInt64(manifestBytes.count) == manifestSize, BlockName.of(manifestBytes) == manifestHash else {
            throw .protocolViolation("manifest does not match the offered size and hash")
        }
        let m: Manifest
        do { m = try Manifest.decode(manifestBytes) } catch { throw .protocolViolation("offered manifest is invalid: \(error)") }
        guard m.name == name else { throw .protocolViolation("manifest names capsule \(String(reflecting: m.name)), the offer \(String(reflecting: name))") }
        guard m.memory.pages.count <= WireLimits.maxOfferedBlocks else { throw .protocolViolation("manifest has \(m.memory.pages.count) memory pages (limit \(WireLimits.maxOfferedBlocks))") }
        guard m.state.size <= WireLimits.maxStateBytes else { throw .protocolViolation("state file of \(m.state.size) bytes (limit \(WireLimits.maxStateBytes))") }

        // Layers: the ones the store has whole and intact are not sent (copy-on-write).
        let layerNames = BlockOffer.layerNames(m)
        guard layerNames.count <= WireLimits.maxLayers else { throw .protocolViolation("\(layerNames.count) disk layers (limit \(WireLimits.maxLayers))") }
        let sizeOf = layerDiskSizes(m)
        var layers: [BlockName: DiskLayer] = [:]
        for l in layerNames where !noCOW {
            if let layer = try? store.layers.get(l), layer.diskSize == sizeOf[l] {
                layers[l] = layer
            } else if store.layers.has(l) {
                // Damaged or not the disk's: replaced by the peer's copy below.
                do { try store.layers.remove(l) } catch { throw .local(.store, "cannot remove damaged layer \(l): \(error)") }
            }
        }
        let missingLayers = layerNames.indices.filter { layers[layerNames[$0]] == nil }
        var w = ByteWriter()
        w.u32(UInt32(layerNames.count))
        w.raw(Bitmap.make(count: layerNames.count) { layers[layerNames[$0]] == nil })
        try c.send(.needLayers, w.bytes)
        stats.layersOffered = layerNames.count
        for _ in missingLayers {
            let first = try c.receive()
            guard first.type == .part else { throw FramedConnection.unexpected(first, "waiting for disk layers") }
            let (kind, index) = try PartAssembler.peek(first)
            guard kind == .layer, Int(index) < layerNames.count, layers[layerNames[Int(index)]] == nil else {
                throw .protocolViolation("PART \(kind) #\(index) was not asked for")
            }
            let l = layerNames[Int(index)]
            let bytes = try receivePart(.layer, index: index, first: first)
            guard BlockName.of(bytes) == l else { throw .protocolViolation("disk layer #\(index) does not hash to its name \(l.hex.prefix(16))…") }
            let layer: DiskLayer
            do { layer = try DiskLayer.decode(bytes, name: l.hex) } catch { throw .protocolViolation("\(error)") }
            guard layer.encoded() == bytes else { throw .protocolViolation("disk layer \(l.hex.prefix(16))… is not in canonical form") }
            guard layer.diskSize == sizeOf[l] else { throw .protocolViolation("disk layer \(l.hex.prefix(16))… is for a disk of \(layer.diskSize) bytes") }
            do { try store.layers.put(layer) } catch { throw .local(.store, "cannot store layer \(l): \(error)") }
            layers[l] = layer
            stats.layersTransferred += 1
        }

        let offer = BlockOffer(manifest: m, layers: layers, distinct: !noHashing)
        guard offer.count <= WireLimits.maxOfferedBlocks else { throw .protocolViolation("capsule offers \(offer.count) blocks (limit \(WireLimits.maxOfferedBlocks))") }
        stats.blocksOffered = offer.count
        demand?.attach(c, offer: offer)
        var state = store.stagedIncoming(capsule: name, hash: m.state.hash, limit: WireLimits.maxStateBytes, committedFile: m.state.file)
        var log: [UInt8]? = m.inputLog.flatMap { store.stagedIncoming(capsule: name, hash: $0.hash, limit: WireLimits.maxInputLogBytes, committedFile: $0.file) }
        var corruptLastRound = 0
        var round: UInt32 = 0
        while true {
            var missing: [BlockName: TrafficKind] = [:]
            extraCopies.removeAll()
            var bits = [Bool](repeating: false, count: offer.count)
            var wanted = 0
            // Ablations ignore what the store holds, in the first round only
            // (later rounds fetch what is still missing, so the transfer ends).
            let ignoreStore = round == 0 && noHashing
            let ignoreLayers = round == 0 && noCOW
            for i in 0..<offer.count where ignoreStore || (ignoreLayers && offer.layerOf[i] >= 0) || !store.blocks.has(offer.names[i]) {
                if missing[offer.names[i]] != nil { extraCopies[offer.names[i], default: 0] += 1 }
                missing[offer.names[i]] = missing[offer.names[i]] ?? offer.kinds[i]
                bits[i] = true
                wanted += 1
            }
            let wantsState = state == nil, wantsLog = m.inputLog != nil && log == nil
            announceIfRunnable(m, manifestHash: manifestHash, manifestBytes: manifestBytes, state: state, log: log)
            if !stats.skipCountsSet {
                stats.skipCountsSet = true
                stats.skippedZero = offer.zeroBlocks
                stats.skippedBalloon = offer.balloonBlocks
                stats.skippedPresent = offer.count - wanted
            }
            if missing.isEmpty && !wantsState && !wantsLog {
                let committed: BlockName
                do { committed = try store.importCapsule(name: name, manifest: manifestBytes, state: state!, inputLog: log).hash }
                catch { throw .local(.store, "cannot commit capsule \(name): \(error)") }
                var cw = ByteWriter()
                cw.name(committed)
                try c.send(.committed, cw.bytes)
                return (name, committed)
            }
            round += 1
            guard Int(round) <= WireLimits.maxRounds else {
                throw .local(.corrupt, "capsule \(name): still \(missing.count) blocks missing after \(WireLimits.maxRounds) rounds")
            }
            stats.rounds += 1
            try sendNeed(round: round, offer: offer, bitmap: Bitmap.make(count: offer.count) { bits[$0] },
                         wantsState: wantsState, wantsLog: wantsLog, corrupt: corruptLastRound)
            var total = UInt64(missing.count * BlockName.blockSize)
            if wantsState { total += m.state.size }
            progress?.begin(total: total)
            corruptLastRound = try receiveRound(round: round, missing: &missing, name: name, m: m, state: &state, log: &log,
                                                wantsState: wantsState, wantsLog: wantsLog) { st, lg in
                self.announceIfRunnable(m, manifestHash: manifestHash, manifestBytes: manifestBytes, state: st, log: lg)
            }
            stats.corruptBlocks += corruptLastRound
        }
    }

    /// With demand paging, the guest may resume as soon as the manifest,
    /// the layers (already here when this is called), the state and the
    /// input log are: blocks come on demand or in the background.
    func announceIfRunnable(_ m: Manifest, manifestHash: BlockName, manifestBytes: [UInt8], state: [UInt8]?, log: [UInt8]?) {
        guard let demand, let state, m.inputLog == nil || log != nil else { return }
        // serve --run: the guest starts now (fetch --run records its own moment).
        if stats.role == "receive" && stats.timeToRunnable == nil { stats.timeToRunnable = Date().timeIntervalSince(stats.start) }
        demand.announceRunnable(.init(manifest: m, manifestHash: manifestHash, manifestBytes: manifestBytes,
                                      state: state, inputLog: log, at: Date()))
    }

    /// Disk size per layer name (a layer shared by two disks of different
    /// sizes is refused by Manifest validation of the layers below).
    func layerDiskSizes(_ m: Manifest) -> [BlockName: UInt64] {
        var out: [BlockName: UInt64] = [:]
        for d in m.disks { for l in d.layers where out[l] == nil { out[l] = d.size } }
        return out
    }

    func sendNeed(round: UInt32, offer: BlockOffer, bitmap: [UInt8], wantsState: Bool, wantsLog: Bool, corrupt: Int) throws(MigrationError) {
        var offset = 0
        repeat {
            let n = min(WireLimits.bitmapChunk, bitmap.count - offset)
            let (enc, payload) = bitmap[offset..<(offset + n)].withUnsafeBytes { WireCompression.encode($0) }
            var w = ByteWriter(capacity: NeedBlocksHeader.size + payload.count)
            w.u32(round)
            w.u8((wantsState ? 1 : 0) | (wantsLog ? 2 : 0))
            w.u8(enc); w.u16(0)
            w.u32(UInt32(corrupt)); w.u32(UInt32(offer.count)); w.name(offer.digest)
            w.u64(UInt64(offset) * 8); w.u32(UInt32(n))
            w.raw(payload)
            try c.send(.needBlocks, w.bytes)
            offset += n
        } while offset < bitmap.count
    }

    /// Receives one round's parts and blocks up to DONE; returns how many
    /// blocks failed verification (they stay missing and are asked again).
    func receiveRound(round: UInt32, missing: inout [BlockName: TrafficKind], name: String, m: Manifest,
                      state: inout [UInt8]?, log: inout [UInt8]?, wantsState: Bool, wantsLog: Bool,
                      partsArrived: ([UInt8]?, [UInt8]?) -> Void) throws(MigrationError) -> Int {
        var corrupt = 0
        var arrived = Set<BlockName>()
        var finished = false
        var failure: MigrationError?
        while !finished && failure == nil {
            // One batch: its blocks become durable together, also when the
            // connection fails in the middle of it.
            do {
                try store.blocks.batch {
                    var inBatch = 0
                    while inBatch < ReceiverSession.batchSize {
                        let f: Frame
                        do throws(MigrationError) { f = try c.receive() } catch { failure = error; return }
                        switch f.type {
                        case .block:
                            if try acceptBlock(f, missing: &missing, arrived: &arrived) { inBatch += 1 } else { corrupt += 1 }
                        case .part:
                            let (kind, _) = try PartAssembler.peek(f)
                            if kind == .state && wantsState && state == nil {
                                let bytes = try receivePart(.state, index: 0, first: f, size: m.state.size)
                                guard UInt64(bytes.count) == m.state.size, BlockName.of(bytes) == m.state.hash else {
                                    throw MigrationError.protocolViolation("state file does not match the manifest's size and hash")
                                }
                                try store.stageIncoming(capsule: name, hash: m.state.hash, bytes: bytes)
                                state = bytes
                                progress?.advance(UInt64(bytes.count))
                                partsArrived(state, log)
                            } else if kind == .inputLog && wantsLog && log == nil, let l = m.inputLog {
                                let bytes = try receivePart(.inputLog, index: 0, first: f)
                                guard BlockName.of(bytes) == l.hash else { throw MigrationError.protocolViolation("input log does not match the manifest's hash") }
                                try store.stageIncoming(capsule: name, hash: l.hash, bytes: bytes)
                                log = bytes
                                partsArrived(state, log)
                            } else {
                                throw MigrationError.protocolViolation("PART \(kind) was not asked for in round \(round)")
                            }
                        case .done:
                            var r = ByteReader(f.payload, what: "DONE")
                            let rnd = try r.u32("round")
                            _ = try r.u32("block count")
                            try r.expectEnd()
                            guard rnd == round else { throw MigrationError.protocolViolation("DONE for round \(rnd) in round \(round)") }
                            finished = true
                            return
                        default:
                            throw FramedConnection.unexpected(f, "receiving blocks")
                        }
                    }
                }
                demand?.batchDurable()
            } catch let e as MigrationError {
                throw e
            } catch {
                throw .local(.store, "capsule \(name): cannot store received data: \(error)")
            }
        }
        if let e = failure { throw e }
        return corrupt
    }

    /// Verifies and stores one BLOCK; false when its content does not match
    /// its name (counted, not stored, asked for again).
    func acceptBlock(_ f: Frame, missing: inout [BlockName: TrafficKind], arrived: inout Set<BlockName>) throws -> Bool {
        var r = ByteReader(f.payload, what: "BLOCK")
        let name = try r.name("name")
        let enc = try r.u8("encoding")
        guard try r.u8("reserved") == 0, try r.u16("reserved") == 0 else { throw MigrationError.protocolViolation("BLOCK reserved bytes are not zero") }
        let raw = Int(try r.u32("raw length"))
        guard raw > 0, raw <= WireLimits.maxBlockBytes else { throw MigrationError.protocolViolation("BLOCK \(name.hex.prefix(16))… of \(raw) bytes (limit \(WireLimits.maxBlockBytes))") }
        // Without hashing a block may come again for another position
        // (verified and counted like the first copy, not stored twice).
        let extraCopy = missing[name] == nil && (extraCopies[name] ?? 0) > 0 && (arrived.contains(name) || store.blocks.has(name))
        guard let kind = missing[name] ?? (extraCopy ? .memory : nil) else {
            if arrived.contains(name) { stats.duplicateArrivals += 1; throw MigrationError.protocolViolation("block \(name.hex.prefix(16))… sent twice") }
            throw MigrationError.protocolViolation("block \(name.hex.prefix(16))… was not asked for")
        }
        let frameBytes = WireLimits.headerSize + f.payload.count
        if kind != .memory { c.reclassify(bytes: frameBytes, from: .memory, to: kind) }
        let payload = r.rest()
        stats.blockWireBytes += UInt64(payload.count)
        guard let data = WireCompression.decode(payload, encoding: enc, rawLength: raw), BlockName.of(data) == name else {
            return false
        }
        stats.blocksTransferred += 1
        stats.blockRawBytes += UInt64(raw)
        progress?.advance(UInt64(raw))
        if extraCopy {
            extraCopies[name]! -= 1
            return true
        }
        try store.blocks.put(data)
        demand?.arrived(name, data)
        missing[name] = nil
        arrived.insert(name)
        return true
    }

    /// Reads one part's chunks (starting with `first` when given).
    /// `size`, when known in advance, must be the part's total: a peer
    /// cannot make us collect more than the manifest says.
    func receivePart(_ kind: PartKind, index: UInt32, first: Frame? = nil, size: UInt64? = nil) throws(MigrationError) -> [UInt8] {
        var a = PartAssembler(kind: kind, index: index)
        a.total = size
        var f = first
        while true {
            let frame: Frame
            if let x = f { frame = x; f = nil } else { frame = try c.receive() }
            guard frame.type == .part else { throw FramedConnection.unexpected(frame, "receiving the \(kind) part") }
            if try a.add(frame) { return a.bytes }
        }
    }
}
