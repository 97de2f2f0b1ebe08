import X86

/// Which guest pages were touched recently, for ordering a migration's
/// background stream (recently used pages first, so the resumed guest
/// rarely waits). Sampling is coarse and costs nothing per instruction:
/// every `interval` instructions the pages the CPU's TLB maps are stamped
/// with the current epoch and the TLB is flushed, so the next epoch sees
/// the pages touched again (`CPU.drainMappedPages`). Device DMA is not
/// sampled; callers may `touch` pages themselves.
public final class PageRecency {
    public let interval: UInt64
    /// Number of samples taken so far.
    public private(set) var epoch: UInt32 = 0
    /// Per page: the epoch of its last sighting + 1 (0 = never seen).
    var lastSeen: [UInt32]
    var nextSample: UInt64

    init(pageCount: Int, interval: UInt64, now: UInt64) {
        self.interval = max(interval, 1)
        lastSeen = [UInt32](repeating: 0, count: pageCount)
        nextSample = now + self.interval
    }

    /// Records `page` as touched in the current epoch.
    public func touch(_ page: UInt32) {
        guard Int(page) < lastSeen.count else { return }
        lastSeen[Int(page)] = epoch + 1
    }

    /// Takes a sample now: stamps the TLB's pages and starts a new epoch.
    public func sample(_ cpu: CPU) {
        cpu.drainMappedPages { touch($0) }
        epoch += 1
    }

    /// Stamps the pages the TLB maps now without flushing it (a last look
    /// before the machine is saved: the run that follows is unchanged).
    public func peek(_ cpu: CPU) {
        cpu.visitMappedPages { touch($0) }
    }

    func sampleIfDue(_ cpu: CPU) {
        guard cpu.instructionCount >= nextSample else { return }
        sample(cpu)
        nextSample = cpu.instructionCount + interval
    }

    /// The epoch in which `page` was last seen, nil if never.
    public func lastEpoch(of page: UInt32) -> UInt32? {
        guard Int(page) < lastSeen.count, lastSeen[Int(page)] != 0 else { return nil }
        return lastSeen[Int(page)] - 1
    }

    /// Every page, most recently seen first (ties and never-seen pages in
    /// ascending frame order).
    public func pagesByRecency() -> [UInt32] {
        (0..<UInt32(lastSeen.count)).sorted { a, b in
            let x = lastSeen[Int(a)], y = lastSeen[Int(b)]
            return x != y ? x > y : a < b
        }
    }
}
