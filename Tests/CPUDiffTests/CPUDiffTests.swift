import CPUDiff
import Foundation
import XCTest

/// Differential test of the integer CPU against the host processor.
///
/// The native generator (tools/cpudiff, built with `gcc -m32`) runs random
/// instruction sequences on the host and streams the initial and final states;
/// the emulator replays them and must agree on every general register, the
/// defined EFLAGS bits, the data and stack windows and the exception raised.
///
/// Environment knobs (defaults in brackets):
///   CPUDIFF_SEED [20261125]    seed of the fixed subset
///   CPUDIFF_COUNT [100000]     number of cases (the 5M campaign sets 5000000)
///   CPUDIFF_GENERATOR          use this prebuilt cpudiff-gen instead of building one
///   CPUDIFF_REPORT_FILE        write the totals, the mismatch table and examples per form here
///   CPUDIFF_KEEP_REPORTS [20]  how many full mismatch reports to keep (all go to the report file)
final class CPUDiffTests: XCTestCase {
    static let repositoryRoot: String = {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path
    }()

    static var builtGenerator: String?

    func generator() throws -> String {
        let env = ProcessInfo.processInfo.environment
        if let path = env["CPUDIFF_GENERATOR"], !path.isEmpty { return path }
        if let path = CPUDiffTests.builtGenerator { return path }
        guard canCompile32BitC() else {
            throw XCTSkip("gcc -m32 cannot build a 32-bit program here: install gcc-multilib to run the CPU differential test")
        }
        let dir = NSTemporaryDirectory() + "cpudiff-gen-\(getpid())"
        let path = try buildGenerator(repositoryRoot: CPUDiffTests.repositoryRoot, outputDirectory: dir)
        CPUDiffTests.builtGenerator = path
        return path
    }

    func testFixedSeedSubsetHasNoMismatches() throws {
        let env = ProcessInfo.processInfo.environment
        let seed = UInt64(env["CPUDIFF_SEED"] ?? "") ?? 20_261_125
        let count = Int(env["CPUDIFF_COUNT"] ?? "") ?? 100_000
        let gen = try generator()
        let keep = Int(env["CPUDIFF_KEEP_REPORTS"] ?? "") ?? 20
        let summary = try runCampaign(seed: seed, count: count, generatorPath: gen, keepReports: keep,
                                      progress: { s in print("cpudiff: \(s.totals)") }, progressEvery: 250_000)
        print("cpudiff: seed \(seed): \(summary.totals)")
        XCTAssertEqual(summary.cases, count)
        XCTAssertEqual(summary.formsCovered, summary.forms.count, "every instruction form must appear")
        if let path = env["CPUDIFF_REPORT_FILE"], !path.isEmpty {
            try summary.fullReport().write(toFile: path, atomically: true, encoding: .utf8)
            print("cpudiff: full report written to \(path)")
        }
        if summary.mismatches > 0 {
            print(summary.mismatchTable())
            print(summary.reports.prefix(20).joined(separator: "\n"))
        }
        XCTAssertEqual(summary.mismatches, 0,
                       "\(summary.mismatches) of \(summary.cases) cases differ from the host CPU; first reports:\n"
                       + summary.reports.prefix(20).joined(separator: "\n"))
    }

