/// A disk as the storage controllers see it: 512-byte sectors. The same
/// shape as the IDE helper's `BlockDevice` (the lead unifies the two).
public protocol SectorDevice: AnyObject {
    var sectorCount: UInt64 { get }
    var readOnly: Bool { get }
    func read(sector: UInt64, count: Int, into: UnsafeMutableRawBufferPointer) throws
    func write(sector: UInt64, count: Int, from: UnsafeRawBufferPointer) throws
    func flush() throws
}
