import Foundation

/// Per-form counts of a campaign.
public struct FormStats: Sendable {
    public var name: String
    /// Cases that contain the form.
    public var cases = 0
    /// Of those, cases the emulator got wrong.
    public var mismatches = 0
    /// Cases made of this form alone, and how many of them mismatched.
    public var soloCases = 0
    public var soloMismatches = 0
}

/// The result of replaying a stream of cases.
public struct CampaignSummary: Sendable {
    public var header: CaseFileHeader?
    public var cases = 0
    public var mismatches = 0
    public var expectedExceptions = 0
    public var forms: [FormStats] = []
    /// Full reports of the first mismatches (up to the campaign's `keepReports`).
    public var reports: [String] = []
    /// Up to `examplesPerForm` reports per form, for single-form cases first.
    public var examplesByForm: [String: [String]] = [:]
    public var seconds: Double = 0

    public var casesPerSecond: Double { seconds > 0 ? Double(cases) / seconds : 0 }
    public var formsCovered: Int { forms.filter { $0.cases > 0 }.count }

    /// A table of the forms that mismatched, worst first.
    public func mismatchTable(limit: Int = 60) -> String {
        let bad = forms.filter { $0.mismatches > 0 }.sorted {
            ($0.soloMismatches, $0.mismatches) > ($1.soloMismatches, $1.mismatches)
        }
        var s = "forms with mismatches (solo = cases made of that form only):\n"
        for f in bad.prefix(limit) {
            s += String(format: "  %8d / %8d   solo %6d / %6d   %@\n", f.mismatches, f.cases, f.soloMismatches, f.soloCases, f.name)
        }
        if bad.count > limit { s += "  … \(bad.count - limit) more\n" }
        return s
    }

    /// The whole result as text: totals, the table of mismatching forms and
    /// the example reports of each (what a campaign's log should keep).
    public func fullReport() -> String {
        var s = "cpudiff: seed \(header?.seed ?? 0): \(totals)\n"
        if mismatches == 0 { return s }
        s += mismatchTable(limit: Int.max)
        let bad = forms.filter { $0.mismatches > 0 }.sorted {
            ($0.soloMismatches, $0.mismatches) > ($1.soloMismatches, $1.mismatches)
        }
        for f in bad {
            s += "\n== \(f.name): \(f.mismatches) of \(f.cases) cases (solo \(f.soloMismatches) of \(f.soloCases))\n"
            for e in examplesByForm[f.name, default: []] { s += e }
        }
        s += "\n== the first \(reports.count) mismatching cases\n"
        for r in reports { s += r }
        return s
    }

    /// One line of totals.
    public var totals: String {
        String(format: "%d cases, %d mismatches, %d expected exceptions, %d/%d forms covered, %.1f s (%.0f cases/s)",
               cases, mismatches, expectedExceptions, formsCovered, forms.count, seconds, casesPerSecond)
    }
}

