import ArgumentParser
import Capsule
import Foundation

/// `capsule disk …`: copy-on-write disks in the store.
struct DiskCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "disk", abstract: "Copy-on-write disks: create, import, export, layer, flatten, info.",
        subcommands: [Create.self, Import.self, Export.self, Layer.self, Flatten.self, Info.self])

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create an empty disk of SIZE (e.g. 1G).")
        @Argument(help: "Disk name.") var name: String
        @Argument(help: "Size, e.g. 64M or 2G.") var size: String
        @OptionGroup var storeOptions: StoreOptions

        func run() throws {
            guard let bytes = parseSize(size), bytes % 512 == 0 else { throw ValidationError("bad size '\(size)': a multiple of 512 bytes like 64M") }
            let d = try openStore(storeOptions).createDisk(name, size: UInt64(bytes))
            try d.close()
            print("created disk '\(name)' of \(bytes) bytes")
        }
    }

    struct Import: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Import a raw image as a disk (one sealed layer; zero blocks are not stored).")
        @Argument(help: "Disk name.") var name: String
        @Argument(help: "Raw image file.") var raw: String
        @OptionGroup var storeOptions: StoreOptions

        func run() throws {
            let d = try openStore(storeOptions).importDisk(name, raw: raw)
            let info = try d.info()
            try d.close()
            print("imported '\(raw)' as disk '\(name)': \(info.visibleBlocks) data blocks, \(info.uniqueBytes) unique bytes")
        }
    }

    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Write a disk out as a raw image.")
        @Argument(help: "Disk name.") var name: String
        @Argument(help: "Raw image to write.") var raw: String
        @OptionGroup var storeOptions: StoreOptions

        func run() throws {
            let d = try openStore(storeOptions).openDisk(name, readOnly: true)
            try d.export(to: raw)
            try d.close()
        }
    }

    struct Layer: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Seal the writable top layer and start a new one.")
        @Argument(help: "Disk name.") var name: String
        @OptionGroup var storeOptions: StoreOptions

        func run() throws {
            let d = try openStore(storeOptions).openDisk(name)
            let sealed = try d.seal()
            try d.close()
            print(sealed.map { "sealed layer \($0.hex.prefix(16)); disk '\(name)' now has \(d.layers.count) layers" } ?? "nothing written since the last seal")
        }
    }

    struct Flatten: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Merge all layers into one.")
        @Argument(help: "Disk name.") var name: String
        @OptionGroup var storeOptions: StoreOptions

        func run() throws {
            let d = try openStore(storeOptions).openDisk(name)
            try d.flatten()
            try d.close()
        }
    }

    struct Info: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Layers, blocks, unique and shared bytes.")
        @Argument(help: "Disk name.") var name: String
        @OptionGroup var storeOptions: StoreOptions

        func run() throws {
            let d = try openStore(storeOptions).openDisk(name, readOnly: true)
            let i = try d.info()
            try d.close()
            print("disk \(name): \(i.size) bytes, \(i.layers.count) sealed layers, \(i.topBlocks) blocks in the top layer")
            for (n, l) in i.layers.enumerated() {
                print("  layer \(n) \(l.name.hex.prefix(16)): \(l.blocks) blocks (\(l.zeroBlocks) zero), file \(l.fileBytes) bytes")
            }
            print("data blocks \(i.visibleBlocks); referenced \(i.referencedBytes) bytes, unique \(i.uniqueBytes), shared \(i.sharedBytes)")
        }
    }
}

/// `capsule bench disk`: layered disk vs a raw file.
struct DiskBench: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "disk", abstract: "Layered-disk throughput against a raw file.")
    @Option(help: "Scratch directory.") var directory: String = NSTemporaryDirectory()
    @Option(help: "Disk size in MiB.") var sizeMB: Int = 256

    func run() throws {
        _ = try DiskBenchmark.run(directory: directory, sizeMB: sizeMB)
    }
}
