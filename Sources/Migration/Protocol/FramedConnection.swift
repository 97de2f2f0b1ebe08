import Foundation

/// What the bytes on the wire carry, for the report.
public enum TrafficKind: Int, CaseIterable, Sendable, Codable {
    /// The state file and input log.
    case state
    /// Memory page blocks.
    case memory
    /// Disk blocks and layer tables.
    case disk
    /// Everything else: handshake, manifest, need lists, frame headers of control frames.
    case control

    public var label: String {
        switch self {
        case .state: return "state"
        case .memory: return "memory"
        case .disk: return "disk"
        case .control: return "protocol"
        }
    }
}

struct Frame {
    var type: FrameType
    var payload: [UInt8]
}

/// Frames over a channel: writes a header and payload with one `send`
/// (so a channel wrapper sees whole frames), reads a header, checks the
/// type and the length against the type's limit before reading the
/// payload, and counts every byte by kind in both directions.
final class FramedConnection {
    let channel: MigrationChannel
    var sent = [UInt64](repeating: 0, count: TrafficKind.allCases.count)
    var received = [UInt64](repeating: 0, count: TrafficKind.allCases.count)
    /// Where a peer's frame is in the conversation, for error messages.
    var peer: String { channel.peerDescription }

    /// Sends may come from two threads (a receiver's session and its
    /// demand requests): a frame is written whole under this lock.
    private let sendLock = NSLock()

    init(_ channel: MigrationChannel) { self.channel = channel }

    /// True when a frame (or the end of the stream) is waiting to be read,
    /// on channels that can tell without blocking.
    var hasPendingInput: Bool { (channel as? InputPolling)?.hasPendingInput() ?? false }

    func send(_ type: FrameType, _ payload: [UInt8], kind: TrafficKind = .control) throws(MigrationError) {
        precondition(payload.count <= type.payloadLimit, "frame \(type) payload over its limit")
        var frame = [UInt8](repeating: 0, count: WireLimits.headerSize + payload.count)
        frame[0] = type.rawValue
        let n = UInt32(payload.count)
        for i in 0..<4 { frame[4 + i] = UInt8(truncatingIfNeeded: n >> (8 * UInt32(i))) }
        frame.withUnsafeMutableBytes { f in
            payload.withUnsafeBytes { p in
                if p.count > 0 { (f.baseAddress! + WireLimits.headerSize).copyMemory(from: p.baseAddress!, byteCount: p.count) }
            }
        }
        sendLock.lock()
        defer { sendLock.unlock() }
        do throws(ChannelError) { try channel.send(frame) } catch { throw .channel(error) }
        sent[kind.rawValue] += UInt64(frame.count)
    }

    /// The next frame. An ERROR frame becomes `MigrationError.peer`.
    /// `kind` classifies the bytes for the statistics (BLOCK frames are
    /// reclassified by the session once it knows the block).
    func receive() throws(MigrationError) -> Frame {
        let header: [UInt8]
        do throws(ChannelError) { header = try channel.receive(count: WireLimits.headerSize) } catch { throw .channel(error) }
        guard let type = FrameType(rawValue: header[0]) else {
            throw .protocolViolation("unknown frame type \(header[0])")
        }
        guard header[1] == 0 && header[2] == 0 && header[3] == 0 else {
            throw .protocolViolation("\(type) frame header has non-zero reserved bytes")
        }
        var n: UInt32 = 0
        for i in 0..<4 { n |= UInt32(header[4 + i]) << (8 * UInt32(i)) }
        guard Int(n) <= type.payloadLimit else {
            throw .protocolViolation("\(type) frame claims \(n) payload bytes (limit \(type.payloadLimit))")
        }
        var payload: [UInt8] = []
        if n > 0 {
            do throws(ChannelError) { payload = try channel.receive(count: Int(n)) } catch { throw .channel(error) }
        }
        let kind: TrafficKind
        switch type {
        case .part: kind = n > 0 ? PartKind(rawValue: payload[0]).map(Self.kind) ?? .control : .control
        case .block: kind = .memory  // refined by the receiver via `reclassify`
        default: kind = .control
        }
        received[kind.rawValue] += UInt64(WireLimits.headerSize) + UInt64(n)
        if type == .error { throw Self.peerError(payload) }
        return Frame(type: type, payload: payload)
    }

    /// Moves a received frame's bytes from the kind guessed at receipt to the real one.
    func reclassify(bytes: Int, from: TrafficKind, to: TrafficKind) {
        received[from.rawValue] -= UInt64(bytes)
        received[to.rawValue] += UInt64(bytes)
    }

    static func kind(_ p: PartKind) -> TrafficKind {
        switch p {
        case .manifest: return .control
        case .state, .inputLog: return .state
        case .layer: return .disk
        }
    }

    static func peerError(_ payload: [UInt8]) -> MigrationError {
        var r = ByteReader(payload, what: "ERROR")
        guard let code = try? r.u16("code"), let text = try? r.string("message", limit: WireLimits.maxErrorMessage) else {
            return .protocolViolation("malformed ERROR frame")
        }
        return .peer(WireErrorCode(rawValue: code), sanitized(text))
    }

    /// Tells the peer why we stop (best effort: the connection may be gone).
    func sendError(_ code: WireErrorCode, _ message: String) {
        var text = message
        while text.utf8.count > WireLimits.maxErrorMessage { text.removeLast() }
        var w = ByteWriter()
        w.u16(code.rawValue)
        w.string(text)
        try? send(.error, w.bytes)
    }

    func close() { channel.close() }

    /// Fails with a clear message when a frame is not the one this step needs.
    static func unexpected(_ f: Frame, _ step: String) -> MigrationError {
        .protocolViolation("unexpected \(f.type) frame while \(step)")
    }
}

/// Channels that can say, without blocking, whether input is waiting. The
/// sender uses it to notice PRIORITY requests between blocks.
protocol InputPolling {
    func hasPendingInput() -> Bool
}

extension TCPChannel: InputPolling {}
extension TLSChannel: InputPolling {}
extension LinkShaper: InputPolling {
    func hasPendingInput() -> Bool { (inner as? InputPolling)?.hasPendingInput() ?? false }
}
