import COpenSSL

/// Which end of the TCP connection a TLS channel is.
public enum TLSRole: Sendable { case client, server }

/// `--cert FILE --key FILE --ca FILE`: PEM files. The certificate file may
/// hold a chain (leaf first). `ca` is the only trust anchor: the peer must
/// present a certificate that chains to it; the system's CAs are not used.
public struct TLSCertificateFiles: Sendable, Equatable {
    public var certificate: String?
    public var privateKey: String?
    public var ca: String

    /// A server needs `certificate` and `privateKey`; a client without them
    /// can still connect, and a Capsule server then refuses it (the CLI
    /// requires all three on both sides).
    public init(certificate: String?, privateKey: String?, ca: String) {
        self.certificate = certificate
        self.privateKey = privateKey
        self.ca = ca
    }
}

/// How the two peers prove who they are. There is no unauthenticated mode.
public enum TLSAuthentication: Sendable, Equatable {
    /// Mutual X.509 authentication against one CA.
    case certificates(TLSCertificateFiles)
    /// TLS 1.3 external pre-shared key (`--psk FILE`), no certificates.
    case presharedKey(PresharedKey)
}

/// The TLS configuration of one side, built once and used for any number
/// of connections (a server makes one and accepts many). TLS 1.3 only.
public final class TLSContext: @unchecked Sendable {
    public let role: TLSRole
    public let authentication: TLSAuthentication
    /// Seconds from the start of the handshake until both sides have
    /// confirmed each other; a peer that stalls is dropped after it.
    public var handshakeTimeout: Double

    /// Both ends use one TLS 1.3 suite for PSKs: an external PSK is bound
    /// to a hash, and this suite's SHA-256 is the one the session carries.
    static let pskCipherSuite = "TLS_AES_128_GCM_SHA256"
    static let pskCipherID: [UInt8] = [0x13, 0x01]

    let ctx: OpaquePointer
    let bioMethod: OpaquePointer

    public init(role: TLSRole, authentication: TLSAuthentication, handshakeTimeout: Double = 10) throws(TransportSetupError) {
        self.role = role
        self.authentication = authentication
        self.handshakeTimeout = handshakeTimeout
        guard let method = role == .client ? TLS_client_method() : TLS_server_method(),
              let c = SSL_CTX_new(method) else {
            throw TransportSetupError("OpenSSL could not create a TLS context: \(OpenSSLErrors.drain().text)")
        }
        guard let bm = capsule_sockbio_method_new() else {
            SSL_CTX_free(c)
            throw TransportSetupError("OpenSSL could not create a socket BIO method")
        }
        ctx = c
        bioMethod = bm
        // From here on deinit frees both, also when a step below throws.
        try configure()
    }

    deinit {
        SSL_CTX_free(ctx)
        BIO_meth_free(bioMethod)
    }

    private func fail(_ what: String) -> TransportSetupError {
        TransportSetupError("\(what): \(OpenSSLErrors.drain().text)")
    }

    private func configure() throws(TransportSetupError) {
        // TLS 1.3 and nothing older: a peer that offers only TLS 1.2 fails
        // the handshake with "unsupported protocol".
        guard capsule_SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) == 1,
              capsule_SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) == 1 else {
            throw fail("cannot restrict the TLS context to TLS 1.3")
        }
        // Partial writes let a non-blocking send report progress record by
        // record; the moving-buffer mode lets a retry pass the advanced pointer.
        _ = capsule_SSL_CTX_set_mode(ctx, Int(SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER))
        if role == .server {
            // Each connection authenticates afresh; resumption tickets would
            // only add bytes to a slow link.
            _ = SSL_CTX_set_num_tickets(ctx, 0)
        }
        switch authentication {
        case .certificates(let files): try configureCertificates(files)
        case .presharedKey: try configurePresharedKey()
        }
    }

    private func configureCertificates(_ files: TLSCertificateFiles) throws(TransportSetupError) {
        switch (files.certificate, files.privateKey) {
        case (let cert?, let key?):
            guard SSL_CTX_use_certificate_chain_file(ctx, cert) == 1 else {
                throw fail("cannot load the certificate \(cert) (PEM expected)")
            }
            guard SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) == 1 else {
                let errors = OpenSSLErrors.drain()
                if errors.entries.contains(where: { $0.text.contains("key values mismatch") }) {
                    throw TransportSetupError("the private key \(key) does not belong to the certificate \(cert)")
                }
                throw TransportSetupError("cannot load the private key \(key) (PEM, unencrypted): \(errors.text)")
            }
            guard SSL_CTX_check_private_key(ctx) == 1 else {
                throw fail("the private key \(key) does not belong to the certificate \(cert)")
            }
        case (nil, nil):
            if role == .server {
                throw TransportSetupError("a TLS server with certificate authentication needs --cert and --key")
            }
        case (_?, nil): throw TransportSetupError("--cert needs --key (the certificate's private key)")
        case (nil, _?): throw TransportSetupError("--key needs --cert (the key's certificate)")
        }
        guard SSL_CTX_load_verify_locations(ctx, files.ca, nil) == 1 else {
            throw fail("cannot load the CA certificate \(files.ca) (PEM expected)")
        }
        // The server demands a client certificate; both sides verify the
        // peer's chain against the CA above (and only it).
        let mode = role == .server ? SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT : SSL_VERIFY_PEER
        SSL_CTX_set_verify(ctx, mode, certificateVerifyCallback)
        if role == .server {
            // Declines every PSK; it only records that a PSK client came.
            SSL_CTX_set_psk_find_session_callback(ctx, pskServerCallback)
        }
    }

    private func configurePresharedKey() throws(TransportSetupError) {
        guard SSL_CTX_set_ciphersuites(ctx, Self.pskCipherSuite) == 1 else {
            throw fail("cannot select \(Self.pskCipherSuite)")
        }
        switch role {
        case .client:
            SSL_CTX_set_psk_use_session_callback(ctx, pskClientCallback)
            // The trust store is empty: should a server answer with a
            // certificate instead of accepting the key, verification fails.
            SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nil)
        case .server:
            SSL_CTX_set_psk_find_session_callback(ctx, pskServerCallback)
            SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nil)
        }
    }

    var presharedKey: PresharedKey? {
        if case .presharedKey(let k) = authentication { return k }
        return nil
    }

    var modeName: String {
        switch authentication {
        case .certificates: return "certificates (--cert/--key/--ca)"
        case .presharedKey: return "pre-shared key (--psk)"
        }
    }
}

/// Keeps OpenSSL's verdict; only remembers the subject of a refused
/// certificate for the error message.
let certificateVerifyCallback: SSL_verify_cb = { ok, store in
    if ok == 0, let store,
       let sslPointer = X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()),
       let state = TLSHandshakeState.of(OpaquePointer(sslPointer)),
       state.rejectedSubject == nil, let leaf = X509_STORE_CTX_get0_cert(store) {
        state.rejectedSubject = certificateSubject(leaf)
    }
    return ok
}

/// "O=Org, CN=name" from a certificate's subject.
func certificateSubject(_ cert: OpaquePointer) -> String {
    guard let name = X509_get_subject_name(cert) else { return "?" }
    var buf = [CChar](repeating: 0, count: 512)
    guard X509_NAME_oneline(name, &buf, Int32(buf.count)) != nil else { return "?" }
    // OpenSSL writes "/O=Org/CN=name".
    return String(cString: buf).split(separator: "/").joined(separator: ", ")
}
