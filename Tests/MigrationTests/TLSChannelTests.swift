import COpenSSL
@testable import Migration
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// TLS 1.3 over real loopback TCP with certificates made by `openssl`.
final class TLSChannelTests: XCTestCase {
    var pki: TLSTestPKI { .shared }

    func certContext(_ role: TLSRole, _ name: String?, ca: String? = nil, timeout: Double = 10) throws -> TLSContext {
        try TLSContext(role: role, authentication: .certificates(pki.files(name, ca: ca ?? pki.ca)), handshakeTimeout: timeout)
    }

    func pskContext(_ role: TLSRole, _ key: PresharedKey) throws -> TLSContext {
        try TLSContext(role: role, authentication: .presharedKey(key))
    }

    func testCertificatesBothWaysAuthenticate() throws {
        let (c, s) = try tlsHandshake(client: try certContext(.client, "client"), server: try certContext(.server, "server"))
        let client = try c.get(), server = try s.get()
        XCTAssertTrue(client.peerDescription.contains("CN=capsule-server"), client.peerDescription)
        XCTAssertTrue(server.peerDescription.contains("CN=capsule-client"), server.peerDescription)
        XCTAssertEqual(server.peerSubject, "O=Capsule Tests, CN=capsule-client")
        XCTAssertTrue(client.cipherSuite.hasPrefix("TLS_"), client.cipherSuite)
        try client.send(Array("ping".utf8))
        XCTAssertEqual(try server.receive(count: 4), Array("ping".utf8))
        try server.send([1, 2, 3])
        XCTAssertEqual(try client.receive(count: 3), [1, 2, 3])
    }

