import COpenSSL

/// What one connection's PSK callbacks saw, for the error message when the
/// handshake fails (OpenSSL's own error only says "no shared cipher" when a
/// client brought no key at all). Reached from the C callbacks through the
/// SSL object's app data; the channel keeps it alive.
final class TLSHandshakeState {
    let key: PresharedKey?
    /// Server: the client offered some PSK identity.
    var pskOffered = false
    /// Server: the identity was ours (the binder still proves the key).
    var pskIdentityKnown = false
    /// The subject of a peer certificate that failed verification (OpenSSL
    /// drops the certificate from the session when it refuses it).
    var rejectedSubject: String?

    init(key: PresharedKey?) { self.key = key }

    static func of(_ ssl: OpaquePointer?) -> TLSHandshakeState? {
        guard let ssl, let p = capsule_SSL_get_app_data(ssl) else { return nil }
        return Unmanaged<TLSHandshakeState>.fromOpaque(p).takeUnretainedValue()
    }
}

/// The PSK identity both sides use. It is fixed and public: the secret is
/// the key, proven by the TLS 1.3 binder, so a wrong key is told apart
/// from a client that has no key at all.
nonisolated(unsafe) let pskIdentity: UnsafeMutableBufferPointer<UInt8> = {
    let text = Array("capsule-migration-psk-v1".utf8)
    let p = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: text.count)
    _ = p.initialize(from: text)
    return p
}()

/// A session object carrying the key for TLS 1.3 with the PSK suite.
/// OpenSSL takes ownership of it from the callback.
private func pskSession(_ ssl: OpaquePointer?, _ key: PresharedKey) -> OpaquePointer? {
    guard let cipher = TLSContext.pskCipherID.withUnsafeBufferPointer({ SSL_CIPHER_find(ssl, $0.baseAddress) }),
          let session = SSL_SESSION_new() else { return nil }
    let ok = key.bytes.withUnsafeBufferPointer { SSL_SESSION_set1_master_key(session, $0.baseAddress, $0.count) } == 1
        && SSL_SESSION_set_cipher(session, cipher) == 1
        && SSL_SESSION_set_protocol_version(session, TLS1_3_VERSION) == 1
    if !ok {
        SSL_SESSION_free(session)
        return nil
    }
    return session
}

/// Client: offer our key under the fixed identity. Called once per
/// handshake (twice after a HelloRetryRequest; a fresh session each time).
let pskClientCallback: SSL_psk_use_session_cb_func = { ssl, _, id, idlen, sess in
    guard let state = TLSHandshakeState.of(ssl), let key = state.key,
          let session = pskSession(ssl, key) else { return 0 }
    id?.pointee = UnsafePointer(pskIdentity.baseAddress)
    idlen?.pointee = pskIdentity.count
    sess?.pointee = session
    return 1
}

/// Server: accept the fixed identity with our key (certificate servers
/// only note that a key was offered). An unknown identity
/// gets no session (success without a PSK), so the handshake goes on and
/// fails for lack of any authentication, with the reason recorded.
let pskServerCallback: SSL_psk_find_session_cb_func = { ssl, identity, length, sess in
    guard let state = TLSHandshakeState.of(ssl) else { return 0 }
    state.pskOffered = true
    sess?.pointee = nil
    // A certificate server installs this too, only to tell a PSK client apart.
    guard let key = state.key else { return 1 }
    guard let identity, length == pskIdentity.count,
          memcmp(identity, pskIdentity.baseAddress!, length) == 0 else { return 1 }
    state.pskIdentityKnown = true
    guard let session = pskSession(ssl, key) else { return 0 }
    sess?.pointee = session
    return 1
}
