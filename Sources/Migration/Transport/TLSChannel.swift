#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import COpenSSL
import Foundation

/// A MigrationChannel over TLS 1.3 on a connected TCP socket, for either
/// role, authenticated by certificates or a pre-shared key (TLSContext).
///
/// `init` runs the handshake and returns only when both sides have accepted
/// each other: after the TLS handshake the client sends one confirmation
/// byte and the server answers with one. TLS 1.3 lets a client finish its
/// handshake before the server has checked the client's certificate; the
/// exchange makes a refusal surface in `init` on both ends (as
/// `.unauthenticated` with the reason) instead of at the first read.
///
/// The socket is switched to non-blocking mode and every wait goes through
/// poll(2), so the handshake has a deadline and one thread may send while
/// another receives: the lock covers only the OpenSSL calls, never a wait.
public final class TLSChannel: MigrationChannel, @unchecked Sendable {
    /// The byte each side sends once it has accepted the other.
    static let confirmation: UInt8 = 0x06

    public let role: TLSRole
    /// "10.0.0.2:7000 (certificate CN=host-b)" or "… (pre-shared key)".
    public private(set) var peerDescription: String
    /// The peer certificate's subject in OpenSSL's one-line order ("O=Org, CN=host"); nil with a PSK.
    public private(set) var peerSubject: String?
    /// The negotiated suite, e.g. TLS_AES_256_GCM_SHA384.
    public private(set) var cipherSuite = ""
    /// Seconds a send or receive may wait without any progress before it
    /// throws `.timeout`; nil waits as long as the peer keeps the socket open.
    public var ioTimeout: Double?

    private let context: TLSContext
    private let fd: Int32
    /// The TCP channel that owns `fd` when the channel was made over one;
    /// nil when this channel owns the descriptor itself.
    private let tcp: TCPChannel?
    private let ssl: OpaquePointer
    private let state: TLSHandshakeState
    private let address: String
    private let lock = NSLock()
    private var closed = false
    /// Set once both sides have confirmed; until then a failed read or
    /// write is still part of the handshake and is explained as one.
    private var established = false
    /// After a fatal TLS error OpenSSL must not be called for I/O again.
    private var broken: ChannelError?

    /// Takes ownership of `socket` (a connected stream socket): it is closed
    /// when the channel is, and also when the handshake fails.
    public convenience init(socket: Int32, context: TLSContext, ioTimeout: Double? = nil) throws(ChannelError) {
        try self.init(descriptor: socket, owner: nil, context: context, ioTimeout: ioTimeout)
    }

    /// TLS over a connected plain TCP channel, which must not be used
    /// directly afterwards. It keeps owning the socket and closes it when
    /// this channel is released; its `timeout` becomes `ioTimeout`.
    public convenience init(over tcp: TCPChannel, context: TLSContext) throws(ChannelError) {
        try self.init(descriptor: tcp.descriptor, owner: tcp, context: context,
                      ioTimeout: tcp.timeout > 0 ? tcp.timeout : nil)
    }

    private init(descriptor socket: Int32, owner: TCPChannel?, context: TLSContext, ioTimeout: Double?) throws(ChannelError) {
        self.role = context.role
        self.context = context
        self.fd = socket
        self.tcp = owner
        self.ioTimeout = ioTimeout
        self.address = SocketIO.peerName(socket)
        self.peerDescription = address
        self.state = TLSHandshakeState(key: context.presharedKey)
        let s = SSL_new(context.ctx)
        let bio = s == nil ? nil : capsule_sockbio_new(context.bioMethod, socket)
        guard let s, let bio else {
            let why = OpenSSLErrors.drain().text
            if let s { SSL_free(s) }
            if owner == nil { _ = closeDescriptor(socket) } else { owner?.close() }
            throw .tls("OpenSSL could not create a connection object: \(why)")
        }
        ssl = s
        SSL_set_bio(ssl, bio, bio) // the SSL object owns the BIO now
        _ = capsule_SSL_set_app_data(ssl, Unmanaged.passUnretained(state).toOpaque())
        do {
            try SocketIO.setNonBlocking(socket)
            try handshake(deadline: SocketIO.monotonicNow() + context.handshakeTimeout)
        } catch {
            close()
            throw error
        }
    }

