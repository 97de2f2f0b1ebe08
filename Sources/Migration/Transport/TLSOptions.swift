/// The security options as the CLI receives them (`--cert --key --ca` or
/// `--psk`), checked for consistency and turned into a TLSContext. One
/// place for the rules so that serve, migrate and fetch agree.
public struct TLSOptions: Sendable, Equatable {
    public var certificate: String?
    public var privateKey: String?
    public var ca: String?
    public var psk: String?

    public init(certificate: String? = nil, privateKey: String? = nil, ca: String? = nil, psk: String? = nil) {
        self.certificate = certificate
        self.privateKey = privateKey
        self.ca = ca
        self.psk = psk
    }

    /// No security option given at all.
    public var isEmpty: Bool { certificate == nil && privateKey == nil && ca == nil && psk == nil }

    /// The authentication these options ask for; nil when none was given.
    /// Mixed or incomplete sets are refused with the option to fix.
    public func authentication() throws(TransportSetupError) -> TLSAuthentication? {
        if isEmpty { return nil }
        let certOptions = certificate != nil || privateKey != nil || ca != nil
        if let psk {
            guard !certOptions else {
                throw TransportSetupError("--psk cannot be combined with --cert/--key/--ca: choose one authentication mode")
            }
            return .presharedKey(try PresharedKey.load(path: psk))
        }
        var missing: [String] = []
        if certificate == nil { missing.append("--cert") }
        if privateKey == nil { missing.append("--key") }
        if ca == nil { missing.append("--ca") }
        guard missing.isEmpty, let ca else {
            throw TransportSetupError("certificate authentication needs --cert, --key and --ca on both sides (missing: \(missing.joined(separator: ", ")))")
        }
        return .certificates(TLSCertificateFiles(certificate: certificate, privateKey: privateKey, ca: ca))
    }

    /// A context for `role`, or nil when no security option was given.
    public func context(role: TLSRole, handshakeTimeout: Double = 10) throws(TransportSetupError) -> TLSContext? {
        guard let auth = try authentication() else { return nil }
        return try TLSContext(role: role, authentication: auth, handshakeTimeout: handshakeTimeout)
    }
}
