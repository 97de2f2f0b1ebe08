import PC

/// A disk that remembers what every write overwrote, so reverse execution
/// can put the disk back as it was at a checkpoint. Without it, going back
/// in time would leave the guest reading sectors from its own future.
///
/// The journal grows with every write while a debugger records history;
/// `truncate(to:)` undoes writes newer than a mark.
public final class JournaledDisk: BlockDevice {
    public let inner: BlockDevice
    /// Old contents of overwritten sectors, oldest first.
    private var journal: [(sector: UInt64, old: [UInt8])] = []
    /// Off until a reverse engine starts recording.
    public var recording = false

    public init(_ inner: BlockDevice) { self.inner = inner }

    public var sectorCount: UInt64 { inner.sectorCount }
    public var readOnly: Bool { inner.readOnly }

    public func read(sector: UInt64, count: Int, into: UnsafeMutableRawBufferPointer) throws {
        try inner.read(sector: sector, count: count, into: into)
    }

    public func write(sector: UInt64, count: Int, from: UnsafeRawBufferPointer) throws {
        if recording && !inner.readOnly && count > 0 {
            var old = [UInt8](repeating: 0, count: count * blockSectorSize)
            try old.withUnsafeMutableBytes { try inner.read(sector: sector, count: count, into: $0) }
            journal.append((sector, old))
        }
        try inner.write(sector: sector, count: count, from: from)
    }

    public func flush() throws { try inner.flush() }

    /// The current journal position (a checkpoint keeps it).
    public var mark: Int { journal.count }

    /// Undoes every write after `mark`, newest first.
    public func truncate(to mark: Int) throws {
        while journal.count > mark, let last = journal.popLast() {
            try last.old.withUnsafeBytes { try inner.write(sector: last.sector, count: last.old.count / blockSectorSize, from: $0) }
        }
    }

    /// Forgets undo data older than `mark` (the oldest checkpoint moved on).
    /// Marks given out before become `mark` smaller.
    public func discard(before mark: Int) {
        journal.removeFirst(min(mark, journal.count))
    }
}