/// Replays every case of `reader` on a fresh `DifferentialRunner`.
public func runCases(from reader: CaseReader, keepReports: Int = 20, examplesPerForm: Int = 2,
                     progress: ((CampaignSummary) -> Void)? = nil, progressEvery: Int = 100_000) throws -> CampaignSummary {
    let header = reader.header
    let runner = try DifferentialRunner(header: header)
    var summary = CampaignSummary()
    summary.header = header
    summary.forms = header.formNames.map { FormStats(name: $0) }
    var soloExamples: [String: [String]] = [:], otherExamples: [String: [String]] = [:]
    let start = Date()
    while let c = try reader.next() {
        let mismatch = runner.run(c)
        summary.cases += 1
        if c.expectedVector != nil { summary.expectedExceptions += 1 }
        let solo = c.forms.count == 1
        var seen = Set<UInt16>()
        for f in c.forms where seen.insert(f).inserted {
            summary.forms[Int(f)].cases += 1
            if solo { summary.forms[Int(f)].soloCases += 1 }
            if mismatch != nil {
                summary.forms[Int(f)].mismatches += 1
                if solo { summary.forms[Int(f)].soloMismatches += 1 }
            }
        }
        if let m = mismatch {
            summary.mismatches += 1
            let text = m.report(header: header)
            if summary.reports.count < keepReports { summary.reports.append(text) }
            // Examples per form: cases that hold the form alone are the clearest.
            for f in Set(c.forms) {
                let name = header.formName(f)
                if solo {
                    if soloExamples[name, default: []].count < examplesPerForm { soloExamples[name, default: []].append(text) }
                } else if otherExamples[name, default: []].count < examplesPerForm {
                    otherExamples[name, default: []].append(text)
                }
            }
        }
        if let p = progress, summary.cases % progressEvery == 0 {
            summary.seconds = Date().timeIntervalSince(start)
            p(summary)
        }
    }
    summary.seconds = Date().timeIntervalSince(start)
    for name in Set(soloExamples.keys).union(otherExamples.keys) {
        summary.examplesByForm[name] = Array((soloExamples[name, default: []] + otherExamples[name, default: []]).prefix(examplesPerForm))
    }
    return summary
}

/// Errors of a campaign run.
public enum CampaignError: Error, CustomStringConvertible {
    case generatorFailed(String, Int32)
    case buildFailed(String)

    public var description: String {
        switch self {
        case .generatorFailed(let cmd, let status): return "\(cmd) exited with status \(status)"
        case .buildFailed(let log): return "building the native generator failed:\n\(log)"
        }
    }
}

/// Spawns the native generator (`cpudiff-gen --seed S --count N --out -`) and
/// replays its cases as they stream in, so millions of cases never touch the disk.
public func runCampaign(seed: UInt64, count: Int, generatorPath: String, keepReports: Int = 20,
                        examplesPerForm: Int = 2,
                        progress: ((CampaignSummary) -> Void)? = nil,
                        progressEvery: Int = 100_000) throws -> CampaignSummary {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: generatorPath)
    process.arguments = ["--seed", String(seed), "--count", String(count), "--out", "-"]
    let pipe = Pipe()
    process.standardOutput = pipe
    try process.run()
    let fd = pipe.fileHandleForReading.fileDescriptor
    let summary: CampaignSummary
    do {
        let reader = try CaseReader(fileDescriptor: fd)
        summary = try runCases(from: reader, keepReports: keepReports, examplesPerForm: examplesPerForm,
                               progress: progress, progressEvery: progressEvery)
    } catch {
        process.terminate()
        process.waitUntilExit()
        throw error
    }
    process.waitUntilExit()
    if process.terminationStatus != 0 {
        throw CampaignError.generatorFailed("\(generatorPath) --seed \(seed) --count \(count)", process.terminationStatus)
    }
    return summary
}

/// Builds the native generator with `tools/cpudiff/build.sh` into `outputDirectory`
/// and returns the path of the executable.
public func buildGenerator(repositoryRoot: String, outputDirectory: String) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/sh")
    process.arguments = [repositoryRoot + "/tools/cpudiff/build.sh", outputDirectory]
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let log = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    if process.terminationStatus != 0 {
        throw CampaignError.buildFailed(String(decoding: log, as: UTF8.self))
    }
    return outputDirectory + "/cpudiff-gen"
}

/// Whether `gcc -m32` can build and link a program here (gcc-multilib installed).
public func canCompile32BitC() -> Bool {
    let dir = NSTemporaryDirectory() + "cpudiff-probe-\(getpid())"
    try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let src = dir + "/probe.c"
    guard (try? "int main(void) { return 0; }\n".write(toFile: src, atomically: true, encoding: .utf8)) != nil else { return false }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/sh")
    process.arguments = ["-c", "gcc -m32 -o '\(dir)/probe' '\(src)' && '\(dir)/probe'"]
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    do { try process.run() } catch { return false }
    process.waitUntilExit()
    return process.terminationStatus == 0
}
