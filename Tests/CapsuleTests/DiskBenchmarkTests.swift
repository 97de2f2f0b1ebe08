import Capsule
import XCTest

/// Runs the benchmark on a tiny disk: it must complete; the numbers are
/// printed, not checked (debug builds are slow; see docs/capsule-format.md).
final class DiskBenchmarkTests: XCTestCase {
    func testBenchmarkRuns() throws {
        var lines: [String] = []
        let results = try DiskBenchmark.run(directory: temporaryDirectory(self), sizeMB: 2, randomOps: 300) { lines.append($0) }
        XCTAssertEqual(results.count, 13)
        XCTAssertTrue(results.allSatisfy { $0.bytes > 0 && $0.seconds >= 0 })
        let codecs = DiskBenchmark.blockCodecs(blocks: 256) { lines.append($0) }
        XCTAssertEqual(codecs.count, 3)
        print(lines.joined(separator: "\n"))
    }
}
