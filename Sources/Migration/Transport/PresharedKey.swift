#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Capsule
import COpenSSL

/// The 256-bit secret of `--psk FILE`: both hosts hold the same file and
/// authenticate each other with it as a TLS 1.3 external pre-shared key.
///
/// File format (text, one key per file; `capsule keygen FILE` writes it):
///
///     # comment lines start with '#', blank lines are ignored
///     capsule-psk-v1 <64 hexadecimal digits>
///
/// The tag names the format version so that a later format is refused with
/// a clear message instead of being misread. The file must be readable by
/// its owner only (mode 0600), as for an SSH private key: anyone who reads
/// it can impersonate either host.
public struct PresharedKey: Equatable, Sendable, CustomStringConvertible {
    public static let byteCount = 32
    public static let formatTag = "capsule-psk-v1"
    /// Larger files are not key files; refuse before reading them whole.
    static let maxFileSize = 4096

    public let bytes: [UInt8]

    public init(bytes: [UInt8]) throws(TransportSetupError) {
        guard bytes.count == Self.byteCount else {
            throw TransportSetupError("a pre-shared key is \(Self.byteCount) bytes, not \(bytes.count)")
        }
        self.bytes = bytes
    }

    /// A fresh key from OpenSSL's CSPRNG.
    public static func generate() throws(TransportSetupError) -> PresharedKey {
        var b = [UInt8](repeating: 0, count: byteCount)
        guard RAND_bytes(&b, Int32(byteCount)) == 1 else {
            throw TransportSetupError("OpenSSL could not produce random bytes (RAND_bytes failed)")
        }
        return try PresharedKey(bytes: b)
    }

    /// A short digest that both hosts can print and compare without
    /// revealing the key (domain-separated so it is not a plain key hash).
    public var fingerprint: String {
        String(BlockName.of(Array("capsule psk fingerprint\0".utf8) + bytes).hex.prefix(16))
    }

    /// Never prints the secret itself.
    public var description: String { "pre-shared key \(fingerprint)" }

    /// The file's text.
    public var fileText: String {
        let hex = bytes.map { String($0, radix: 16).leftPadded(to: 2) }.joined()
        return """
        # Capsule migration pre-shared key (TLS 1.3 external PSK). Keep it secret:
        # copy this file to the other host (mode 0600) and pass --psk FILE on both.
        \(Self.formatTag) \(hex)

        """
    }

