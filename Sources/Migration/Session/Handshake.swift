/// HELLO / WELCOME: version negotiation and the client's role.
///
/// HELLO payload (16 bytes): "CAPSMIGR", u16 lowest and u16 highest
/// protocol version the client speaks, u8 role (1 push: the client sends a
/// capsule; 2 pull: the client fetches one), u8 and u16 reserved (0).
/// WELCOME payload: u16 the version chosen (the highest both speak). A
/// server that shares no version answers ERROR(version) instead.
enum Role: UInt8 {
    case push = 1
    case pull = 2
}

enum Handshake {
    static func hello(_ c: FramedConnection, role: Role) throws(MigrationError) -> UInt16 {
        var w = ByteWriter()
        w.raw(WireLimits.magic)
        w.u16(WireLimits.minProtocolVersion); w.u16(WireLimits.protocolVersion)
        w.u8(role.rawValue); w.u8(0); w.u16(0)
        try c.send(.hello, w.bytes)
        let f = try c.receive()
        guard f.type == .welcome else { throw FramedConnection.unexpected(f, "waiting for WELCOME") }
        var r = ByteReader(f.payload, what: "WELCOME")
        let v = try r.u16("version")
        try r.expectEnd()
        guard v >= WireLimits.minProtocolVersion && v <= WireLimits.protocolVersion else {
            throw .protocolViolation("server chose protocol version \(v), this build speaks \(WireLimits.minProtocolVersion)…\(WireLimits.protocolVersion)")
        }
        return v
    }

    /// The server side: reads HELLO, answers WELCOME; returns the client's role.
    static func welcome(_ c: FramedConnection) throws(MigrationError) -> (role: Role, version: UInt16) {
        let f = try c.receive()
        guard f.type == .hello else { throw FramedConnection.unexpected(f, "waiting for HELLO") }
        var r = ByteReader(f.payload, what: "HELLO")
        guard Array(try r.raw(8, "magic")) == WireLimits.magic else { throw .protocolViolation("not a Capsule migration peer (bad HELLO magic)") }
        let lo = try r.u16("lowest version"), hi = try r.u16("highest version")
        let roleByte = try r.u8("role")
        guard try r.u8("reserved") == 0, try r.u16("reserved") == 0 else { throw .protocolViolation("HELLO reserved bytes are not zero") }
        try r.expectEnd()
        guard let role = Role(rawValue: roleByte) else { throw .protocolViolation("HELLO has unknown role \(roleByte)") }
        let v = min(hi, WireLimits.protocolVersion)
        guard lo <= hi, v >= max(lo, WireLimits.minProtocolVersion) else {
            throw .local(.version, "no common protocol version: the client speaks \(lo)…\(hi), this server \(WireLimits.minProtocolVersion)…\(WireLimits.protocolVersion)")
        }
        var w = ByteWriter()
        w.u16(v)
        try c.send(.welcome, w.bytes)
        return (role, v)
    }

    /// FETCH payload: the capsule name (u16 length + UTF-8).
    static func sendFetch(_ c: FramedConnection, name: String) throws(MigrationError) {
        var w = ByteWriter()
        w.string(name)
        try c.send(.fetch, w.bytes)
    }

    static func receiveFetch(_ c: FramedConnection) throws(MigrationError) -> String {
        let f = try c.receive()
        guard f.type == .fetch else { throw FramedConnection.unexpected(f, "waiting for FETCH") }
        var r = ByteReader(f.payload, what: "FETCH")
        let name = try r.string("capsule name", limit: WireLimits.maxNameBytes)
        try r.expectEnd()
        return name
    }
}
