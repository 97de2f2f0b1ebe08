import PC

/// A disk for re-executing a run: reads come from a capsule's sealed
/// layers, writes stay in memory and are dropped with the object, so a
/// replay never touches the capsule's own working disk.
final class ScratchOverlay: BlockDevice {
    let lower: LayeredDisk
    private var written: [UInt64: [UInt8]] = [:]

    init(_ lower: LayeredDisk) { self.lower = lower }

    var sectorCount: UInt64 { lower.sectorCount }
    var readOnly: Bool { false }

    func read(sector: UInt64, count: Int, into buffer: UnsafeMutableRawBufferPointer) throws {
        try lower.read(sector: sector, count: count, into: buffer)
        if written.isEmpty { return }
        for i in 0..<count {
            guard let s = written[sector + UInt64(i)] else { continue }
            s.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: buffer[(i * 512)..<((i + 1) * 512)]).copyMemory(from: $0) }
        }
    }

    func write(sector: UInt64, count: Int, from buffer: UnsafeRawBufferPointer) throws {
        guard sector <= sectorCount, UInt64(count) <= sectorCount - sector else {
            throw BlockDeviceError.outOfRange(sector: sector, count: count, sectorCount: sectorCount)
        }
        for i in 0..<count { written[sector + UInt64(i)] = Array(buffer[(i * 512)..<((i + 1) * 512)]) }
    }

    func flush() throws {}
}