    /// Parses the file format; `source` names the file in errors.
    public static func parse(_ text: String, source: String) throws(TransportSetupError) -> PresharedKey {
        var found: [UInt8]?
        for (index, raw) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            let line = raw.trimmingWhitespace()
            if line.isEmpty || line.hasPrefix("#") { continue }
            let where_ = "\(source) line \(index + 1)"
            let fields = line.split(whereSeparator: \.isWhitespace)
            guard fields.count == 2, fields[0] == formatTag else {
                if let tag = fields.first, tag.hasPrefix("capsule-psk-") {
                    throw TransportSetupError("\(where_): unsupported key format '\(tag)' (this build reads \(formatTag))")
                }
                throw TransportSetupError("\(where_): expected '\(formatTag) <64 hex digits>'")
            }
            guard found == nil else { throw TransportSetupError("\(where_): a key file holds exactly one key") }
            let hex = fields[1]
            guard hex.count == byteCount * 2 else {
                throw TransportSetupError("\(where_): the key has \(hex.count) hex digits, expected \(byteCount * 2) (\(byteCount * 8) bits)")
            }
            var b: [UInt8] = []
            var it = hex.makeIterator()
            while let hi = it.next(), let lo = it.next() {
                guard let h = hi.hexDigitValue, let l = lo.hexDigitValue else {
                    throw TransportSetupError("\(where_): the key contains a character that is not a hex digit")
                }
                b.append(UInt8(h << 4 | l))
            }
            found = b
        }
        guard let b = found else { throw TransportSetupError("\(source): no '\(formatTag)' key line") }
        return try PresharedKey(bytes: b)
    }

    /// Reads and validates a key file: a regular file, owner-only
    /// permissions, the format above.
    public static func load(path: String) throws(TransportSetupError) -> PresharedKey {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw TransportSetupError("cannot open pre-shared key file \(path): \(errnoText())")
        }
        defer { _ = close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw TransportSetupError("cannot stat \(path): \(errnoText())") }
        guard st.st_mode & S_IFMT == S_IFREG else { throw TransportSetupError("\(path) is not a regular file") }
        let mode = st.st_mode & 0o777
        guard mode & 0o077 == 0 else {
            throw TransportSetupError("pre-shared key file \(path) is accessible by other users (mode \(String(mode, radix: 8))); run: chmod 600 \(path)")
        }
        guard Int(st.st_size) <= maxFileSize else {
            throw TransportSetupError("\(path) is \(st.st_size) bytes: too large for a pre-shared key file")
        }
        var buf = [UInt8](repeating: 0, count: maxFileSize + 1)
        var used = 0
        while used < buf.count {
            let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress! + used, $0.count - used) }
            if n < 0 { if errno == EINTR { continue }; throw TransportSetupError("cannot read \(path): \(errnoText())") }
            if n == 0 { break }
            used += n
        }
        guard used <= maxFileSize else { throw TransportSetupError("\(path) is too large for a pre-shared key file") }
        guard let text = String(validating: buf[0..<used], as: UTF8.self) else {
            throw TransportSetupError("\(path) is not a text file")
        }
        return try parse(text, source: path)
    }

    /// Writes the key file with mode 0600. Without `overwrite` an existing
    /// file is never touched; with it the old file is replaced atomically
    /// (a new file renamed over it), so a crash leaves one key or the other.
    public func write(to path: String, overwrite: Bool) throws(TransportSetupError) {
        let target = overwrite ? path + ".tmp-\(getpid())" : path
        let fd = open(target, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else {
            if errno == EEXIST && !overwrite {
                throw TransportSetupError("\(path) already exists; pass --force to replace it")
            }
            throw TransportSetupError("cannot create \(target): \(errnoText())")
        }
        var ok = false
        defer {
            _ = close(fd)
            if !ok { _ = unlink(target) }
        }
        // The umask can only remove bits; set exactly 0600 in case it is odd.
        guard fchmod(fd, 0o600) == 0 else { throw TransportSetupError("cannot chmod \(target): \(errnoText())") }
        let data = Array(fileText.utf8)
        var done = 0
        while done < data.count {
            let n = data.withUnsafeBytes { posixWrite(fd, $0.baseAddress! + done, $0.count - done) }
            if n < 0 { if errno == EINTR { continue }; throw TransportSetupError("cannot write \(target): \(errnoText())") }
            done += n
        }
        guard fsync(fd) == 0 else { throw TransportSetupError("cannot sync \(target): \(errnoText())") }
        if overwrite {
            guard rename(target, path) == 0 else { throw TransportSetupError("cannot replace \(path): \(errnoText())") }
        }
        ok = true
    }
}

/// `write(2)`, named so that methods called `write` do not shadow it.
func posixWrite(_ fd: Int32, _ p: UnsafeRawPointer, _ n: Int) -> Int {
    #if canImport(Glibc)
    return Glibc.write(fd, p, n)
    #else
    return Darwin.write(fd, p, n)
    #endif
}

func errnoText(_ e: Int32 = errno) -> String { String(cString: strerror(e)) }

extension String {
    func leftPadded(to n: Int) -> String { count >= n ? self : String(repeating: "0", count: n - count) + self }
}

extension Substring {
    func trimmingWhitespace() -> Substring {
        var s = self
        while let f = s.first, f.isWhitespace { s = s.dropFirst() }
        while let l = s.last, l.isWhitespace { s = s.dropLast() }
        return s
    }
}
