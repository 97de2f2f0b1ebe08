import ArgumentParser
import Foundation
import PC

/// How to build a machine: shared by `run` and `create`.
struct MachineOptions: ParsableArguments {
    @Option(help: "Raw firmware image (64 KiB or 128 KiB) instead of Capsule's BIOS.")
    var firmware: String?

    @Option(help: "Linux bzImage to boot directly (32-bit boot protocol).")
    var kernel: String?

    @Option(help: "Initial ramdisk for --kernel.")
    var initrd: String?

    @Option(help: "Kernel command line for --kernel.")
    var append: String = "console=ttyS0"

    @Option(help: "Raw disk image on the first IDE channel (master); repeat for the slave.")
    var disk: [String] = []

    @Option(help: "ISO image in an ATAPI CD-ROM on the second IDE channel.")
    var cdrom: String?

    @Option(help: "Guest RAM, e.g. 16M, 128M, 1G.")
    var memory: String = "128M"

    @Flag(inversion: .prefixedNo, help: "A virtio-balloon device (PCI 00:02.0) the guest's virtio_balloon driver can use; recorded in capsules.")
    var virtioBalloon = true

    var isEmpty: Bool { firmware == nil && kernel == nil && disk.isEmpty && cdrom == nil }

    func readFile(_ path: String, what: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ValidationError("cannot read \(what) '\(path)'")
        }
        return [UInt8](data)
    }

    /// Builds the machine with firmware and (for --kernel) the kernel loaded;
    /// disks are left to the caller (raw files for `run`, layers for `create`).
    func build() throws -> (Machine, firmware: [UInt8]) {
        guard let bytes = parseSize(memory) else { throw ValidationError("bad --memory '\(memory)': use a size like 16M or 1G") }
        if initrd != nil && kernel == nil { throw ValidationError("--initrd needs --kernel") }
        if disk.count > 2 { throw ValidationError("at most two --disk images (primary master and slave)") }
        for path in disk + (cdrom.map { [$0] } ?? []) where !FileManager.default.fileExists(atPath: path) {
            throw ValidationError("disk image '\(path)' does not exist")
        }
        do {
            let machine = try Machine(memorySize: bytes, balloon: virtioBalloon)
            let fw = try firmware.map { try readFile($0, what: "firmware image") } ?? Machine.embeddedBIOS()
            try machine.loadFirmware(fw)
            if let kernel {
                let k = try readFile(kernel, what: "kernel")
                let i = try initrd.map { try readFile($0, what: "initrd") }
                try LinuxLoader.load(kernel: k, initrd: i, commandLine: append, into: machine)
            }
            return (machine, fw)
        } catch let e as MachineError {
            throw ValidationError(e.description)
        }
    }

    /// Raw disks by capsule part name.
    var rawDisks: [(part: String, path: String)] {
        var d = disk.enumerated().map { (["hda", "hdb"][$0.offset], $0.element) }
        if let cdrom { d.append(("cdrom", cdrom)) }
        return d
    }
}

/// `--store DIR`, shared by every capsule command.
struct StoreOptions: ParsableArguments {
    @Option(help: "Capsule store directory (default ~/.capsule).")
    var store: String?
}
