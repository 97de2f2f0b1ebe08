@testable import Capsule
import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// A fresh directory under /tmp, removed when the test case ends.
func temporaryDirectory(_ test: XCTestCase) -> String {
    var template = Array("/tmp/capsule-test-XXXXXX".utf8CString)
    let p = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
    let dir = String(cString: p!)
    test.addTeardownBlock { try? FileIO.removeTree(dir) }
    return dir
}

/// The repository's root directory.
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// A test image from `testimages/SET`: runs the set's build script (which
/// rebuilds only what changed) and reads `build/NAME.bin`.
func testImage(_ set: String, _ name: String) throws -> [UInt8] {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/bin/sh")
    p.arguments = [repositoryRoot.appendingPathComponent("testimages/\(set)/build.sh").path]
    p.standardOutput = FileHandle.nullDevice
    try p.run()
    p.waitUntilExit()
    return [UInt8](try Data(contentsOf: repositoryRoot.appendingPathComponent("testimages/\(set)/build/\(name).bin")))
}

/// Deterministic pseudo-random bytes (xorshift).
struct TestRandom {
    var state: UInt64
    init(_ seed: UInt64) { state = (seed &+ 1) &* 0x9E37_79B9_7F4A_7C15; if state == 0 { state = 1 } }
    mutating func next() -> UInt64 {
        state ^= state << 13; state ^= state >> 7; state ^= state << 17
        return state
    }
    mutating func bytes(_ n: Int) -> [UInt8] { (0..<n).map { _ in UInt8(truncatingIfNeeded: next()) } }
}

/// A 4 KiB block that compresses (text-like) or not.
func sampleBlock(_ seed: UInt64, compressible: Bool = true) -> [UInt8] {
    var r = TestRandom(seed)
    if !compressible { return r.bytes(4096) }
    let words = ["capsule", "block", "layer", "sector", "page ", "\n", "0000"]
    var out: [UInt8] = []
    while out.count < 4096 { out += Array(words[Int(r.next() % UInt64(words.count))].utf8) }
    return Array(out[0..<4096])
}

func writeFile(_ path: String, _ bytes: [UInt8]) throws {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    guard fd >= 0 else { throw CapsuleError.io(path: path, operation: "open", errno: errno) }
    defer { close(fd) }
    try bytes.withUnsafeBytes { try FileIO.pwriteAll(fd, $0, at: 0, path: path) }
}

func chmodWritable(_ path: String) { chmod(path, 0o644) }

/// Asserts that `body` throws an error whose description contains every fragment.
func XCTAssertThrowsMessage<T>(_ body: @autoclosure () throws -> T, _ fragments: String..., file: StaticString = #filePath, line: UInt = #line) {
    do {
        _ = try body()
        XCTFail("expected an error containing \(fragments)", file: file, line: line)
    } catch {
        let text = "\(error)"
        for f in fragments where !text.contains(f) {
            XCTFail("error \(String(reflecting: text)) does not contain \(String(reflecting: f))", file: file, line: line)
        }
    }
}

/// Byte-array equality without the debug-build cost of generic ==.
func same(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    a.count == b.count && a.withUnsafeBytes { x in b.withUnsafeBytes { y in memcmp(x.baseAddress!, y.baseAddress!, a.count) == 0 } }
}
