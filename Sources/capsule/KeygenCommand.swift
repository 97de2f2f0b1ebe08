import ArgumentParser
import Migration

/// `capsule keygen FILE`: a fresh pre-shared key for `--psk FILE`.
struct KeygenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keygen",
        abstract: "Write a new random 256-bit pre-shared key for --psk (file mode 0600).",
        discussion: """
        Copy the file to the other host (keeping mode 0600) and pass --psk FILE on both sides. \
        The file holds one line 'capsule-psk-v1 <64 hex digits>' after comment lines; \
        see docs/migration-transport.md.
        """
    )

    @Argument(help: "The key file to create.") var file: String
    @Flag(help: "Replace FILE if it exists.") var force = false

    func run() throws {
        do {
            let key = try PresharedKey.generate()
            try key.write(to: file, overwrite: force)
            print("wrote a new pre-shared key to \(file) (fingerprint \(key.fingerprint))")
        } catch {
            throw ValidationError("keygen: \(error)")
        }
    }
}
