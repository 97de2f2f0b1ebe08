import Foundation
@testable import Migration
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// A fresh directory under /tmp for TLS tests, removed when the test ends.
func tlsTestDirectory(_ test: XCTestCase) -> String {
    var template = Array("/tmp/capsule-tls-XXXXXX".utf8CString)
    let p = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
    let dir = String(cString: p!)
    test.addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
    return dir
}

/// Test certificates made with the real `openssl` command at test time:
/// a CA with a server and a client certificate, and a second, unrelated CA
/// with its own client and server certificates (the "wrong CA" cases).
/// Made once per test process (EC P-256 keys: fast).
struct TLSTestPKI {
    let dir: String
    var ca: String { dir + "/ca.pem" }
    var otherCA: String { dir + "/other-ca.pem" }
    func cert(_ name: String) -> String { dir + "/\(name).pem" }
    func key(_ name: String) -> String { dir + "/\(name).key" }

    nonisolated(unsafe) static let shared: TLSTestPKI = {
        var template = Array("/tmp/capsule-pki-XXXXXX".utf8CString)
        let dir = String(cString: template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }!)
        let pki = TLSTestPKI(dir: dir)
        pki.makeCA("ca", "Capsule Test CA")
        pki.makeCA("other-ca", "Some Other CA")
        pki.makeLeaf("server", "capsule-server", ca: "ca")
        pki.makeLeaf("client", "capsule-client", ca: "ca")
        pki.makeLeaf("rogue-client", "rogue-client", ca: "other-ca")
        pki.makeLeaf("rogue-server", "rogue-server", ca: "other-ca")
        return pki
    }()

    private func openssl(_ args: [String]) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["openssl"] + args
        p.currentDirectoryURL = URL(fileURLWithPath: dir)
        let err = Pipe()
        p.standardError = err
        p.standardOutput = FileHandle.nullDevice
        try! p.run()
        p.waitUntilExit()
        let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        precondition(p.terminationStatus == 0, "openssl \(args.joined(separator: " ")) failed: \(text)")
    }

    private func makeCA(_ name: String, _ cn: String) {
        openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                 "-keyout", "\(name).key", "-out", "\(name).pem", "-days", "2", "-subj", "/CN=\(cn)",
                 "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"])
    }

    private func makeLeaf(_ name: String, _ cn: String, ca: String) {
        openssl(["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                 "-keyout", "\(name).key", "-out", "\(name).csr", "-subj", "/O=Capsule Tests/CN=\(cn)"])
        let ext = dir + "/\(name).ext"
        try! "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth,clientAuth\n"
            .write(toFile: ext, atomically: true, encoding: .utf8)
        openssl(["x509", "-req", "-in", "\(name).csr", "-CA", "\(ca).pem", "-CAkey", "\(ca).key", "-CAcreateserial",
                 "-out", "\(name).pem", "-days", "2", "-extfile", ext])
    }

    func files(_ name: String?, ca: String) -> TLSCertificateFiles {
        TLSCertificateFiles(certificate: name.map(cert), privateKey: name.map(key), ca: ca)
    }
}

/// Two ends of a real loopback TCP connection (127.0.0.1).
func tlsLoopbackPair() throws -> (client: TCPChannel, server: TCPChannel) {
    let listener = try TCPListener(address: "127.0.0.1:0")
    defer { listener.close() }
    let client = try TCPChannel.connect(to: "127.0.0.1:\(listener.address.port)", timeout: 5, ioTimeout: 30)
    let server = try listener.accept(timeout: 5, ioTimeout: 30)
    return (client, server)
}

/// Runs `body` on its own thread; `wait()` returns its result.
final class TLSTestThread<T>: @unchecked Sendable {
    private var result: Result<T, Error>?
    private let done = DispatchSemaphore(value: 0)

    init(_ body: @escaping () throws -> T) {
        let t = Thread { [self] in
            result = Result { try body() }
            done.signal()
        }
        t.start()
    }

    func wait() -> Result<T, Error> {
        done.wait()
        return result!
    }
}

/// Handshakes a client and a server context over loopback: (client, server).
func tlsHandshake(client: TLSContext, server: TLSContext) throws -> (Result<TLSChannel, Error>, Result<TLSChannel, Error>) {
    let (c, s) = try tlsLoopbackPair()
    let serverSide = TLSTestThread { try TLSChannel(over: s, context: server) }
    let clientSide = Result { try TLSChannel(over: c, context: client) }
    return (clientSide, serverSide.wait())
}

/// The ChannelError in `r`, failing the test when there is none.
func tlsChannelError<T>(_ r: Result<T, Error>, file: StaticString = #filePath, line: UInt = #line) -> ChannelError? {
    switch r {
    case .success:
        XCTFail("expected a refusal, the channel was established", file: file, line: line)
        return nil
    case .failure(let e):
        guard let ce = e as? ChannelError else {
            XCTFail("expected a ChannelError, got \(e)", file: file, line: line)
            return nil
        }
        return ce
    }
}

/// Fails unless `e` is `.unauthenticated` with a message containing `text`.
func assertUnauthenticated(_ e: ChannelError?, _ text: String, file: StaticString = #filePath, line: UInt = #line) {
    guard let e else { return }
    guard case .unauthenticated(let why) = e else {
        XCTFail("expected .unauthenticated, got \(e)", file: file, line: line)
        return
    }
    XCTAssertTrue(why.contains(text), "\"\(why)\" does not mention \"\(text)\"", file: file, line: line)
}
