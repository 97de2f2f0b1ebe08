#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A byte stream to one debugger. The session only needs these three calls,
/// so tests can drive it without a socket.
public protocol GDBTransport: AnyObject {
    /// Sends all bytes; false once the peer is gone.
    @discardableResult func send(_ bytes: [UInt8]) -> Bool
    /// Bytes that arrived within `timeoutMs` (0 polls, negative waits
    /// forever): empty on timeout, nil once the peer has closed.
    func receive(timeoutMs: Int) -> [UInt8]?
    func close()
}

public struct GDBSocketError: Error, CustomStringConvertible {
    public let description: String
    init(_ what: String) {
        description = "\(what): \(String(cString: strerror(errno)))"
    }
    init(message: String) { description = message }
}

#if os(Linux)
private let streamSocket = Int32(SOCK_STREAM.rawValue)
private let sendFlags = Int32(MSG_NOSIGNAL)
#else
private let streamSocket = SOCK_STREAM
private let sendFlags: Int32 = 0
#endif

/// A connected TCP socket.
public final class GDBSocketConnection: GDBTransport {
    private var fd: Int32

    init(fd: Int32) {
        self.fd = fd
        var one: Int32 = 1
        // Small request/reply packets: do not let Nagle hold them back.
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        #if !os(Linux)
        setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, socklen_t(MemoryLayout<Int32>.size))
        #endif
    }

    deinit { close() }

    public func send(_ bytes: [UInt8]) -> Bool {
        guard fd >= 0 else { return false }
        var sent = 0
        while sent < bytes.count {
            let n = bytes.withUnsafeBytes { raw in
                Glibc_send(fd, raw.baseAddress! + sent, raw.count - sent, sendFlags)
            }
            if n < 0 {
                if errno == EINTR { continue }
                return false
            }
            sent += n
        }
        return true
    }

    public func receive(timeoutMs: Int) -> [UInt8]? {
        guard fd >= 0 else { return nil }
        guard waitReadable(fd, timeoutMs: timeoutMs) else { return [] }
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, $0.count, 0) }
            if n > 0 { return Array(buffer[0..<n]) }
            if n < 0 && errno == EINTR { continue }
            return nil
        }
    }

    public func close() {
        if fd >= 0 {
            shutdown(fd, Int32(SHUT_RDWR))
            _ = Glibc_close(fd)
            fd = -1
        }
    }
}

/// A listening TCP socket that hands out one connection at a time.
public final class GDBListener {
    private var fd: Int32 = -1
    /// The bound port (useful when asked for port 0).
    public private(set) var port: UInt16 = 0
    public let host: String

    /// Binds `host:port`; `host` is a numeric IPv4/IPv6 address or a name
    /// such as `localhost`. The default binds the loopback interface only.
    public init(host: String = "127.0.0.1", port: UInt16) throws {
        self.host = host
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = streamSocket
        hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV
        var list: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, String(port), &hints, &list)
        guard rc == 0, let first = list else {
            throw GDBSocketError(message: "cannot resolve listen address '\(host)': \(String(cString: gai_strerror(rc)))")
        }
        defer { freeaddrinfo(list) }
        var lastError = GDBSocketError(message: "no usable address for '\(host)'")
        var info: UnsafeMutablePointer<addrinfo>? = first
        while let ai = info {
            info = ai.pointee.ai_next
            let s = socket(ai.pointee.ai_family, ai.pointee.ai_socktype, ai.pointee.ai_protocol)
            if s < 0 { lastError = GDBSocketError("socket"); continue }
            var one: Int32 = 1
            setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
            if bind(s, ai.pointee.ai_addr, ai.pointee.ai_addrlen) != 0 || listen(s, 1) != 0 {
                lastError = GDBSocketError("cannot listen on \(host):\(port)")
                _ = Glibc_close(s)
                continue
            }
            fd = s
            break
        }
        guard fd >= 0 else { throw lastError }
        self.port = Self.boundPort(fd)
    }

    deinit { close() }

    /// Waits up to `timeoutMs` (negative: forever) for a debugger; nil on
    /// timeout or once the listener is closed.
    public func accept(timeoutMs: Int) -> GDBSocketConnection? {
        guard fd >= 0, waitReadable(fd, timeoutMs: timeoutMs) else { return nil }
        let c = Glibc_accept(fd, nil, nil)
        guard c >= 0 else { return nil }
        return GDBSocketConnection(fd: c)
    }

    /// A connection is waiting in the backlog.
    public var hasPendingConnection: Bool { fd >= 0 && waitReadable(fd, timeoutMs: 0) }

    public func close() {
        if fd >= 0 {
            _ = Glibc_close(fd)
            fd = -1
        }
    }

    private static func boundPort(_ fd: Int32) -> UInt16 {
        var storage = sockaddr_storage()
        var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let ok = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) == 0 }
        }
        guard ok else { return 0 }
        let family = Int32(storage.ss_family)
        return withUnsafePointer(to: storage) { p -> UInt16 in
            if family == AF_INET6 {
                return p.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin6_port) }
            }
            return p.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin_port) }
        }
    }
}

/// poll(2) for readability; EINTR restarts the wait.
func waitReadable(_ fd: Int32, timeoutMs: Int) -> Bool {
    var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
    while true {
        let n = poll(&p, 1, Int32(clamping: timeoutMs))
        if n < 0 && errno == EINTR { continue }
        return n > 0
    }
}

// The C functions under names that do not clash with our own methods.
private func Glibc_send(_ fd: Int32, _ p: UnsafeRawPointer, _ n: Int, _ flags: Int32) -> Int {
    send(fd, p, n, flags)
}
private func Glibc_close(_ fd: Int32) -> Int32 { close(fd) }
private func Glibc_accept(_ fd: Int32, _ a: UnsafeMutablePointer<sockaddr>?, _ l: UnsafeMutablePointer<socklen_t>?) -> Int32 {
    accept(fd, a, l)
}
