import ArgumentParser

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bench", abstract: "Benchmarks.", subcommands: [CPUBench.self, DiskBench.self, SuspendBench.self, DecodeBench.self])
}
