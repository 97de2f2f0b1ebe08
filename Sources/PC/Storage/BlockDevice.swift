#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A disk as the devices see it: an array of 512-byte sectors.
///
/// Every operation reports failure by throwing; the device that called it
/// turns the error into a guest-visible error (an ATA status with ERR set,
/// a SCSI sense key), never a crash. Implementations: `RawFileDisk` (a raw
/// image file), `MemoryBlockDevice` (tests, scratch disks) and, later, the
/// capsule's copy-on-write layered disk.
public protocol BlockDevice: AnyObject {
    /// Number of 512-byte sectors.
    var sectorCount: UInt64 { get }
    /// Writes throw `BlockDeviceError.readOnly`.
    var readOnly: Bool { get }
    /// Reads `count` sectors starting at `sector` into `into`, which holds
    /// at least `count * 512` bytes.
    func read(sector: UInt64, count: Int, into: UnsafeMutableRawBufferPointer) throws
    /// Writes `count` sectors starting at `sector` from `from`.
    func write(sector: UInt64, count: Int, from: UnsafeRawBufferPointer) throws
    /// Makes every completed write durable.
    func flush() throws
}

public let blockSectorSize = 512

/// Why a block device operation failed.
public enum BlockDeviceError: Error, CustomStringConvertible, Equatable {
    /// The image could not be opened (missing file, permissions…).
    case open(path: String, reason: String)
    /// The image is not usable as a disk (a directory, zero bytes, …).
    case invalidImage(path: String, reason: String)
    /// The request reaches past the last sector.
    case outOfRange(sector: UInt64, count: Int, sectorCount: UInt64)
    /// A write to a read-only device.
    case readOnly
    /// The host reported an I/O error (errno text) or a short transfer.
    case io(String)

    public var description: String {
        switch self {
        case let .open(path, reason): return "cannot open disk image \(path): \(reason)"
        case let .invalidImage(path, reason): return "disk image \(path) is not usable: \(reason)"
        case let .outOfRange(sector, count, total):
            return "access to sectors \(sector)..<\(sector + UInt64(count)) beyond the end of the disk (\(total) sectors)"
        case .readOnly: return "the disk is read-only"
        case let .io(reason): return "disk I/O error: \(reason)"
        }
    }
}

private func errnoText(_ e: Int32) -> String {
    String(cString: strerror(e))
}

extension BlockDevice {
    /// Throws `outOfRange` unless `[sector, sector+count)` lies on the disk.
    public func checkRange(sector: UInt64, count: Int) throws {
        guard count >= 0, sector <= sectorCount, UInt64(count) <= sectorCount - sector else {
            throw BlockDeviceError.outOfRange(sector: sector, count: count, sectorCount: sectorCount)
        }
    }
}

/// A raw disk image file (no header: byte 512·n is the start of sector n),
/// accessed with POSIX `pread`/`pwrite`. A trailing partial sector is
/// ignored. The file is `flock`ed (exclusive for read-write, shared for
/// read-only) while open.
public final class RawFileDisk: BlockDevice {
    public let path: String
    public let readOnly: Bool
    public let sectorCount: UInt64
    private var fd: Int32

