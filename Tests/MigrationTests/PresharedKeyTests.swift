@testable import Migration
import XCTest
#if canImport(Glibc)
import Glibc
#endif

final class PresharedKeyTests: XCTestCase {
    func mode(_ path: String) -> mode_t {
        var st = stat()
        XCTAssertEqual(stat(path, &st), 0)
        return st.st_mode & 0o777
    }

    func testWriteThenLoadRoundTripsWithMode0600() throws {
        let dir = tlsTestDirectory(self)
        let key = try PresharedKey.generate()
        let path = dir + "/k.psk"
        try key.write(to: path, overwrite: false)
        XCTAssertEqual(mode(path), 0o600)
        XCTAssertEqual(try PresharedKey.load(path: path), key)
        let text = try String(contentsOfFile: path, encoding: .utf8)
        XCTAssertTrue(text.contains("capsule-psk-v1 "), text)
        XCTAssertFalse(key.description.contains(key.bytes.map { String($0, radix: 16) }.joined()), "description must not leak the key")
        XCTAssertNotEqual(try PresharedKey.generate(), key, "fresh randomness each time")
    }

    func testRefusesToOverwriteWithoutForce() throws {
        let dir = tlsTestDirectory(self)
        let path = dir + "/k.psk"
        let first = try PresharedKey.generate()
        try first.write(to: path, overwrite: false)
        XCTAssertThrowsError(try PresharedKey.generate().write(to: path, overwrite: false)) { e in
            XCTAssertTrue("\(e)".contains("--force"), "\(e)")
        }
        XCTAssertEqual(try PresharedKey.load(path: path), first, "the old key is untouched")
        chmod(path, 0o644)
        let second = try PresharedKey.generate()
        try second.write(to: path, overwrite: true)
        XCTAssertEqual(try PresharedKey.load(path: path), second)
        XCTAssertEqual(mode(path), 0o600, "a forced write also resets the mode")
    }

    func testPermissionsTooOpenAreRefused() throws {
        let dir = tlsTestDirectory(self)
        let path = dir + "/k.psk"
        try PresharedKey.generate().write(to: path, overwrite: false)
        chmod(path, 0o640)
        XCTAssertThrowsError(try PresharedKey.load(path: path)) { e in
            XCTAssertTrue("\(e)".contains("chmod 600"), "\(e)")
        }
    }

    func testMalformedFilesAreNamed() throws {
        let good = String(repeating: "ab", count: 32)
        let cases: [(String, String)] = [
            ("capsule-psk-v1 \(good.dropLast(2))\n", "62 hex digits, expected 64"),
            ("capsule-psk-v1 \(good)00\n", "66 hex digits"),
            ("capsule-psk-v1 \(good.dropLast(1))g\n", "not a hex digit"),
            ("capsule-psk-v2 \(good)\n", "unsupported key format 'capsule-psk-v2'"),
            ("# only a comment\n\n", "no 'capsule-psk-v1' key line"),
            ("\(good)\n", "line 1: expected"),
            ("capsule-psk-v1 \(good)\ncapsule-psk-v1 \(good)\n", "line 2: a key file holds exactly one key"),
        ]
        for (text, message) in cases {
            XCTAssertThrowsError(try PresharedKey.parse(text, source: "k.psk")) { e in
                XCTAssertTrue("\(e)".contains(message), "\(e) lacks \(message)")
                XCTAssertTrue("\(e)".contains("k.psk"), "\(e)")
            }
        }
        let key = try PresharedKey.parse("# c\n  capsule-psk-v1\t\(good.uppercased())  \r\n", source: "k")
        XCTAssertEqual(key.bytes, [UInt8](repeating: 0xAB, count: 32))
    }

    func testLoadRefusesMissingDirectoriesAndHugeFiles() throws {
        let dir = tlsTestDirectory(self)
        XCTAssertThrowsError(try PresharedKey.load(path: dir + "/none")) { e in
            XCTAssertTrue("\(e)".contains("cannot open"), "\(e)")
        }
        let big = dir + "/big"
        FileManager.default.createFile(atPath: big, contents: Data(count: 10_000), attributes: [.posixPermissions: 0o600])
        XCTAssertThrowsError(try PresharedKey.load(path: big)) { e in
            XCTAssertTrue("\(e)".contains("too large"), "\(e)")
        }
    }
}

final class TLSOptionsTests: XCTestCase {
    func testOptionSetsAreCheckedTogether() throws {
        XCTAssertNil(try TLSOptions().context(role: .server))
        XCTAssertThrowsError(try TLSOptions(certificate: "c.pem", ca: "ca.pem").authentication()) { e in
            XCTAssertTrue("\(e)".contains("missing: --key"), "\(e)")
        }
        XCTAssertThrowsError(try TLSOptions(ca: "ca.pem", psk: "k.psk").authentication()) { e in
            XCTAssertTrue("\(e)".contains("cannot be combined"), "\(e)")
        }
        let dir = tlsTestDirectory(self)
        let key = try PresharedKey.generate()
        try key.write(to: dir + "/k.psk", overwrite: false)
        XCTAssertEqual(try TLSOptions(psk: dir + "/k.psk").authentication(), .presharedKey(key))
        let pki = TLSTestPKI.shared
        let ctx = try TLSOptions(certificate: pki.cert("server"), privateKey: pki.key("server"), ca: pki.ca).context(role: .server)
        XCTAssertEqual(ctx?.role, .server)
    }
}
