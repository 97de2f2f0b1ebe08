import ArgumentParser

@main
struct CapsuleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "capsule",
        abstract: "A portable x86 PC whose whole state is a capsule.",
        subcommands: [RunCommand.self, BenchCommand.self],
        defaultSubcommand: RunCommand.self
    )
}