    deinit {
        close()
        SSL_free(ssl)
        // Over a TCPChannel, releasing it (right after this) closes the fd.
        if tcp == nil { _ = closeDescriptor(fd) }
    }

    // MARK: Handshake

    private func handshake(deadline: Double) throws(ChannelError) {
        let timeoutText = "TLS handshake with \(address) did not complete within \(context.handshakeTimeout) s"
        if role == .server {
            // A TLS client's first byte is a handshake record (type 22).
            // Anything else is a peer speaking another protocol; say so
            // rather than pass on OpenSSL's "wrong version number".
            guard let first = try SocketIO.peekByte(fd, deadline: deadline, what: timeoutText) else {
                throw .closed("\(address) closed the connection before starting the TLS handshake")
            }
            guard first == 0x16 else {
                throw .unauthenticated("\(address) did not start a TLS handshake (first byte 0x\(String(first, radix: 16))): a plain TCP client? This server requires TLS with \(context.modeName)")
            }
            SSL_set_accept_state(ssl)
        } else {
            SSL_set_connect_state(ssl)
        }
        while true {
            ERR_clear_error()
            let r = SSL_do_handshake(ssl)
            if r == 1 { break }
            let code = SSL_get_error(ssl, r)
            switch code {
            case SSL_ERROR_WANT_READ: try SocketIO.wait(fd, for: Int16(POLLIN), deadline: deadline, what: timeoutText)
            case SSL_ERROR_WANT_WRITE: try SocketIO.wait(fd, for: Int16(POLLOUT), deadline: deadline, what: timeoutText)
            default:
                let savedErrno = errno
                throw handshakeFailure(code: code, errors: OpenSSLErrors.drain(), savedErrno: savedErrno)
            }
        }
        try checkPeer()
        cipherSuite = SSL_get_current_cipher(ssl).flatMap { SSL_CIPHER_get_name($0) }.map { String(cString: $0) } ?? "?"
        try confirm(deadline: deadline, timeoutText: timeoutText)
        established = true
    }

    /// What OpenSSL's success does not yet guarantee for our modes.
    private func checkPeer() throws(ChannelError) {
        guard SSL_version(ssl) == TLS1_3_VERSION else {
            throw .tls("\(address) negotiated a protocol older than TLS 1.3")
        }
        switch context.authentication {
        case .certificates:
            guard let cert = SSL_get0_peer_certificate(ssl) else {
                throw .unauthenticated("\(address) presented no certificate")
            }
            let v = SSL_get_verify_result(ssl)
            guard v == Int(X509_V_OK) else {
                throw .unauthenticated("the certificate of \(address) is not trusted: \(verifyText(v))")
            }
            peerSubject = certificateSubject(cert)
            peerDescription = "\(address) (certificate \(peerSubject ?? "?"))"
        case .presharedKey:
            // Resumed = the handshake was keyed by our PSK, not by a certificate.
            guard SSL_session_reused(ssl) == 1, role == .client || state.pskIdentityKnown else {
                throw .unauthenticated("\(address) did not authenticate with the pre-shared key")
            }
            peerDescription = "\(address) (pre-shared key \(context.presharedKey?.fingerprint ?? ""))"
        }
    }

