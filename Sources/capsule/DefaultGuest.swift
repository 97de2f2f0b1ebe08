import ArgumentParser
import Foundation

/// The default guest `capsule run` boots with no arguments: Debian 12's
/// i386 kernel and a busybox initramfs, built from Debian's own packages by
/// testimages/guest/build-guest.sh and cached outside the repository.
enum DefaultGuest {
    static var directory: URL {
        if let d = ProcessInfo.processInfo.environment["CAPSULE_GUEST_DIR"] { return URL(fileURLWithPath: d) }
        return FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/capsule/guest")
    }

    static var kernel: URL { directory.appendingPathComponent("vmlinuz") }
    static var initrd: URL { directory.appendingPathComponent("initrd.gz") }
    static let commandLine = "console=ttyS0 acpi=off"

    /// Makes sure the guest files exist, running the build script if not.
    static func ensure() throws {
        let fm = FileManager.default
        if fm.fileExists(atPath: kernel.path) && fm.fileExists(atPath: initrd.path) { return }
        // The script lives in the source tree this binary was built from.
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let script = root.appendingPathComponent("testimages/guest/build-guest.sh")
        guard fm.isExecutableFile(atPath: script.path) else {
            throw ValidationError("the default guest is not in \(directory.path) and \(script.path) is not available to build it")
        }
        FileHandle.standardError.write("capsule: fetching the default guest (Debian i386 kernel + busybox) into \(directory.path)\n".data(using: .utf8)!)
        let p = Process()
        p.executableURL = script
        p.arguments = ["--out", directory.path]
        p.standardOutput = FileHandle.standardError
        try p.run()
        p.waitUntilExit()
        guard p.terminationStatus == 0, fm.fileExists(atPath: kernel.path) else {
            throw ValidationError("building the default guest failed (\(script.path) exited \(p.terminationStatus))")
        }
    }
}
