#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The store's system calls, in one place, each turning a failure into a
/// `CapsuleError.io` naming the file.
enum FileIO {
    static func fail(_ path: String, _ op: String) -> CapsuleError {
        .io(path: path, operation: op, errno: errno)
    }

    static func open(_ path: String, _ flags: Int32, _ mode: mode_t = 0o644) throws -> Int32 {
        while true {
            let fd = Glibc_open(path, flags | O_CLOEXEC, mode)
            if fd >= 0 { return fd }
            if errno != EINTR { throw fail(path, "open") }
        }
    }

    static func close(_ fd: Int32) { _ = posixClose(fd) }

    /// Writes all of `buf` at `offset` (pwrite loop).
    static func pwriteAll(_ fd: Int32, _ buf: UnsafeRawBufferPointer, at offset: UInt64, path: String) throws {
        var done = 0
        while done < buf.count {
            let n = pwrite(fd, buf.baseAddress! + done, buf.count - done, off_t(offset) + off_t(done))
            if n < 0 {
                if errno == EINTR { continue }
                throw fail(path, "write")
            }
            done += n
        }
    }

    /// Reads up to `buf.count` bytes at `offset`; returns how many (short only at end of file).
    static func preadFull(_ fd: Int32, _ buf: UnsafeMutableRawBufferPointer, at offset: UInt64, path: String) throws -> Int {
        var done = 0
        while done < buf.count {
            let n = pread(fd, buf.baseAddress! + done, buf.count - done, off_t(offset) + off_t(done))
            if n < 0 {
                if errno == EINTR { continue }
                throw fail(path, "read")
            }
            if n == 0 { break }
            done += n
        }
        return done
    }

    static func fsync(_ fd: Int32, path: String) throws {
        #if canImport(Darwin)
        if fcntl(fd, F_FULLFSYNC) == 0 { return }
        #endif
        if Glibc_fsync(fd) != 0 { throw fail(path, "fsync") }
    }

    static func fsyncDirectory(_ path: String) throws {
        let fd = try open(path, O_RDONLY | O_DIRECTORY)
        defer { close(fd) }
        try fsync(fd, path: path)
    }

    static func fileSize(_ fd: Int32, path: String) throws -> UInt64 {
        var st = stat()
        if fstat(fd, &st) != 0 { throw fail(path, "stat") }
        return UInt64(st.st_size)
    }

    /// Size of the file at `path`, nil when it does not exist.
    static func size(_ path: String) -> UInt64? {
        var st = stat()
        if stat(path, &st) != 0 { return nil }
        return UInt64(st.st_size)
    }

    /// Blocks the file really occupies (sparse files occupy less than their size).
    static func allocatedBytes(_ path: String) -> UInt64 {
        var st = stat()
        if stat(path, &st) != 0 { return 0 }
        return UInt64(st.st_blocks) * 512
    }

    static func exists(_ path: String) -> Bool {
        access(path, F_OK) == 0
    }

    static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    /// mkdir -p (mode 0755).
    static func makeDirectories(_ path: String) throws {
        if isDirectory(path) { return }
        let parent = directoryOf(path)
        if !parent.isEmpty && parent != path { try makeDirectories(parent) }
        if mkdir(path, 0o755) != 0 && errno != EEXIST { throw fail(path, "mkdir") }
    }

    static func directoryOf(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        if slash == path.startIndex { return "/" }
        return String(path[..<slash])
    }

    static func rename(_ from: String, _ to: String) throws {
        if Glibc_rename(from, to) != 0 { throw fail(to, "rename") }
    }

    static func remove(_ path: String) throws {
        if unlink(path) != 0 && errno != ENOENT { throw fail(path, "unlink") }
    }

    static func removeDirectory(_ path: String) throws {
        if rmdir(path) != 0 && errno != ENOENT { throw fail(path, "rmdir") }
    }

    /// Removes a directory tree (used for capsule and disk directories, which
    /// hold only files).
    static func removeTree(_ path: String) throws {
        if !isDirectory(path) { try remove(path); return }
        for e in try list(path) { try removeTree(path + "/" + e) }
        try removeDirectory(path)
    }

    /// Names in a directory, without "." and "..".
    static func list(_ path: String) throws -> [String] {
        guard let d = opendir(path) else {
            if errno == ENOENT { return [] }
            throw fail(path, "opendir")
        }
        defer { closedir(d) }
        var out: [String] = []
        while let e = readdir(d) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { raw in
                String(cString: raw.baseAddress!.assumingMemoryBound(to: CChar.self))
            }
            if name != "." && name != ".." { out.append(name) }
        }
        return out
    }

    /// The whole file; files longer than `limit` are refused (a damaged
    /// or hostile file must not make us allocate without bound).
    static func readFile(_ path: String, limit: UInt64 = 1 << 34) throws -> [UInt8] {
        let fd = try open(path, O_RDONLY)
        defer { close(fd) }
        let fullSize = try fileSize(fd, path: path)
        guard fullSize <= limit else { throw CapsuleError.other("\(path) is \(fullSize) bytes, more than the \(limit) expected") }
        let size = Int(fullSize)
        var out = [UInt8](repeating: 0, count: size)
        let n = try out.withUnsafeMutableBytes { try preadFull(fd, $0, at: 0, path: path) }
        if n < size { out.removeSubrange(n...) }
        return out
    }

    /// A name for a temporary file in the same directory as `path`: dotted,
    /// so listings skip it, and marked `.tmp-` so gc recognises leftovers.
    static func temporaryName(for path: String) -> String {
        let dir = directoryOf(path)
        let base = path.lastIndex(of: "/").map { path[path.index(after: $0)...] } ?? path[...]
        return "\(dir)/.tmp-\(getpid())-\(UInt32.random(in: 0 ... .max))-\(base)"
    }

    /// Replaces `path` atomically: the bytes go to a temporary file in the
    /// same directory, which is fsynced, renamed over `path`, and the
    /// directory fsynced. A crash leaves either the old file or the new one.
    static func atomicWrite(_ bytes: [UInt8], to path: String, durable: Bool = true) throws {
        let tmp = temporaryName(for: path)
        let fd = try open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0o644)
        do {
            try bytes.withUnsafeBytes { try pwriteAll(fd, $0, at: 0, path: tmp) }
            if durable { try fsync(fd, path: tmp) }
            close(fd)
            try rename(tmp, path)
        } catch {
            close(fd)
            try? remove(tmp)
            throw error
        }
        if durable { try fsyncDirectory(directoryOf(path)) }
    }

    static func isTemporaryName(_ name: String) -> Bool { name.hasPrefix(".tmp-") }
}

// The plain names are shadowed by FileIO's own methods inside the enum.
@inline(__always) private func Glibc_open(_ p: String, _ f: Int32, _ m: mode_t) -> Int32 { open(p, f, m) }
@inline(__always) private func posixClose(_ fd: Int32) -> Int32 { close(fd) }
@inline(__always) private func Glibc_fsync(_ fd: Int32) -> Int32 { fsync(fd) }
@inline(__always) private func Glibc_rename(_ a: String, _ b: String) -> Int32 { rename(a, b) }
