import ArgumentParser
import Capsule
import Foundation

/// `capsule replay NAME`: re-executes the capsule's last run from the
/// capsule it resumed from, feeding the recorded host input at the
/// recorded instants, and checks that it ends in the capsule's state.
struct ReplayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Re-execute a capsule's last run from its replay base with the recorded input; check the state hash.",
        discussion: "Exit status 0: the replay reached exactly the capsule's state. 1: it diverged (what differs is listed). The capsule and its disks are not changed.")

    @Argument(help: "Capsule name.") var name: String
    @OptionGroup var storeOptions: StoreOptions

    func run() throws {
        let store = try openStore(storeOptions)
        let o: CapsuleReplay.Outcome
        do { o = try CapsuleReplay.run(name, store: store) } catch {
            throw ValidationError("cannot replay '\(name)': \(error)")
        }
        let r = o.record
        print("replay \(name): \(r.instructions) instructions from base \(r.base.hex.prefix(16))… (instruction \(r.baseInstructions)) to instruction \(r.end.instructions), \(r.events.count) input events, \(r.queued.count) host inputs queued")
        print("replayed state-hash \(o.replayedHash.hex)")
        print("capsule  state-hash \(o.capsuleHash.hex)")
        if o.matches {
            print("replay \(name): identical")
            return
        }
        if let d = o.divergence { print("replay \(name): DIVERGED: \(d)") }
        if o.replayedHash != o.capsuleHash {
            print("replay \(name): DIVERGED: the replayed state differs from the capsule's")
            for d in o.differences { print("  \(d)") }
        }
        throw ExitCode(1)
    }
}
