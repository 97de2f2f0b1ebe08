/// The virtio memory balloon (virtio 1.x §5.5), driven by Linux's
/// `virtio_balloon`.
///
/// The host sets a target (`num_pages`, in 4 KiB pages); the driver
/// allocates that many guest pages and hands their frame numbers over the
/// inflate queue, or takes pages back over the deflate queue, and writes
/// how many it holds into `actual`. With VIRTIO_BALLOON_F_REPORTING the
/// driver also reports free memory blocks on the reporting queue without
/// any target. Inflated and reported pages are zeroed here (so they hash
/// as zero blocks and cost nothing to migrate) and kept as page sets.
///
/// Queues are numbered the way Linux numbers them: inflate 0, deflate 1,
/// then one index for each *negotiated* optional queue in the order stats,
/// (free page hint: not offered), reporting — so without STATS_VQ the
/// reporting queue is 2, with it 3.
///
/// Configuration: num_pages (le32, 0x0; written by the host), actual
/// (le32, 0x4; written by the driver), then free_page_hint_cmd_id and
/// poison_val, which read 0 because their features are not offered.
public final class VirtioBalloon: VirtioDevice {
    public static let mustTellHost = 0, statsQueue = 1, deflateOnOOM = 2, freePageReporting = 5

    public let deviceType: UInt16 = 5
    public let transitionalPCIDeviceID: UInt16 = 0x1002
    public let pciClassCode: UInt32 = 0xFF_0000 // unclassified device, as other balloons present
    public let offeredFeatures: UInt64 = 1 << 0 | 1 << 1 | 1 << 2 | 1 << 5
    public let queueMaxSizes: [UInt16] = [128, 128, 128, 128]
    public let configSize = 16
    public weak var transport: VirtioPCI?

    /// Pages the driver gave back (inflated and not yet deflated).
    public private(set) var inflated: GuestPageSet
    /// Pages the driver reported free (free page reporting) since the last reset.
    public private(set) var reported: GuestPageSet
    /// Target size of the balloon in pages (`num_pages`).
    public private(set) var targetPages: UInt32 = 0
    /// Pages the driver says the balloon holds (`actual`).
    public private(set) var actualPages: UInt32 = 0
    /// The latest memory statistics from the stats queue, by tag.
    public private(set) var stats: [UInt16: UInt64] = [:]
    /// Head of the stats buffer the device holds until it wants fresh numbers.
    var statsHead: UInt16?
    /// Inflate PFNs that named no RAM page (ignored; counted for diagnosis).
    public private(set) var ignoredFrames: UInt64 = 0

    public enum Queue { case inflate, deflate, stats, reporting }

    public init(ramPages: Int) {
        inflated = GuestPageSet(pageCount: ramPages)
        reported = GuestPageSet(pageCount: ramPages)
    }

    /// What queue index `q` is with the features the driver accepted.
    public func role(ofQueue q: Int) -> Queue? {
        var roles: [Queue] = [.inflate, .deflate]
        if transport?.negotiated(VirtioBalloon.statsQueue) == true { roles.append(.stats) }
        if transport?.negotiated(VirtioBalloon.freePageReporting) == true { roles.append(.reporting) }
        return q < roles.count ? roles[q] : nil
    }

    // MARK: - Host side

    /// Sets the balloon target; the driver is told by a configuration-change interrupt.
    public func setTarget(pages: UInt32) {
        targetPages = min(pages, UInt32(inflated.pageCount))
        transport?.configChanged()
    }

    /// Asks the driver for fresh statistics by returning the buffer it left.
    public func requestStats() {
        guard let head = statsHead, let t = transport, let q = queueIndex(of: .stats) else { return }
        statsHead = nil
        do {
            try t.push(q, head: head, written: 0)
            t.interruptIfNeeded(q)
        } catch {
            t.markBroken(error)
        }
    }

    func queueIndex(of role: Queue) -> Int? {
        (0..<queueMaxSizes.count).first { self.role(ofQueue: $0) == role }
    }

    // MARK: - Configuration space

    public func configRead(_ offset: Int) -> UInt8 {
        switch offset {
        case 0..<4: return UInt8(truncatingIfNeeded: targetPages >> (8 * UInt32(offset)))
        case 4..<8: return UInt8(truncatingIfNeeded: actualPages >> (8 * UInt32(offset - 4)))
        default: return 0
        }
    }

