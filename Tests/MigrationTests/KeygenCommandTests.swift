import Foundation
@testable import Migration
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// `capsule keygen` as a user runs it: the release binary that
/// scripts/test.sh builds before the suite.
final class KeygenCommandTests: XCTestCase {
    static let binary = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent(".build/release/capsule")

    func keygen(_ args: [String]) throws -> (status: Int32, output: String) {
        guard FileManager.default.isExecutableFile(atPath: Self.binary.path) else {
            throw TransportSetupError("no release build at \(Self.binary.path): run `swift build -c release --product capsule`")
        }
        let p = Process()
        p.executableURL = Self.binary
        p.arguments = ["keygen"] + args
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    func testKeygenWritesALoadableKeyAndRefusesToOverwrite() throws {
        let dir = tlsTestDirectory(self)
        let path = dir + "/m.psk"
        let first = try keygen([path])
        XCTAssertEqual(first.status, 0, first.output)
        let key = try PresharedKey.load(path: path)
        XCTAssertTrue(first.output.contains(key.fingerprint), first.output)
        var st = stat()
        XCTAssertEqual(stat(path, &st), 0)
        XCTAssertEqual(st.st_mode & 0o777, 0o600)

        let again = try keygen([path])
        XCTAssertNotEqual(again.status, 0)
        XCTAssertTrue(again.output.contains("already exists; pass --force"), again.output)
        XCTAssertEqual(try PresharedKey.load(path: path), key)

        let forced = try keygen(["--force", path])
        XCTAssertEqual(forced.status, 0, forced.output)
        XCTAssertNotEqual(try PresharedKey.load(path: path), key)
    }
}
