#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The few socket system calls the TLS channel makes itself: it runs its
/// socket non-blocking and waits with poll(2), so that every wait has a
/// deadline and a second thread can use the other direction meanwhile.
enum SocketIO {
    /// Seconds on a clock that never jumps (CLOCK_MONOTONIC).
    static func monotonicNow() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    static func setNonBlocking(_ fd: Int32) throws(ChannelError) {
        let flags = fcntl(fd, F_GETFL)
        guard flags >= 0, fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0 else {
            throw .system("fcntl(O_NONBLOCK) on socket \(fd): \(errnoText())")
        }
        // Small protocol frames must not wait for Nagle's algorithm (fails
        // harmlessly on a socket that is not TCP).
        var nodelay: Int32 = 1
        _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &nodelay, socklen_t(MemoryLayout<Int32>.size))
        #if canImport(Darwin)
        // No MSG_NOSIGNAL on macOS: ask the socket not to raise SIGPIPE.
        var one: Int32 = 1
        _ = setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, socklen_t(MemoryLayout<Int32>.size))
        #endif
    }

    /// Waits until `fd` is readable (`POLLIN`) or writable (`POLLOUT`).
    /// Returns early on hang-up or error so the caller's next call reports
    /// it; throws `.timeout` when `deadline` (monotonic seconds) passes.
    static func wait(_ fd: Int32, for events: Int16, deadline: Double?, what: @autoclosure () -> String) throws(ChannelError) {
        while true {
            var timeoutMs: Int32 = -1
            if let d = deadline {
                let left = d - monotonicNow()
                if left <= 0 { throw .timeout(what()) }
                timeoutMs = Int32(min(left * 1000 + 1, Double(Int32.max)))
            }
            var p = pollfd(fd: fd, events: events, revents: 0)
            let r = poll(&p, 1, timeoutMs)
            if r < 0 {
                if errno == EINTR { continue }
                throw .system("poll: \(errnoText())")
            }
            if r == 0 { continue } // re-check the deadline
            if p.revents & Int16(POLLNVAL) != 0 { throw .closed("socket \(fd) is not open") }
            return
        }
    }

    /// The first byte the peer sent, without consuming it; nil at end of
    /// stream. Lets a server tell a plain TCP client from a TLS one.
    static func peekByte(_ fd: Int32, deadline: Double?, what: @autoclosure () -> String) throws(ChannelError) -> UInt8? {
        while true {
            try wait(fd, for: Int16(POLLIN), deadline: deadline, what: what())
            var b: UInt8 = 0
            let n = recv(fd, &b, 1, Int32(MSG_PEEK))
            if n == 1 { return b }
            if n == 0 { return nil }
            if errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK { continue }
            if errno == ECONNRESET { return nil }
            throw .system("recv: \(errnoText())")
        }
    }

    /// "10.0.0.2:7000", "[::1]:7000", or "socket N" when the address is unknown.
    static func peerName(_ fd: Int32) -> String {
        var storage = sockaddr_storage()
        var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let ok = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getpeername(fd, $0, &len) }
        } == 0
        guard ok else { return "socket \(fd)" }
        var host = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        switch Int32(storage.ss_family) {
        case AF_INET:
            return withUnsafePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { sin in
                    var a = sin.pointee.sin_addr
                    inet_ntop(AF_INET, &a, &host, socklen_t(host.count))
                    return "\(String(cString: host)):\(UInt16(bigEndian: sin.pointee.sin_port))"
                }
            }
        case AF_INET6:
            return withUnsafePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { sin in
                    var a = sin.pointee.sin6_addr
                    inet_ntop(AF_INET6, &a, &host, socklen_t(host.count))
                    return "[\(String(cString: host))]:\(UInt16(bigEndian: sin.pointee.sin6_port))"
                }
            }
        case AF_UNIX:
            return "local socket"
        default:
            return "socket \(fd)"
        }
    }
}