    func testCaseFileRoundTrip() throws {
        let gen = try generator()
        let file = NSTemporaryDirectory() + "cpudiff-\(getpid()).bin"
        defer { try? FileManager.default.removeItem(atPath: file) }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: gen)
        p.arguments = ["--seed", "3", "--count", "500", "--out", file]
        try p.run()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0)
        let reader = try CaseReader(path: file)
        XCTAssertEqual(reader.header.count, 500)
        XCTAssertEqual(reader.header.codeBase, 0x0020_0000)
        XCTAssertGreaterThan(reader.header.formNames.count, 400)
        var n = 0
        while let c = try reader.next() {
            XCTAssertEqual(c.index, UInt32(n))
            XCTAssertFalse(c.code.isEmpty)
            XCTAssertFalse(c.forms.isEmpty)
            XCTAssertEqual(c.initialData.count, reader.header.dataSize)
            XCTAssertEqual(c.finalStack.count, reader.header.stackSize)
            XCTAssertEqual(c.flagsMask & 0x003F_0000, 0, "RF VM AC VIF VIP ID are never compared")
            XCTAssertNotNil(c.finalEIP)
            if c.expectedVector == nil { XCTAssertEqual(c.finalEIP, reader.header.codeBase + UInt32(c.code.count)) }
            n += 1
        }
        XCTAssertEqual(n, 500)
    }

    /// The comparison itself must notice a wrong register, a wrong compared
    /// flag, a wrong byte in each window and a wrong exception.
    func testRunnerReportsEachKindOfDifference() throws {
        let gen = try generator()
        let file = NSTemporaryDirectory() + "cpudiff-k-\(getpid()).bin"
        defer { try? FileManager.default.removeItem(atPath: file) }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: gen)
        p.arguments = ["--seed", "5", "--count", "2000", "--out", file]
        try p.run()
        p.waitUntilExit()
        let reader = try CaseReader(path: file)
        let runner = try DifferentialRunner(header: reader.header)
        var checked = 0, faults = 0
        while let c = try reader.next() {
            if c.expectedVector != nil, runner.run(c) == nil {
                // the state at a fault is compared too
                var bad = c
                bad.finalGPRs[0] ^= 1
                XCTAssertNotNil(runner.run(bad), "a wrong register at a fault must be reported")
                bad = c
                bad.finalEIP = c.finalEIP.map { $0 &+ 1 }
                XCTAssertTrue(runner.run(bad)?.items.contains { if case .eip = $0 { return true }; return false } ?? false)
                bad = c
                bad.expectedVector = c.expectedVector == 0 ? 6 : 0
                XCTAssertNotNil(runner.run(bad), "a different exception must be reported")
                faults += 1
                continue
            }
            guard c.expectedVector == nil, runner.run(c) == nil else { continue }
            var bad = c
            bad.finalGPRs[3] ^= 0x100
            XCTAssertTrue(runner.run(bad)?.items.contains { if case .gpr(3, _, _) = $0 { return true }; return false } ?? false)
            bad = c
            bad.finalEFLAGS ^= c.flagsMask & 0x8D5
            if c.flagsMask & 0x8D5 != 0 {
                XCTAssertTrue(runner.run(bad)?.items.contains { if case .eflags = $0 { return true }; return false } ?? false)
            }
            bad = c
            bad.flagsMask = 0
            bad.finalEFLAGS ^= 0xFFFF_FFFF
            XCTAssertNil(runner.run(bad), "masked-out flags must not be compared")
            bad = c
            bad.finalData[7] ^= 1
            bad.finalStack[bad.finalStack.count - 1] ^= 0x80
            let items = runner.run(bad)?.items ?? []
            XCTAssertEqual(items.filter { if case .memory = $0 { return true }; return false }.count, 2)
            bad = c
            bad.expectedVector = 0
            XCTAssertNotNil(runner.run(bad))
            XCTAssertNil(runner.run(c), "the runner must reset completely between cases")
            checked += 1
        }
        XCTAssertGreaterThan(checked, 0)
        XCTAssertGreaterThan(faults, 0)
    }

    func testReaderRejectsBadInput() throws {
        let dir = NSTemporaryDirectory()
        let bad = dir + "cpudiff-bad-\(getpid()).bin"
        defer { try? FileManager.default.removeItem(atPath: bad) }
        try Data("NOTADIFF\u{1}\u{0}\u{0}\u{0}".utf8).write(to: URL(fileURLWithPath: bad))
        XCTAssertThrowsError(try CaseReader(path: bad)) { error in
            XCTAssertTrue("\(error)".contains("not a CPUDIFF1"), "\(error)")
        }
        // A header that announces one case, followed by nothing.
        var header = Data("CPUDIFF1".utf8)
        for v: UInt32 in [1, 1, 0, 0, 0x0020_0000, 0xE000, 512, 0x003F_FF00, 256, 0] {
            withUnsafeBytes(of: v.littleEndian) { header.append(contentsOf: $0) }
        }
        try header.write(to: URL(fileURLWithPath: bad))
        let reader = try CaseReader(path: bad)
        XCTAssertThrowsError(try reader.next()) { error in
            XCTAssertTrue("\(error)".contains("0 of 1 cases"), "\(error)")
        }
        var v2 = Data("CPUDIFF1".utf8)
        withUnsafeBytes(of: UInt32(3).littleEndian) { v2.append(contentsOf: $0) }
        try v2.write(to: URL(fileURLWithPath: bad))
        XCTAssertThrowsError(try CaseReader(path: bad)) { error in
            XCTAssertTrue("\(error)".contains("version 3"), "\(error)")
        }
    }
}
