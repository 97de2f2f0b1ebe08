import ArgumentParser

@main
struct CapsuleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "capsule",
        abstract: "A portable x86 PC whose whole state is a capsule.",
        // One per line: branches that add a command then merge cleanly.
        subcommands: [
            RunCommand.self,
            DebugCommand.self,
            CreateCommand.self,
            CloneCommand.self,
            ListCommand.self,
            InspectCommand.self,
            VerifyCommand.self,
            ReplayCommand.self,
            RemoveCommand.self,
            GCCommand.self,
            DiskCommand.self,
            BenchCommand.self,
            DisasmCommand.self,
            DisasmCheckCommand.self,
            KeygenCommand.self,
            ServeCommand.self,
            MigrateCommand.self,
            FetchCommand.self,
        ],
        defaultSubcommand: RunCommand.self
    )
}
