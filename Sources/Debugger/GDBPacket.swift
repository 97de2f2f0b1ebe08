/// Framing of the GDB Remote Serial Protocol: `$payload#cs` packets with a
/// modulo-256 checksum written as two hex digits, `+`/`-` acknowledgements,
/// the out-of-band interrupt byte 0x03, and the `}` escape of binary data.
///
/// Everything here is pure (no I/O) so the framing can be tested byte by byte.
public enum GDBPacket {
    /// The byte gdb sends, outside any packet, to interrupt a running target.
    public static let interruptByte: UInt8 = 0x03
    static let escapeByte: UInt8 = 0x7D // '}'

    /// Sum of the bytes modulo 256.
    public static func checksum<S: Sequence>(_ bytes: S) -> UInt8 where S.Element == UInt8 {
        var sum: UInt8 = 0
        for b in bytes { sum &+= b }
        return sum
    }

    /// `$payload#cs`. The payload must already be escaped where it holds
    /// binary data (see `escape`).
    public static func frame(_ payload: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [0x24]
        out.reserveCapacity(payload.count + 4)
        out += payload
        out.append(0x23)
        out += hexBytes(checksum(payload))
        return out
    }

    public static func frame(_ payload: String) -> [UInt8] { frame(Array(payload.utf8)) }

    /// Escapes binary data: `#`, `$`, `}` and `*` become `}` followed by the
    /// byte XOR 0x20 (`*` would otherwise read as run-length encoding).
    public static func escape(_ data: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(data.count)
        for b in data {
            if b == 0x23 || b == 0x24 || b == 0x7D || b == 0x2A {
                out.append(escapeByte)
                out.append(b ^ 0x20)
            } else {
                out.append(b)
            }
        }
        return out
    }

    /// Undoes `escape`. A trailing lone `}` is dropped.
    public static func unescape<C: Collection>(_ data: C) -> [UInt8] where C.Element == UInt8 {
        var out: [UInt8] = []
        out.reserveCapacity(data.count)
        var escaped = false
        for b in data {
            if escaped {
                out.append(b ^ 0x20)
                escaped = false
            } else if b == escapeByte {
                escaped = true
            } else {
                out.append(b)
            }
        }
        return out
    }

    // MARK: Hex

    static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    static func hexBytes(_ b: UInt8) -> [UInt8] { [hexDigits[Int(b >> 4)], hexDigits[Int(b & 15)]] }

    /// Lower-case hex of each byte, in order.
    public static func hexEncode<S: Sequence>(_ bytes: S) -> String where S.Element == UInt8 {
        var out: [UInt8] = []
        for b in bytes { out += hexBytes(b) }
        return String(decoding: out, as: UTF8.self)
    }

    public static func hexEncode(_ text: String) -> String { hexEncode(Array(text.utf8)) }

    static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: return c - 0x30
        case 0x61...0x66: return c - 0x61 + 10
        case 0x41...0x46: return c - 0x41 + 10
        default: return nil
        }
    }

    /// Bytes from pairs of hex digits; nil on an odd count or a non-hex digit.
    public static func hexDecode<C: Collection>(_ text: C) -> [UInt8]? where C.Element == UInt8 {
        guard text.count % 2 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(text.count / 2)
        var high: UInt8?
        for c in text {
            guard let n = nibble(c) else { return nil }
            if let h = high {
                out.append(h << 4 | n)
                high = nil
            } else {
                high = n
            }
        }
        return out
    }

    public static func hexDecode(_ text: Substring) -> [UInt8]? { hexDecode(Array(text.utf8)) }

    /// A big-endian hex number as gdb writes addresses and lengths
    /// (`1f00`); nil if empty, not hex, or wider than 64 bits.
    public static func parseHex<C: Collection>(_ text: C) -> UInt64? where C.Element == UInt8 {
        guard !text.isEmpty, text.count <= 16 else { return nil }
        var v: UInt64 = 0
        for c in text {
            guard let n = nibble(c) else { return nil }
            v = v << 4 | UInt64(n)
        }
        return v
    }

    public static func parseHex(_ text: Substring) -> UInt64? { parseHex(Array(text.utf8)) }
}

/// Splits the byte stream from gdb into events. Feed it whatever the socket
/// delivered; it keeps partial packets between calls.
public struct GDBPacketDecoder {
    public enum Event: Equatable {
        /// A packet whose checksum matched; the payload is as sent (binary
        /// payloads are still escaped).
        case packet([UInt8])
        /// A packet whose checksum did not match (or was not hex).
        case badPacket([UInt8])
        case ack
        case nack
        case interrupt
    }

    private enum State { case idle, payload, checksumHigh, checksumLow(UInt8) }

    private var state = State.idle
    private var payload: [UInt8] = []

    public init() {}

    public mutating func feed<S: Sequence>(_ bytes: S) -> [Event] where S.Element == UInt8 {
        var events: [Event] = []
        for b in bytes {
            switch state {
            case .idle:
                switch b {
                case 0x24: // '$'
                    payload.removeAll(keepingCapacity: true)
                    state = .payload
                case 0x2B: events.append(.ack)
                case 0x2D: events.append(.nack)
                case GDBPacket.interruptByte: events.append(.interrupt)
                default: break // line noise
                }
            case .payload:
                if b == 0x23 { // '#': binary payloads escape theirs, so this ends the packet
                    state = .checksumHigh
                } else if b == 0x24 {
                    payload.removeAll(keepingCapacity: true) // a new packet restarts the frame
                } else {
                    payload.append(b)
                }
            case .checksumHigh:
                state = .checksumLow(b)
            case .checksumLow(let high):
                state = .idle
                if let h = GDBPacket.nibble(high), let l = GDBPacket.nibble(b), h << 4 | l == GDBPacket.checksum(payload) {
                    events.append(.packet(payload))
                } else {
                    events.append(.badPacket(payload))
                }
            }
        }
        return events
    }
}
