import ArgumentParser
import Capsule
import Foundation
import PC

func openStore(_ options: StoreOptions) throws -> Store {
    do { return try Store(root: options.store ?? Store.defaultRoot) } catch {
        throw ValidationError("cannot open the capsule store: \(error)")
    }
}

/// `capsule create NAME [machine options]`: a capsule of a machine that
/// has executed nothing yet.
struct CreateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "create", abstract: "Create a capsule from machine options (executes nothing).")

    @Argument(help: "Capsule name.") var name: String
    @OptionGroup var machineOptions: MachineOptions
    @OptionGroup var storeOptions: StoreOptions

    func run() throws {
        var options = machineOptions
        if options.isEmpty {
            try DefaultGuest.ensure()
            options.kernel = DefaultGuest.kernel.path
            options.initrd = DefaultGuest.initrd.path
            options.append = DefaultGuest.commandLine
        }
        let store = try openStore(storeOptions)
        let (machine, firmware) = try options.build()
        do {
            let c = try MachineCapsule(creating: name, store: store, machine: machine, firmware: firmware, rawDisks: options.rawDisks)
            let hash = try c.save()
            print("created capsule '\(name)' (manifest \(hash.hex.prefix(16))) in \(store.root)")
        } catch {
            throw ValidationError("cannot create capsule '\(name)': \(error)")
        }
    }
}

/// `capsule clone SRC DST`: fork a capsule (shares all blocks and layers).
struct CloneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "clone", abstract: "Make a new capsule with the content of another (its parent).")

    @Argument(help: "The capsule to copy.") var source: String
    @Argument(help: "The new capsule's name.") var name: String
    @OptionGroup var storeOptions: StoreOptions

    func run() throws {
        let store = try openStore(storeOptions)
        do {
            let (_, hash) = try store.cloneCapsule(source, as: name)
            print("cloned '\(source)' as '\(name)' (manifest \(hash.hex.prefix(16))) in \(store.root)")
        } catch {
            throw ValidationError("cannot clone capsule '\(source)': \(error)")
        }
    }
}

struct ListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ls", abstract: "List the capsules in the store.")
    @OptionGroup var storeOptions: StoreOptions

    func run() throws {
        let store = try openStore(storeOptions)
        for s in try store.list() {
            let mem = "\(s.storedPages)/\(s.memoryPages) pages"
            print("\(s.name)\t\(s.created ?? "?")\t\(mem)\tdisks: \(s.disks.joined(separator: ","))\(s.problem.map { "\tPROBLEM: \($0)" } ?? "")")
        }
    }
}

struct RemoveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rm", abstract: "Remove a capsule (its blocks go at the next gc).")
    @Argument(help: "Capsule name.") var name: String
    @OptionGroup var storeOptions: StoreOptions

    func run() throws {
        let store = try openStore(storeOptions)
        do { try store.removeCapsule(name) } catch { throw ValidationError("cannot remove '\(name)': \(error)") }
    }
}

struct GCCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "gc", abstract: "Delete blocks and layers no capsule or disk references.")
    @OptionGroup var storeOptions: StoreOptions

    func run() throws {
        print(try openStore(storeOptions).gc())
    }
}

struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "inspect", abstract: "Sizes per part of a capsule: state, memory, disks; unique vs shared bytes.")
    @Argument(help: "Capsule name.") var name: String
    @OptionGroup var storeOptions: StoreOptions

    func run() throws {
        let store = try openStore(storeOptions)
        let i: Store.Inspection
        do { i = try store.inspect(name) } catch { throw ValidationError("cannot inspect '\(name)': \(error)") }
        print("capsule \(i.name)  manifest \(i.manifestHash.hex.prefix(16))  created \(i.created)")
        print("machine: " + i.machine.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "))
        print("state: \(i.stateBytes) bytes in \(i.stateSections.count) sections:")
        for s in i.stateSections {
            print("  \(s.tag) v\(s.version) \(s.bytes) B" + (s.subsections.isEmpty ? "" : " (sub-sections: \(s.subsections.joined(separator: ", ")))"))
        }
        print("memory: \(i.memoryPages) pages, \(i.memoryStoredPages) non-zero")
        for d in i.disks { print("disk \(d.name): \(d.size) bytes, \(d.layers) layers, \(d.blocks) blocks") }
        print("input log: \(i.inputLogEvents) events")
        if let line = i.replayLine { print(line) }
        print("blocks: \(i.distinctBlocks) distinct; unique \(i.uniqueBytes) bytes, shared \(i.sharedBytes) bytes")
    }
}

/// `capsule verify NAME`: reads every part and every block a capsule
/// references, checking each against its name.
struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "verify", abstract: "Check every part and block of a capsule against its hash.")
    @Argument(help: "Capsule name.") var name: String
    @OptionGroup var storeOptions: StoreOptions

    func run() throws {
        let store = try openStore(storeOptions)
        do {
            let n = try store.verifyCapsule(name)
            print("capsule '\(name)' is intact: \(n) blocks verified")
        } catch {
            throw ValidationError("capsule '\(name)' is damaged: \(error)")
        }
    }
}