    /// The raw-descriptor constructor, over a socketpair: the channel owns
    /// both descriptors and closes them.
    func testRawSocketConstructorOverASocketPair() throws {
        var fds: [Int32] = [0, 0]
        #if canImport(Glibc)
        XCTAssertEqual(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds), 0)
        #else
        XCTAssertEqual(socketpair(AF_UNIX, SOCK_STREAM, 0, &fds), 0)
        #endif
        let key = try PresharedKey.generate()
        let serverContext = try pskContext(.server, key)
        try {
            let server = TLSTestThread { [fds] in try TLSChannel(socket: fds[1], context: serverContext) }
            let client = try TLSChannel(socket: fds[0], context: try pskContext(.client, key), ioTimeout: 5)
            let s = try server.wait().get()
            XCTAssertTrue(client.peerDescription.hasPrefix("local socket"), client.peerDescription)
            try s.send([4, 2])
            XCTAssertEqual(try client.receive(count: 2), [4, 2])
        }()
        XCTAssertEqual(fcntl(fds[0], F_GETFD), -1, "released channel closed its descriptor")
        XCTAssertEqual(fcntl(fds[1], F_GETFD), -1, "released channel closed its descriptor")
    }

    func testClientCertificateFromAnotherCAIsRefused() throws {
        let (c, s) = try tlsHandshake(client: try certContext(.client, "rogue-client"), server: try certContext(.server, "server"))
        assertUnauthenticated(tlsChannelError(s), "not trusted")
        assertUnauthenticated(tlsChannelError(s), "CN=rogue-client")
        assertUnauthenticated(tlsChannelError(c), "refused our certificate")
    }

    func testServerCertificateFromAnotherCAIsRefused() throws {
        let (c, s) = try tlsHandshake(client: try certContext(.client, "client"), server: try certContext(.server, "rogue-server"))
        assertUnauthenticated(tlsChannelError(c), "not trusted")
        assertUnauthenticated(tlsChannelError(s), "refused our certificate")
    }

    func testClientWithoutCertificateIsRefused() throws {
        let (c, s) = try tlsHandshake(client: try certContext(.client, nil), server: try certContext(.server, "server"))
        assertUnauthenticated(tlsChannelError(s), "presented no client certificate")
        assertUnauthenticated(tlsChannelError(c), "requires a client certificate")
    }

    func testMatchingPresharedKeysAuthenticate() throws {
        let key = try PresharedKey.generate()
        let (c, s) = try tlsHandshake(client: try pskContext(.client, key), server: try pskContext(.server, key))
        let client = try c.get(), server = try s.get()
        XCTAssertTrue(client.peerDescription.contains("pre-shared key \(key.fingerprint)"), client.peerDescription)
        XCTAssertNil(server.peerSubject)
        XCTAssertEqual(client.cipherSuite, "TLS_AES_128_GCM_SHA256")
        XCTAssertFalse(server.hasPendingInput())
        try client.send([9, 8, 7, 6])
        XCTAssertEqual(try server.receive(count: 3), [9, 8, 7])
        XCTAssertTrue(server.hasPendingInput(), "one decrypted byte is buffered")
        XCTAssertEqual(try server.receive(count: 1), [6])
    }

    func testDifferentPresharedKeysAreRefused() throws {
        let (c, s) = try tlsHandshake(client: try pskContext(.client, try PresharedKey.generate()),
                                      server: try pskContext(.server, try PresharedKey.generate()))
        assertUnauthenticated(tlsChannelError(s), "different pre-shared key")
        assertUnauthenticated(tlsChannelError(c), "refused our pre-shared key")
    }

    func testClientWithoutPresharedKeyIsRefused() throws {
        let (c, s) = try tlsHandshake(client: try certContext(.client, "client"), server: try pskContext(.server, try PresharedKey.generate()))
        assertUnauthenticated(tlsChannelError(s), "offered no pre-shared key")
        assertUnauthenticated(tlsChannelError(c), "could not agree on authentication")
    }

    func testPresharedKeyClientRefusesCertificateServer() throws {
        let (c, s) = try tlsHandshake(client: try pskContext(.client, try PresharedKey.generate()), server: try certContext(.server, "server"))
        assertUnauthenticated(tlsChannelError(c), "does not use --psk")
        assertUnauthenticated(tlsChannelError(s), "offered a pre-shared key (--psk); this server uses certificates")
    }

    func testPlainTCPClientIsRefused() throws {
        let (c, s) = try tlsLoopbackPair()
        let server = TLSTestThread { try TLSChannel(over: s, context: try self.certContext(.server, "server")) }
        try c.send(Array("CAPSULE/1 hello\n".utf8))
        assertUnauthenticated(tlsChannelError(server.wait()), "did not start a TLS handshake")
        // The server dropped the connection: the plain client sees the end.
        XCTAssertThrowsError(try c.receive(count: 1))
    }

    func testTLS12ClientIsRefused() throws {
        let (c, s) = try tlsLoopbackPair()
        let server = TLSTestThread { try TLSChannel(over: s, context: try self.pskContext(.server, try PresharedKey.generate())) }
        // A real OpenSSL client limited to TLS 1.2 (blocking, on the raw socket).
        let ctx = SSL_CTX_new(TLS_client_method())!
        defer { SSL_CTX_free(ctx) }
        XCTAssertEqual(capsule_SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION), 1)
        let ssl = SSL_new(ctx)!
        defer { SSL_free(ssl) }
        SSL_set_fd(ssl, c.descriptor)
        XCTAssertNotEqual(SSL_connect(ssl), 1)
        ERR_clear_error()
        guard let e = tlsChannelError(server.wait()) else { return }
        guard case .tls(let why) = e else { return XCTFail("expected .tls, got \(e)") }
        XCTAssertTrue(why.contains("does not speak TLS 1.3"), why)
    }

    func testTLS12ServerIsRefused() throws {
        let (c, s) = try tlsLoopbackPair()
        let pki = self.pki
        // A real OpenSSL server limited to TLS 1.2, with a certificate from our CA.
        let server = TLSTestThread { () -> Int32 in
            let ctx = SSL_CTX_new(TLS_server_method())!
            defer { SSL_CTX_free(ctx) }
            _ = capsule_SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION)
            _ = SSL_CTX_use_certificate_chain_file(ctx, pki.cert("server"))
            _ = SSL_CTX_use_PrivateKey_file(ctx, pki.key("server"), SSL_FILETYPE_PEM)
            let ssl = SSL_new(ctx)!
            defer { SSL_free(ssl) }
            SSL_set_fd(ssl, s.descriptor)
            let r = SSL_accept(ssl)
            ERR_clear_error()
            return r
        }
        let r = Result { try TLSChannel(over: c, context: try certContext(.client, "client")) }
        XCTAssertNotEqual(try server.wait().get(), 1, "the TLS 1.2 server must not complete a handshake")
        guard let e = tlsChannelError(r) else { return }
        guard case .tls(let why) = e else { return XCTFail("expected .tls, got \(e)") }
        XCTAssertTrue(why.contains("TLS 1.3"), why)
    }

    func testSilentClientTimesOut() throws {
        let (c, s) = try tlsLoopbackPair()
        let server = Result { try TLSChannel(over: s, context: try certContext(.server, "server", timeout: 0.3)) }
        guard let e = tlsChannelError(server) else { return }
        guard case .timeout(let why) = e else { return XCTFail("expected .timeout, got \(e)") }
        XCTAssertTrue(why.contains("did not complete within"), why)
        c.close()
    }

    func testTLSClientToPlainServerFails() throws {
        let (c, s) = try tlsLoopbackPair()
        // A plain server that answers the ClientHello with text and hangs up.
        let plain = TLSTestThread { () throws -> Void in
            _ = try s.receive(count: 5)
            try s.send(Array("CAPSULE/1 error: hello?\n".utf8))
            s.close()
        }
        let r = Result { try TLSChannel(over: c, context: try certContext(.client, "client")) }
        _ = plain.wait()
        guard let e = tlsChannelError(r) else { return }
        guard case .tls(let why) = e else { return XCTFail("expected .tls, got \(e)") }
        XCTAssertTrue(why.contains("does not speak TLS"), why)
    }

    /// Several MiB each way at once (one thread sends while another
    /// receives on the same channel), byte for byte.
    func testLargeTransfersBothDirectionsAtOnce() throws {
        let (c, s) = try tlsHandshake(client: try certContext(.client, "client"), server: try certContext(.server, "server"))
        let client = try c.get(), server = try s.get()
        let size = 6 << 20
        var r1 = TLSTestBytes(seed: 1), r2 = TLSTestBytes(seed: 2)
        let up = r1.bytes(size), down = r2.bytes(size)
        let serverSends = TLSTestThread { try server.send(down) }
        let serverReceives = TLSTestThread { try server.receive(count: size) }
        let clientSends = TLSTestThread { try client.send(up) }
        let got = try client.receive(count: size)
        try clientSends.wait().get()
        try serverSends.wait().get()
        XCTAssertTrue(got == down, "server to client data differs")
        XCTAssertTrue(try serverReceives.wait().get() == up, "client to server data differs")
    }

    func testLargeTransferWithPresharedKey() throws {
        let key = try PresharedKey.generate()
        let (c, s) = try tlsHandshake(client: try pskContext(.client, key), server: try pskContext(.server, key))
        let client = try c.get(), server = try s.get()
        var r = TLSTestBytes(seed: 3)
        let data = r.bytes(5 << 20 + 123)
        let sender = TLSTestThread { try client.send(data) }
        XCTAssertTrue(try server.receive(count: data.count) == data)
        try sender.wait().get()
    }

    func testCloseEndsThePeersReceive() throws {
        let key = try PresharedKey.generate()
        let (c, s) = try tlsHandshake(client: try pskContext(.client, key), server: try pskContext(.server, key))
        let client = try c.get(), server = try s.get()
        let reader = TLSTestThread { try client.receive(count: 10) }
        try server.send([1, 2, 3])
        server.close()
        guard case .failure(let e as ChannelError) = reader.wait(), case .closed(let why) = e else {
            return XCTFail("expected .closed")
        }
        XCTAssertTrue(why.contains("after 3 of 10 bytes"), why)
        XCTAssertThrowsError(try server.send([1]))
        client.close()
        client.close() // idempotent
    }

    func testLocalCloseWakesABlockedReceive() throws {
        let key = try PresharedKey.generate()
        let (c, s) = try tlsHandshake(client: try pskContext(.client, key), server: try pskContext(.server, key))
        let client = try c.get(), server = try s.get()
        let reader = TLSTestThread { try client.receive(count: 1) }
        usleep(50_000)
        client.close()
        guard case .failure(let e as ChannelError) = reader.wait(), case .closed = e else {
            return XCTFail("expected .closed")
        }
        withExtendedLifetime(server) {}
    }

    func testConfigurationErrorsNameTheFile() {
        XCTAssertThrowsError(try TLSContext(role: .server, authentication: .certificates(
            TLSCertificateFiles(certificate: pki.cert("server"), privateKey: pki.key("client"), ca: pki.ca)))) { e in
            XCTAssertTrue("\(e)".contains("does not belong to the certificate"), "\(e)")
        }
        XCTAssertThrowsError(try TLSContext(role: .client, authentication: .certificates(
            TLSCertificateFiles(certificate: "/nonexistent.pem", privateKey: pki.key("client"), ca: pki.ca)))) { e in
            XCTAssertTrue("\(e)".contains("/nonexistent.pem"), "\(e)")
        }
        XCTAssertThrowsError(try TLSContext(role: .server, authentication: .certificates(
            TLSCertificateFiles(certificate: nil, privateKey: nil, ca: pki.ca)))) { e in
            XCTAssertTrue("\(e)".contains("needs --cert and --key"), "\(e)")
        }
        XCTAssertThrowsError(try TLSContext(role: .client, authentication: .certificates(
            TLSCertificateFiles(certificate: pki.cert("client"), privateKey: pki.key("client"), ca: pki.key("client"))))) { e in
            XCTAssertTrue("\(e)".contains("CA certificate"), "\(e)")
        }
    }
}

/// Deterministic pseudo-random bytes (xorshift), fast enough for MiBs.
struct TLSTestBytes {
    var state: UInt64
    init(seed: UInt64) { state = (seed &+ 1) &* 0x9E37_79B9_7F4A_7C15 }
    mutating func bytes(_ n: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: n)
        out.withUnsafeMutableBytes { p in
            var i = 0
            while i < n {
                state ^= state << 13; state ^= state >> 7; state ^= state << 17
                var v = state
                for _ in 0..<8 where i < n { p[i] = UInt8(truncatingIfNeeded: v); v >>= 8; i += 1 }
            }
        }
        return out
    }
}