    public func configWrite(_ offset: Int, _ value: UInt8) {
        // Only `actual` is the driver's; num_pages belongs to the host.
        guard offset >= 4, offset < 8 else { return }
        let shift = 8 * UInt32(offset - 4)
        actualPages = (actualPages & ~(0xFF << shift)) | UInt32(value) << shift
    }

    // MARK: - Queues

    public func queueNotified(_ q: Int) throws(VirtioError) {
        guard let t = transport, let role = role(ofQueue: q) else { return }
        let memory = t.guestMemory
        var returned = false
        while let chain = try t.pop(q) {
            switch role {
            case .inflate, .deflate:
                // An array of le32 page frame numbers (always 4 KiB frames).
                let bytes = try Virtqueue.readableBytes(chain, memory, limit: 4 * 4096)
                for i in stride(from: 0, to: bytes.count - 3, by: 4) {
                    let pfn = UInt32(bytes[i]) | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2]) << 16 | UInt32(bytes[i + 3]) << 24
                    guard Int(pfn) < inflated.pageCount else { ignoredFrames += 1; continue }
                    if role == .inflate {
                        inflated.insert(pfn)
                        memory.zeroPage(pfn)
                    } else {
                        inflated.remove(pfn)
                    }
                }
                try t.push(q, head: chain.head, written: 0)
                returned = true
            case .stats:
                // Entries of le16 tag + le64 value, packed (10 bytes).
                let bytes = try Virtqueue.readableBytes(chain, memory, limit: 10 * 64)
                for i in stride(from: 0, to: bytes.count - 9, by: 10) {
                    let tag = UInt16(bytes[i]) | UInt16(bytes[i + 1]) << 8
                    var v: UInt64 = 0
                    for j in 0..<8 { v |= UInt64(bytes[i + 2 + j]) << (8 * UInt64(j)) }
                    stats[tag] = v
                }
                // Keep the newest buffer; an older one goes straight back.
                if let old = statsHead {
                    try t.push(q, head: old, written: 0)
                    returned = true
                }
                statsHead = chain.head
            case .reporting:
                // Each buffer is a free block of guest memory: whole pages inside it.
                for b in chain.buffers {
                    let first = (b.address + 4095) >> 12, end = (b.address + UInt64(b.length)) >> 12
                    guard first < end else { continue }
                    for p in first..<end {
                        reported.insert(UInt32(p))
                        memory.zeroPage(UInt32(p))
                    }
                }
                try t.push(q, head: chain.head, written: 0)
                returned = true
            }
        }
        if returned { t.interruptIfNeeded(q) }
    }

    /// Device reset: the driver holds no pages any more (the guest may use
    /// them all again); the host's target stays.
    public func reset() {
        inflated.removeAll()
        reported.removeAll()
        actualPages = 0
        statsHead = nil
        stats = [:]
    }

    // MARK: - State

    public func saveState(into s: inout [String: UInt64]) {
        s["targetPages"] = UInt64(targetPages)
        s["actualPages"] = UInt64(actualPages)
        s["ignoredFrames"] = ignoredFrames
        if let h = statsHead { s["statsHead"] = UInt64(h) }
        for (tag, v) in stats { s["stats.\(tag)"] = v }
        inflated.save("inflated.", into: &s)
        reported.save("reported.", into: &s)
    }

    public func restoreState(_ s: [String: UInt64]) {
        targetPages = min(UInt32(truncatingIfNeeded: s["targetPages"] ?? 0), UInt32(inflated.pageCount))
        actualPages = UInt32(truncatingIfNeeded: s["actualPages"] ?? 0)
        ignoredFrames = s["ignoredFrames"] ?? 0
        // A head outside the stats queue would be handed back to the driver as garbage.
        statsHead = s["statsHead"].flatMap { $0 < UInt64(queueMaxSizes[2]) ? UInt16($0) : nil }
        stats = [:]
        for (k, v) in s where k.hasPrefix("stats.") {
            if let tag = UInt16(k.dropFirst(6)) { stats[tag] = v }
        }
        inflated.restore("inflated.", from: s)
        reported.restore("reported.", from: s)
    }
}