    /// The confirmation exchange described on the type.
    private func confirm(deadline: Double, timeoutText: String) throws(ChannelError) {
        var byte = Self.confirmation
        var got: UInt8 = 0
        do {
            if role == .client {
                try withUnsafeBytes(of: &byte) { (p) throws(ChannelError) in try sendAll(p, deadline: deadline, timeoutText: timeoutText) }
                try withUnsafeMutableBytes(of: &got) { (p) throws(ChannelError) in try receiveAll(p, deadline: deadline, timeoutText: timeoutText) }
            } else {
                try withUnsafeMutableBytes(of: &got) { (p) throws(ChannelError) in try receiveAll(p, deadline: deadline, timeoutText: timeoutText) }
                try withUnsafeBytes(of: &byte) { (p) throws(ChannelError) in try sendAll(p, deadline: deadline, timeoutText: timeoutText) }
            }
        } catch {
            // The peer refused us after its side of the handshake: its alert
            // arrives here (dataFailure explains it as a handshake failure).
            if case .closed = error {
                throw .unauthenticated("\(address) closed the connection instead of confirming the TLS session: it did not accept our credentials (\(context.modeName))")
            }
            throw error
        }
        guard got == Self.confirmation else {
            throw .tls("\(address) sent 0x\(String(got, radix: 16)) instead of the TLS session confirmation: not a Capsule peer?")
        }
    }

    private func verifyText(_ v: Int) -> String {
        String(cString: X509_verify_cert_error_string(v))
    }

    /// Names why a handshake failed, from this side's view. Refusals of
    /// either side's credentials become `.unauthenticated`.
    private func handshakeFailure(code: Int32, errors: OpenSSLErrors, savedErrno: Int32) -> ChannelError {
        let peer = address
        let psk = context.presharedKey != nil
        if errors.has(SSL_R_UNSUPPORTED_PROTOCOL) || errors.has(SSL_R_TLSV1_ALERT_PROTOCOL_VERSION) {
            return .tls("\(peer) does not speak TLS 1.3 (\(errors.text)); Capsule refuses older versions")
        }
        if role == .server && !psk && state.pskOffered {
            return .unauthenticated("\(peer) offered a pre-shared key (--psk); this server uses certificates (--cert/--key/--ca)")
        }
        if role == .server && psk && !state.pskOffered {
            return .unauthenticated("\(peer) offered no pre-shared key; this server requires --psk")
        }
        if role == .server && psk && !state.pskIdentityKnown {
            return .unauthenticated("\(peer) offered a pre-shared key identity that is not Capsule's")
        }
        if errors.has(SSL_R_BINDER_DOES_NOT_VERIFY) {
            return .unauthenticated("\(peer) used a different pre-shared key (the key files differ)")
        }
        if psk && role == .client && (errors.has(SSL_R_TLSV1_ALERT_DECRYPT_ERROR) || errors.has(SSL_R_SSLV3_ALERT_ILLEGAL_PARAMETER)) {
            return .unauthenticated("\(peer) refused our pre-shared key (the key files differ)")
        }
        if errors.has(SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE) {
            return .unauthenticated("\(peer) presented no client certificate; this server requires one issued by its CA (--cert/--key)")
        }
        if errors.has(SSL_R_CERTIFICATE_VERIFY_FAILED) {
            if psk {
                return .unauthenticated("\(peer) answered with a certificate instead of accepting the pre-shared key: it does not use --psk")
            }
            let v = SSL_get_verify_result(ssl)
            let who = state.rejectedSubject.map { " (\($0))" } ?? ""
            return .unauthenticated("the certificate of \(peer)\(who) is not trusted: \(verifyText(v)) — not issued by the CA given with --ca?")
        }
        if errors.has(SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED) {
            return .unauthenticated("\(peer) requires a client certificate (it uses --cert/--key/--ca)")
        }
        for alert in [SSL_R_TLSV1_ALERT_UNKNOWN_CA, SSL_R_SSLV3_ALERT_BAD_CERTIFICATE, SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN,
                      SSL_R_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE, SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED, SSL_R_TLSV1_ALERT_ACCESS_DENIED]
        where errors.has(alert) {
            return .unauthenticated("\(peer) refused our certificate (\(errors.text)): it trusts a different CA?")
        }
        if errors.has(SSL_R_SSLV3_ALERT_HANDSHAKE_FAILURE) || errors.has(SSL_R_NO_SHARED_CIPHER)
            || errors.has(SSL_R_NO_SUITABLE_SIGNATURE_ALGORITHM) {
            return .unauthenticated("\(peer) and this side could not agree on authentication (\(errors.text)); this side uses \(context.modeName) — does the peer?")
        }
        if errors.has(SSL_R_WRONG_VERSION_NUMBER) || errors.has(SSL_R_PACKET_LENGTH_TOO_LONG) || errors.has(SSL_R_HTTP_REQUEST) {
            return .tls("\(peer) does not speak TLS (\(errors.text)): a plain TCP server?")
        }
        if code == SSL_ERROR_SYSCALL || code == SSL_ERROR_ZERO_RETURN || errors.has(SSL_R_UNEXPECTED_EOF_WHILE_READING) {
            if errors.isEmpty && savedErrno != 0 && savedErrno != ECONNRESET && savedErrno != EPIPE {
                return .system("TLS handshake with \(peer): \(errnoText(savedErrno))")
            }
            return .closed("\(peer) closed the connection during the TLS handshake (does it use TLS with \(context.modeName)?)")
        }
        return .tls("handshake with \(peer) failed: \(errors.text)")
    }

