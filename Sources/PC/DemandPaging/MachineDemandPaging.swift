/// The machine side of demand paging and of recency ordering, as the
/// migration layer uses them. Receiver: `enableDemandPaging(resolver:)`,
/// `demandPager!.markAbsent(pages)` for every page not yet arrived, resume;
/// feed the background stream with `supply(page:contents:)`. Sender:
/// `enablePageRecency(interval:)` while the guest runs, then
/// `pageRecency!.pagesByRecency()` to order the stream.
extension Machine {
    /// Installs the demand pager (once) with `resolver`; returns it.
    @discardableResult
    public func enableDemandPaging(resolver: @escaping DemandPager.Resolver) -> DemandPager {
        let pager = demandPager ?? DemandPager(memory: memory, cpu: cpu)
        pager.resolver = resolver
        demandPager = pager
        return pager
    }

    /// Whether the machine still has pages whose contents have not arrived.
    public var hasAbsentPages: Bool { (demandPager?.absent.count ?? 0) > 0 }

    /// Starts sampling which pages the guest touches, every `interval` instructions.
    @discardableResult
    public func enablePageRecency(interval: UInt64 = 50_000_000) -> PageRecency {
        let r = PageRecency(pageCount: memory.ramSize >> 12, interval: interval, now: cpu.instructionCount)
        pageRecency = r
        return r
    }
}
