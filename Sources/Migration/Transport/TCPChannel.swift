#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A `HOST:PORT` address as users write it: `10.0.0.2:7000`,
/// `localhost:7000`, `[::1]:7000`, or `:7000` / `0.0.0.0:7000` to listen
/// on every interface. Port 0 (listen only) asks the system for a free port.
public struct HostPort: Equatable, Sendable, CustomStringConvertible {
    public var host: String
    public var port: UInt16

    public init(host: String, port: UInt16) { self.host = host; self.port = port }

    /// Parses `text`; the error names what is wrong with it.
    public static func parse(_ text: String) throws(ChannelError) -> HostPort {
        func bad(_ why: String) -> ChannelError { .system("invalid address \(String(reflecting: text)): \(why) (expected HOST:PORT)") }
        guard text.utf8.count <= 300 else { throw bad("too long") }
        let host: Substring, portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { throw bad("unclosed '['") }
            host = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else { throw bad("no ':PORT' after the bracketed host") }
            portText = rest.dropFirst()
        } else {
            guard let colon = text.lastIndex(of: ":") else { throw bad("no port") }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
            if host.contains(":") { throw bad("an IPv6 host must be written in brackets, [::1]:PORT") }
        }
        guard !portText.isEmpty, portText.allSatisfy({ $0.isASCII && $0.isNumber }), let p = UInt16(portText) else {
            throw bad("port \(String(reflecting: String(portText))) is not a number from 0 to 65535")
        }
        for u in host.unicodeScalars where u.value <= 0x20 || u.value >= 0x7F {
            throw bad("the host contains a space, control or non-ASCII character")
        }
        return HostPort(host: String(host), port: p)
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    /// The socket addresses `host` resolves to (numeric or by name).
    /// `passive`: for listening, an empty host means every interface.
    func resolve(passive: Bool) throws(ChannelError) -> [[UInt8]] {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        #if canImport(Glibc)
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        #else
        hints.ai_socktype = SOCK_STREAM
        #endif
        hints.ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0)
        var list: UnsafeMutablePointer<addrinfo>?
        let h: String? = host.isEmpty ? (passive ? nil : "localhost") : host
        let rc = getaddrinfo(h, String(port), &hints, &list)
        guard rc == 0, let first = list else {
            throw .system("cannot resolve \(String(reflecting: host)): \(String(cString: gai_strerror(rc)))")
        }
        defer { freeaddrinfo(first) }
        var out: [[UInt8]] = []
        var p: UnsafeMutablePointer<addrinfo>? = first
        while let a = p {
            if let sa = a.pointee.ai_addr {
                out.append([UInt8](UnsafeRawBufferPointer(start: sa, count: Int(a.pointee.ai_addrlen))))
            }
            p = a.pointee.ai_next
        }
        return out
    }
}

/// A plain TCP connection as a `MigrationChannel`: real sockets, no
/// encryption (the TLS channel wraps one of these). Every send and receive
/// waits at most `timeout` seconds for progress, so a peer that vanishes
/// without closing (a pulled cable) ends the call with `.timeout` instead
/// of hanging the migration.
public final class TCPChannel: MigrationChannel {
    /// The connected socket. The TLS channel hands it to OpenSSL; it stays
    /// owned by this object (closed by `close()` or deinit).
    public let descriptor: Int32
    public let peerDescription: String
    /// Seconds a send or receive may wait for the peer; 0 = forever.
    public var timeout: Double
    private var closed = false

    /// Wraps a connected socket (taking ownership).
    public init(descriptor: Int32, peer: String, timeout: Double = 60) {
        self.descriptor = descriptor
        self.peerDescription = peer
        self.timeout = timeout
        TCPChannel.ignoreBrokenPipe()
        var one: Int32 = 1
        // Small protocol frames must not wait for Nagle's algorithm.
        _ = setsockopt(descriptor, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        #if canImport(Darwin)
        _ = setsockopt(descriptor, SOL_SOCKET, SO_NOSIGPIPE, &one, socklen_t(MemoryLayout<Int32>.size))
        #endif
    }

    deinit { close() }

    /// Connects to `address` (`HOST:PORT`), trying each address the host
    /// resolves to; waits at most `timeout` seconds for each attempt.
    public static func connect(to address: String, timeout: Double = 10, ioTimeout: Double = 60) throws(ChannelError) -> TCPChannel {
        let hp = try HostPort.parse(address)
        guard hp.port != 0 else { throw .system("cannot connect to \(address): port 0") }
        var lastError = ChannelError.system("cannot connect to \(hp): no address")
        for sa in try hp.resolve(passive: false) {
            let family = sa.withUnsafeBytes { Int32($0.load(fromByteOffset: familyOffset, as: sa_family_t.self)) }
            let fd = socket(family, socketStream, 0)
            if fd < 0 { lastError = .system("socket: \(errnoText())"); continue }
            do throws(ChannelError) {
                try connectWithTimeout(fd, sa, timeout: timeout, name: hp.description)
                return TCPChannel(descriptor: fd, peer: hp.description, timeout: ioTimeout)
            } catch {
                _ = posixClose(fd)
                lastError = error
            }
        }
        throw lastError
    }

    private static func connectWithTimeout(_ fd: Int32, _ sa: [UInt8], timeout: Double, name: String) throws(ChannelError) {
        let flags = fcntl(fd, F_GETFL)
        _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
        let rc = sa.withUnsafeBytes { p in
            posixConnect(fd, p.baseAddress!.assumingMemoryBound(to: sockaddr.self), socklen_t(sa.count))
        }
        if rc != 0 {
            guard errno == EINPROGRESS else { throw .system("connect to \(name): \(errnoText())") }
            try waitFor(fd, events: Int16(POLLOUT), timeout: timeout, what: "connecting to \(name)")
            var err: Int32 = 0
            var len = socklen_t(MemoryLayout<Int32>.size)
            _ = getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len)
            if err != 0 { throw .system("connect to \(name): \(String(cString: strerror(err)))") }
        }
        _ = fcntl(fd, F_SETFL, flags)
    }