    /// Opens `path`; `readOnly` opens the file with O_RDONLY so even a
    /// write-protected image can be used.
    public init(path: String, readOnly: Bool = false) throws {
        self.path = path
        self.readOnly = readOnly
        let flags = readOnly ? O_RDONLY : O_RDWR
        let fd = open(path, flags | O_CLOEXEC)
        guard fd >= 0 else {
            throw BlockDeviceError.open(path: path, reason: errnoText(errno))
        }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            let e = errno
            close(fd)
            throw BlockDeviceError.open(path: path, reason: errnoText(e))
        }
        guard (st.st_mode & S_IFMT) == S_IFREG || (st.st_mode & S_IFMT) == S_IFBLK else {
            close(fd)
            throw BlockDeviceError.invalidImage(path: path, reason: "not a regular file or block device")
        }
        // Two machines writing one image corrupt it: take an exclusive
        // lock for read-write use, a shared one for read-only use.
        // Filesystems without flock support are accepted as they are.
        if flock(fd, (readOnly ? LOCK_SH : LOCK_EX) | LOCK_NB) != 0 && errno == EWOULDBLOCK {
            close(fd)
            throw BlockDeviceError.open(path: path, reason: "the image is in use by another process (locked)")
        }
        var size = UInt64(st.st_size)
        if (st.st_mode & S_IFMT) == S_IFBLK {
            let end = lseek(fd, 0, SEEK_END)
            size = end > 0 ? UInt64(end) : 0
        }
        guard size >= UInt64(blockSectorSize) else {
            close(fd)
            throw BlockDeviceError.invalidImage(path: path, reason: "smaller than one 512-byte sector (\(size) bytes)")
        }
        self.fd = fd
        sectorCount = size / UInt64(blockSectorSize)
    }

    deinit {
        if fd >= 0 { close(fd) }
    }

    public func read(sector: UInt64, count: Int, into: UnsafeMutableRawBufferPointer) throws {
        try checkRange(sector: sector, count: count)
        let bytes = count * blockSectorSize
        precondition(into.count >= bytes, "buffer too small for \(count) sectors")
        var done = 0
        while done < bytes {
            let n = pread(fd, into.baseAddress! + done, bytes - done, off_t(sector * UInt64(blockSectorSize)) + off_t(done))
            if n < 0 {
                if errno == EINTR { continue }
                throw BlockDeviceError.io("read of \(path) at sector \(sector): \(errnoText(errno))")
            }
            if n == 0 {
                throw BlockDeviceError.io("read of \(path) at sector \(sector): unexpected end of file")
            }
            done += n
        }
    }

    public func write(sector: UInt64, count: Int, from: UnsafeRawBufferPointer) throws {
        guard !readOnly else { throw BlockDeviceError.readOnly }
        try checkRange(sector: sector, count: count)
        let bytes = count * blockSectorSize
        precondition(from.count >= bytes, "buffer too small for \(count) sectors")
        var done = 0
        while done < bytes {
            let n = pwrite(fd, from.baseAddress! + done, bytes - done, off_t(sector * UInt64(blockSectorSize)) + off_t(done))
            if n < 0 {
                if errno == EINTR { continue }
                throw BlockDeviceError.io("write of \(path) at sector \(sector): \(errnoText(errno))")
            }
            if n == 0 {
                throw BlockDeviceError.io("write of \(path) at sector \(sector): no progress")
            }
            done += n
        }
    }

    public func flush() throws {
        guard !readOnly else { return }
        if fsync(fd) != 0 {
            throw BlockDeviceError.io("fsync of \(path): \(errnoText(errno))")
        }
    }
}

/// A disk held in host memory: tests, scratch disks, and a device that can
/// be told to fail (`failingSectors`) to exercise the error paths.
public final class MemoryBlockDevice: BlockDevice {
    public private(set) var bytes: [UInt8]
    public let readOnly: Bool
    /// Sectors whose reads and writes throw an I/O error.
    public var failingSectors: Set<UInt64> = []
    public private(set) var flushCount = 0

    public init(sectors: Int, readOnly: Bool = false) {
        bytes = [UInt8](repeating: 0, count: sectors * blockSectorSize)
        self.readOnly = readOnly
    }

    public init(contents: [UInt8], readOnly: Bool = false) {
        precondition(contents.count % blockSectorSize == 0, "contents must be whole sectors")
        bytes = contents
        self.readOnly = readOnly
    }

    public var sectorCount: UInt64 { UInt64(bytes.count / blockSectorSize) }

    private func checkFailures(_ sector: UInt64, _ count: Int) throws {
        guard !failingSectors.isEmpty else { return }
        for s in sector..<(sector + UInt64(count)) where failingSectors.contains(s) {
            throw BlockDeviceError.io("simulated failure at sector \(s)")
        }
    }

    public func read(sector: UInt64, count: Int, into: UnsafeMutableRawBufferPointer) throws {
        try checkRange(sector: sector, count: count)
        try checkFailures(sector, count)
        let start = Int(sector) * blockSectorSize
        let n = count * blockSectorSize
        bytes.withUnsafeBytes { src in
            into.baseAddress!.copyMemory(from: src.baseAddress! + start, byteCount: n)
        }
    }

    public func write(sector: UInt64, count: Int, from: UnsafeRawBufferPointer) throws {
        guard !readOnly else { throw BlockDeviceError.readOnly }
        try checkRange(sector: sector, count: count)
        try checkFailures(sector, count)
        let start = Int(sector) * blockSectorSize
        let n = count * blockSectorSize
        bytes.withUnsafeMutableBytes { dst in
            (dst.baseAddress! + start).copyMemory(from: from.baseAddress!, byteCount: n)
        }
    }

    public func flush() throws { flushCount += 1 }
}
