/// Why a migration failed, split by what can be done about it: a channel
/// failure is worth a reconnect (the transfer resumes), the others are not.
public enum MigrationError: Error, CustomStringConvertible, Equatable {
    /// The connection failed (closed, reset, timed out): retry.
    case channel(ChannelError)
    /// The peer sent something the protocol does not allow; the connection
    /// is dropped. The text names the frame and field.
    case protocolViolation(String)
    /// The peer reported an error (its ERROR frame).
    case peer(WireErrorCode?, String)
    /// A local failure: our store, a missing capsule, a bad argument.
    case local(WireErrorCode, String)

    public var isRetryable: Bool {
        if case .channel(let c) = self, case .unauthenticated = c { return false }
        if case .channel(let c) = self, case .tls = c { return false }
        if case .channel = self { return true }
        return false
    }

    public var description: String {
        switch self {
        case .channel(let c): return c.description
        case .protocolViolation(let s): return "protocol violation by the peer: \(s)"
        case .peer(let code, let s): return "the peer reported \(code?.label ?? "an error"): \(s)"
        case .local(_, let s): return s
        }
    }
}

/// A peer's text made safe to print: control characters (terminal escape
/// sequences) become U+FFFD.
func sanitized(_ s: String) -> String {
    String(String.UnicodeScalarView(s.unicodeScalars.map { u in
        (u.value < 0x20 || (0x7F...0x9F).contains(u.value)) ? "\u{FFFD}" : u
    }))
}
