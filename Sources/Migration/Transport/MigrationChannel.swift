/// A reliable, ordered byte stream between two Capsule peers.
///
/// The migration protocol is written against this and nothing else, so the
/// same session code runs over plain TCP, over TLS 1.3 and through the link
/// shaper (which wraps another channel). Calls block; a channel is used by
/// one thread at a time per direction.
public protocol MigrationChannel: AnyObject {
    /// Sends every byte of `bytes` or throws.
    func send(_ bytes: UnsafeRawBufferPointer) throws(ChannelError)
    /// Fills `buffer` completely or throws (`.closed` when the peer ended
    /// the stream before the buffer was full).
    func receive(into buffer: UnsafeMutableRawBufferPointer) throws(ChannelError)
    /// Closes both directions; further calls throw `.closed`. Idempotent.
    func close()
    /// A short human-readable description of the peer, for messages.
    var peerDescription: String { get }
}

/// Why a channel operation failed. Every case names the problem so that a
/// user sees "connection reset by 10.0.0.2:7000" and not a bare errno.
public enum ChannelError: Error, Equatable, CustomStringConvertible {
    /// The peer closed the stream (cleanly or not) before the data was complete.
    case closed(String)
    /// A system call failed: the call's name and errno text.
    case system(String)
    /// TLS handshake or record failure, including a refused peer.
    case tls(String)
    /// The peer could not be authenticated (wrong PSK, certificate not from the CA...).
    case unauthenticated(String)
    /// No progress within the time limit.
    case timeout(String)

    public var description: String {
        switch self {
        case .closed(let s): return "connection closed: \(s)"
        case .system(let s): return "network error: \(s)"
        case .tls(let s): return "TLS error: \(s)"
        case .unauthenticated(let s): return "peer not authenticated: \(s)"
        case .timeout(let s): return "timed out: \(s)"
        }
    }
}

extension MigrationChannel {
    public func send(_ bytes: [UInt8]) throws(ChannelError) {
        let p = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes.count, alignment: 1)
        defer { p.deallocate() }
        p.copyBytes(from: bytes)
        try send(UnsafeRawBufferPointer(p))
    }

    public func receive(count: Int) throws(ChannelError) -> [UInt8] {
        let p = UnsafeMutableRawBufferPointer.allocate(byteCount: count, alignment: 1)
        defer { p.deallocate() }
        try receive(into: p)
        return [UInt8](p)
    }
}