    // MARK: Data

    public func send(_ bytes: UnsafeRawBufferPointer) throws(ChannelError) {
        try sendAll(bytes, deadline: nil, timeoutText: "")
    }

    public func receive(into buffer: UnsafeMutableRawBufferPointer) throws(ChannelError) {
        try receiveAll(buffer, deadline: nil, timeoutText: "")
    }

    /// The deadline of a data call: a fixed one during the handshake, else
    /// `ioTimeout` from now (renewed after every step of progress).
    private func stepDeadline(_ fixed: Double?) -> Double? {
        fixed ?? ioTimeout.map { SocketIO.monotonicNow() + $0 }
    }

    private func stepTimeoutText(_ fixed: String, _ verb: String) -> String {
        fixed.isEmpty ? "no \(verb) progress with \(address) for \(ioTimeout ?? 0) s" : fixed
    }

    private func sendAll(_ bytes: UnsafeRawBufferPointer, deadline: Double?, timeoutText: String) throws(ChannelError) {
        var done = 0
        while done < bytes.count {
            lock.lock()
            if let e = unusable() { lock.unlock(); throw e }
            ERR_clear_error()
            var written = 0
            let ok = SSL_write_ex(ssl, bytes.baseAddress! + done, bytes.count - done, &written)
            let code = ok == 1 ? SSL_ERROR_NONE : SSL_get_error(ssl, ok)
            let savedErrno = errno
            let failure = ok == 1 ? nil : dataFailure(code: code, savedErrno: savedErrno, verb: "sending", done: done, total: bytes.count)
            lock.unlock()
            if ok == 1 { done += written; continue }
            switch code {
            case SSL_ERROR_WANT_WRITE:
                try SocketIO.wait(fd, for: Int16(POLLOUT), deadline: stepDeadline(deadline), what: stepTimeoutText(timeoutText, "send"))
            case SSL_ERROR_WANT_READ:
                try SocketIO.wait(fd, for: Int16(POLLIN), deadline: stepDeadline(deadline), what: stepTimeoutText(timeoutText, "send"))
            default:
                throw failure!
            }
        }
    }

