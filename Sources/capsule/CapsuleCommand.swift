import ArgumentParser

@main
struct CapsuleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "capsule",
        abstract: "A portable x86 PC whose whole state is a capsule.",
        subcommands: [RunCommand.self, CreateCommand.self, ListCommand.self, InspectCommand.self, VerifyCommand.self, RemoveCommand.self, GCCommand.self, DiskCommand.self, BenchCommand.self, DisasmCheckCommand.self, DisasmCommand.self],
        defaultSubcommand: RunCommand.self
    )
}