    public func send(_ bytes: UnsafeRawBufferPointer) throws(ChannelError) {
        guard !closed else { throw .closed("channel to \(peerDescription) was closed") }
        var done = 0
        while done < bytes.count {
            try TCPChannel.waitFor(descriptor, events: Int16(POLLOUT), timeout: timeout, what: "sending to \(peerDescription)")
            let n = posixSend(descriptor, bytes.baseAddress! + done, bytes.count - done)
            if n < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                if errno == EPIPE || errno == ECONNRESET { throw .closed("\(peerDescription) reset the connection") }
                throw .system("send to \(peerDescription): \(errnoText())")
            }
            done += n
        }
    }

    public func receive(into buffer: UnsafeMutableRawBufferPointer) throws(ChannelError) {
        guard !closed else { throw .closed("channel to \(peerDescription) was closed") }
        var done = 0
        while done < buffer.count {
            try TCPChannel.waitFor(descriptor, events: Int16(POLLIN), timeout: timeout, what: "receiving from \(peerDescription)")
            let n = recv(descriptor, buffer.baseAddress! + done, buffer.count - done, 0)
            if n < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                if errno == ECONNRESET { throw .closed("\(peerDescription) reset the connection") }
                throw .system("receive from \(peerDescription): \(errnoText())")
            }
            if n == 0 { throw .closed("\(peerDescription) ended the connection after \(done) of \(buffer.count) bytes") }
            done += n
        }
    }

    /// True when the peer has sent something (or closed) that `receive`
    /// would return without waiting.
    public func hasPendingInput() -> Bool {
        guard !closed else { return false }
        var p = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        return poll(&p, 1, 0) > 0
    }

    public func close() {
        if closed { return }
        closed = true
        _ = shutdown(descriptor, Int32(SHUT_RDWR))
        _ = posixClose(descriptor)
    }

    /// Waits until `fd` is ready for `events`; `.timeout` after `timeout`
    /// seconds without it (0 = no limit).
    public static func waitFor(_ fd: Int32, events: Int16, timeout: Double, what: String) throws(ChannelError) {
        let ms: Int32 = timeout <= 0 ? -1 : Int32(min(timeout * 1000, Double(Int32.max)).rounded(.up))
        while true {
            var p = pollfd(fd: fd, events: events, revents: 0)
            let rc = poll(&p, 1, ms)
            if rc > 0 { return }  // ready, or an error the next call reports
            if rc == 0 { throw .timeout("no progress for \(formatSeconds(timeout)) while \(what)") }
            if errno != EINTR { throw .system("poll: \(errnoText())") }
        }
    }

    /// Writing to a socket the peer has closed must be an error, not a
    /// signal that kills the process (OpenSSL writes with plain write(2)).
    public static func ignoreBrokenPipe() {
        _ = ignoreSIGPIPEOnce
    }

    private static let ignoreSIGPIPEOnce: Void = { _ = signal(SIGPIPE, SIG_IGN) }()
}

/// A listening TCP socket.
public final class TCPListener {
    public let descriptor: Int32
    /// The bound address (with the real port when 0 was asked for).
    public let address: HostPort
    private var closed = false
    /// True once `close()` was called.
    public var isClosed: Bool { closed }

