import PC

/// Which RAM pages the guest used most recently before it was suspended,
/// kept in the capsule's state as the optional section `pageRecency` so
/// that a migration can stream those pages first (the resumed guest then
/// rarely waits for one). Not machine state: restoring ignores it, and a
/// capsule without it streams in plain order.
///
/// Payload (version 1): u32 array of page frame numbers, most recent
/// first; only pages seen in the last `epochs` samples.
public enum PageRecencyRecord {
    public static let tag = "pageRecency"
    /// Samples a page may be old and still count as recent.
    static let epochs: UInt32 = 8

    static func section(_ r: PageRecency) -> StateSection {
        let first = r.epoch > epochs ? r.epoch - epochs : 0
        let pages = r.pagesByRecency().prefix { p in r.lastEpoch(of: p).map { $0 >= first } ?? false }
        var w = StateWriter()
        w.write(Array(pages))
        return w.section(tag: tag, version: 1, optional: true)
    }

    /// The record in a capsule's state file; empty when there is none (or
    /// it cannot be read: it is only a hint).
    static func pages(inState bytes: [UInt8]) -> [UInt64] {
        guard let c = try? StateContainer.decode(bytes), let s = c.section(tag), s.version == 1 else { return [] }
        var r = StateReader(s)
        return ((try? r.readU32Array()) ?? []).map(UInt64.init)
    }
}

extension Store.Exported {
    /// The pages a migration streams first: those the guest used last
    /// before it was suspended, as the capsule recorded them.
    public var recentPages: [UInt64] { PageRecencyRecord.pages(inState: state) }
}