    private func receiveAll(_ buffer: UnsafeMutableRawBufferPointer, deadline: Double?, timeoutText: String) throws(ChannelError) {
        var done = 0
        while done < buffer.count {
            lock.lock()
            if let e = unusable() { lock.unlock(); throw e }
            ERR_clear_error()
            var got = 0
            let ok = SSL_read_ex(ssl, buffer.baseAddress! + done, buffer.count - done, &got)
            let code = ok == 1 ? SSL_ERROR_NONE : SSL_get_error(ssl, ok)
            let savedErrno = errno
            let failure = ok == 1 ? nil : dataFailure(code: code, savedErrno: savedErrno, verb: "receiving", done: done, total: buffer.count)
            lock.unlock()
            if ok == 1 { done += got; continue }
            switch code {
            case SSL_ERROR_WANT_READ:
                try SocketIO.wait(fd, for: Int16(POLLIN), deadline: stepDeadline(deadline), what: stepTimeoutText(timeoutText, "receive"))
            case SSL_ERROR_WANT_WRITE:
                try SocketIO.wait(fd, for: Int16(POLLOUT), deadline: stepDeadline(deadline), what: stepTimeoutText(timeoutText, "receive"))
            default:
                throw failure!
            }
        }
    }

    /// Under the lock: why no further I/O is possible, if so.
    private func unusable() -> ChannelError? {
        if closed { return .closed("the channel to \(address) was closed") }
        return broken
    }

    /// Under the lock: the error for a failed SSL_read/SSL_write that is
    /// not a retry. Marks the channel broken when OpenSSL requires it.
    private func dataFailure(code: Int32, savedErrno: Int32, verb: String, done: Int, total: Int) -> ChannelError? {
        if code == SSL_ERROR_WANT_READ || code == SSL_ERROR_WANT_WRITE { return nil }
        let errors = OpenSSLErrors.drain()
        let progress = "after \(done) of \(total) bytes"
        let e: ChannelError
        switch code {
        case SSL_ERROR_ZERO_RETURN:
            e = .closed("\(address) ended the TLS stream while \(verb) (\(progress))")
        case SSL_ERROR_SYSCALL where errors.isEmpty:
            if savedErrno == 0 || savedErrno == ECONNRESET || savedErrno == EPIPE {
                e = .closed("connection to \(address) lost while \(verb) (\(progress))")
            } else {
                e = .system("\(verb) to/from \(address): \(errnoText(savedErrno))")
            }
        case _ where !established:
            e = handshakeFailure(code: code, errors: errors, savedErrno: savedErrno)
        default:
            if errors.has(SSL_R_UNEXPECTED_EOF_WHILE_READING) {
                e = .closed("connection to \(address) ended without a TLS close_notify while \(verb) (\(progress))")
            } else {
                e = .tls("\(verb) with \(address): \(errors.text)")
            }
        }
        broken = e
        return e
    }

    /// As TCPChannel.hasPendingInput: decrypted data is buffered, or the
    /// socket has bytes or an end of stream waiting. (Socket bytes may be a
    /// TLS record without application data, so a receive can still wait
    /// after `true`; after `false` nothing has arrived.)
    public func hasPendingInput() -> Bool {
        lock.lock()
        defer { lock.unlock() }
        if closed || broken != nil { return false }
        if SSL_pending(ssl) > 0 { return true }
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        return poll(&p, 1, 0) > 0
    }

    // MARK: Close

    /// Sends a TLS close_notify when the session is healthy, then shuts the
    /// socket down in both directions, which also wakes a thread blocked
    /// in poll on it. The descriptor itself is released in deinit, so a
    /// concurrent call never sees its number reused by another file.
    public func close() {
        lock.lock()
        defer { lock.unlock() }
        if closed { return }
        closed = true
        if broken == nil && SSL_is_init_finished(ssl) == 1 {
            ERR_clear_error()
            _ = SSL_shutdown(ssl) // best effort: non-blocking, one attempt
            ERR_clear_error()
        }
        _ = shutdown(fd, Int32(SHUT_RDWR))
    }
}

func closeDescriptor(_ fd: Int32) -> Int32 {
    #if canImport(Glibc)
    return Glibc.close(fd)
    #else
    return Darwin.close(fd)
    #endif
}