    /// Binds and listens on `address` (`HOST:PORT`; `:PORT` = every interface).
    public init(address text: String, backlog: Int32 = 16) throws(ChannelError) {
        let hp = try HostPort.parse(text)
        var lastError = ChannelError.system("cannot listen on \(hp): no address")
        for sa in try hp.resolve(passive: true) {
            let family = sa.withUnsafeBytes { Int32($0.load(fromByteOffset: familyOffset, as: sa_family_t.self)) }
            let fd = socket(family, socketStream, 0)
            if fd < 0 { lastError = .system("socket: \(errnoText())"); continue }
            var one: Int32 = 1
            // A restarted server must not wait out TIME_WAIT of its last run.
            _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
            let rc = sa.withUnsafeBytes { p in bind(fd, p.baseAddress!.assumingMemoryBound(to: sockaddr.self), socklen_t(sa.count)) }
            if rc != 0 || listen(fd, backlog) != 0 {
                lastError = .system("cannot listen on \(hp): \(errnoText())")
                _ = posixClose(fd)
                continue
            }
            descriptor = fd
            var bound = sockaddr_storage()
            var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
            _ = withUnsafeMutablePointer(to: &bound) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
            address = HostPort(host: hp.host, port: portOf(bound))
            return
        }
        throw lastError
    }

    deinit { close() }

    /// Waits for the next connection (at most `timeout` seconds; nil = forever).
    public func accept(timeout: Double? = nil, ioTimeout: Double = 60) throws(ChannelError) -> TCPChannel {
        while true {
            guard !closed else { throw .closed("listener on \(address) was closed") }
            try TCPChannel.waitFor(descriptor, events: Int16(POLLIN), timeout: timeout ?? 0, what: "waiting for a connection on \(address)")
            var peer = sockaddr_storage()
            var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let fd = withUnsafeMutablePointer(to: &peer) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { posixAccept(descriptor, $0, &len) } }
            if fd < 0 {
                if errno == EINTR || errno == ECONNABORTED || errno == EAGAIN { continue }
                throw .system("accept on \(address): \(errnoText())")
            }
            return TCPChannel(descriptor: fd, peer: describe(peer), timeout: ioTimeout)
        }
    }

    /// Stops listening; an `accept` waiting in another thread returns `.closed`.
    public func close() {
        if closed { return }
        closed = true
        // shutdown(2) wakes a poll(2) blocked on the socket; close alone does not.
        _ = shutdown(descriptor, Int32(SHUT_RDWR))
        _ = posixClose(descriptor)
    }
}

// MARK: - socket helpers

#if canImport(Glibc)
private let socketStream = Int32(SOCK_STREAM.rawValue)
#else
private let socketStream = SOCK_STREAM
#endif

/// Where sa_family lives in a sockaddr (Linux: offset 0, u16; BSD: offset 1, u8).
#if canImport(Darwin)
private let familyOffset = 1
#else
private let familyOffset = 0
#endif

private func errnoText() -> String { String(cString: strerror(errno)) }

func formatSeconds(_ s: Double) -> String {
    s == s.rounded() ? "\(Int(s)) s" : "\(s) s"
}

private func portOf(_ ss: sockaddr_storage) -> UInt16 {
    var s = ss
    return withUnsafeBytes(of: &s) { p in
        // sin_port and sin6_port are both at offset 2, big-endian.
        UInt16(bigEndian: p.load(fromByteOffset: 2, as: UInt16.self))
    }
}

/// "10.0.0.2:51234" or "[::1]:51234" for messages.
private func describe(_ ss: sockaddr_storage) -> String {
    var s = ss
    var host = [CChar](repeating: 0, count: Int(NI_MAXHOST))
    let len = socklen_t(Int32(ss.ss_family) == AF_INET6 ? MemoryLayout<sockaddr_in6>.size : MemoryLayout<sockaddr_in>.size)
    let rc = withUnsafePointer(to: &s) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        getnameinfo($0, len, &host, socklen_t(host.count), nil, 0, NI_NUMERICHOST)
    } }
    let h = rc == 0 ? String(cString: host) : "?"
    let hp = HostPort(host: h, port: portOf(ss))
    return hp.description
}

// The plain names are shadowed inside the types by their own methods.
@inline(__always) private func posixClose(_ fd: Int32) -> Int32 { close(fd) }
@inline(__always) private func posixConnect(_ fd: Int32, _ a: UnsafePointer<sockaddr>, _ l: socklen_t) -> Int32 { connect(fd, a, l) }
@inline(__always) private func posixAccept(_ fd: Int32, _ a: UnsafeMutablePointer<sockaddr>, _ l: UnsafeMutablePointer<socklen_t>) -> Int32 { accept(fd, a, l) }
@inline(__always) private func posixSend(_ fd: Int32, _ p: UnsafeRawPointer, _ n: Int) -> Int {
    #if canImport(Glibc)
    return Glibc.send(fd, p, n, Int32(MSG_NOSIGNAL))
    #else
    return Darwin.send(fd, p, n, 0)
    #endif
}
