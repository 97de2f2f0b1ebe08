/// What the migration layer learns from the TLB without touching the hot
/// path: which RAM pages the CPU has mapped since the last flush (a page
/// the guest touches gets a TLB entry on its first access after a flush),
/// and a way to drop every cached translation (after a page is remapped
/// under the CPU, e.g. marked absent for demand paging).
extension CPU {
    /// Calls `body` with the RAM page frame of every valid TLB entry (a
    /// page may be reported more than once), then flushes the TLB so the
    /// next touch of any page is seen again.
    public func drainMappedPages(_ body: (UInt32) -> Void) {
        visitMappedPages(body)
        flushTranslations()
    }

    /// Calls `body` with the RAM page frame of every valid TLB entry,
    /// leaving the TLB as it is.
    public func visitMappedPages(_ body: (UInt32) -> Void) {
        let ramStart = UnsafeMutableRawPointer(memory.ram)
        let ramEnd = ramStart + memory.ramSize
        for i in 0..<(CPU.tlbEntries * 4) where tlbTag[i] != CPU.tlbInvalid {
            guard let host = tlbHost[i], host >= ramStart, host < ramEnd else { continue }
            body(UInt32((host - ramStart) >> 12))
        }
    }

    /// Drops every cached translation, global ones included; the guest sees
    /// no difference (the next access walks the page tables again).
    public func flushTranslations() {
        flushTLB(includingGlobal: true)
    }
}
