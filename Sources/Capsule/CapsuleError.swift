#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Every failure of the storage layer, each naming the part of the capsule
/// (block, layer, section, manifest, file) it concerns, so that a corrupted
/// or truncated capsule is reported and never silently loaded.
public indirect enum CapsuleError: Error, CustomStringConvertible, Equatable {
    /// A system call failed; `path` is the file it was working on.
    case io(path: String, operation: String, errno: Int32)
    /// A block file is missing from the store.
    case missingBlock(BlockName)
    /// A block file exists but is damaged: bad header, wrong length, bad
    /// compression, or content whose SHA-256 is not the block's name.
    case corruptBlock(BlockName, String)
    /// A sealed disk layer file is missing or damaged.
    case corruptLayer(String, String)
    /// state.bin is damaged or does not fit this build.
    case corruptState(String)
    /// A state section cannot be loaded by this build.
    case sectionVersion(String)
    /// A section or its reader found a value it did not expect.
    case badSection(String)
    /// manifest.json is damaged or does not fit this build.
    case badManifest(String)
    /// A capsule or disk name that could escape the store or confuse the CLI.
    case invalidName(String, String)
    /// A named capsule or disk does not exist.
    case notFound(String)
    /// A named capsule or disk already exists.
    case alreadyExists(String)
    /// A disk operation outside the disk, or on a read-only disk.
    case badDiskAccess(String)
    /// Anything else, with its message.
    case other(String)
    /// An error inside a named part of a capsule ("capsule web: memory page 0x1000").
    case part(String, CapsuleError)

    public var description: String {
        switch self {
        case let .io(path, op, err):
            return "\(op) \(path): \(String(cString: strerror(err)))"
        case let .missingBlock(name):
            return "block \(name) is missing from the store"
        case let .corruptBlock(name, why):
            return "block \(name) is corrupt: \(why)"
        case let .corruptLayer(name, why):
            return "disk layer \(name) is corrupt: \(why)"
        case let .corruptState(why):
            return "state.bin: \(why)"
        case let .sectionVersion(why), let .badSection(why), let .other(why):
            return why
        case let .badManifest(why):
            return "manifest: \(why)"
        case let .invalidName(name, why):
            return "invalid name \(String(reflecting: name)): \(why)"
        case let .notFound(what):
            return "\(what) not found"
        case let .alreadyExists(what):
            return "\(what) already exists"
        case let .badDiskAccess(why):
            return why
        case let .part(what, inner):
            return "\(what): \(inner)"
        }
    }
}
