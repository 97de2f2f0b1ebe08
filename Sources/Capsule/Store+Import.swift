/// Capsules that arrive from elsewhere (migration): the manifest is kept
/// byte for byte — its hash names the capsule's content on both hosts —
/// and is committed last, exactly like a local save.
extension Store {
    /// A capsule as it is sent: the manifest file's exact bytes and the
    /// state and log files, each verified against the manifest.
    public struct Exported {
        public var manifestBytes: [UInt8]
        public var manifest: Manifest
        public var manifestHash: BlockName
        public var state: [UInt8]
        public var inputLog: [UInt8]?
    }

    public func exportCapsule(_ name: String) throws -> Exported {
        let (m, h) = try manifest(of: name)
        let dir = try capsuleDirectory(name)
        let bytes = try FileIO.readFile(dir + "/manifest.json")
        guard BlockName.of(bytes) == h else { throw CapsuleError.other("capsule \(name) changed while it was being read") }
        let state = try readPart(name: name, part: "state (\(m.state.file))", path: dir + "/" + m.state.file,
                                 hash: m.state.hash, size: m.state.size)
        var log: [UInt8]?
        if let l = m.inputLog {
            log = try readPart(name: name, part: "input log (\(l.file))", path: dir + "/" + l.file, hash: l.hash, size: nil)
        }
        return Exported(manifestBytes: bytes, manifest: m, manifestHash: h, state: state, inputLog: log)
    }

    /// Removes a capsule that now lives elsewhere, with the working disks
    /// `capsule run` made for it (their blocks go at the next gc).
    /// Refuses while a machine runs on the capsule's disks (their lock is held).
    public func dropCapsule(_ name: String) throws {
        let m = try? manifest(of: name).manifest
        var working: [String] = []
        for d in m?.disks ?? [] {
            let disk = "\(name).\(d.name)"
            guard let dir = try? diskDirectory(disk), FileIO.isDirectory(dir) else { continue }
            do { try openDisk(disk).close() } catch CapsuleError.badDiskAccess(let why) {
                throw CapsuleError.other("capsule \(name) is in use (\(why)); not removed")
            } catch {
                // A damaged working disk holds nothing the capsule needs: removed below.
            }
            working.append(disk)
        }
        try removeCapsule(name)
        for disk in working { try removeDisk(disk) }
    }

    static let receiveLockName = "receive.lock"

    /// Runs `body` as the only receiver of capsule `name` (an exclusive
    /// flock, across processes): a transfer resumed on a new connection
    /// waits until the old connection's receiver has made its blocks
    /// durable, so it never asks for them again. Gives up after `timeout`
    /// seconds. Returns nil when the lock could not be had.
    public func asOnlyReceiver<T>(of name: String, timeout: Double, _ body: () throws -> T) throws -> T? {
        let dir = try capsuleDirectory(name)
        if !FileIO.isDirectory(dir) {
            try FileIO.makeDirectories(dir)
            try FileIO.fsyncDirectory(capsulesDirectory)
        }
        let path = dir + "/" + Store.receiveLockName
        let fd = try FileIO.open(path, O_RDWR | O_CREAT, 0o644)
        defer { FileIO.close(fd) }
        var waited = 0.0
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            if errno != EWOULDBLOCK && errno != EINTR { throw FileIO.fail(path, "flock") }
            if waited >= timeout { return nil }
            usleep(20_000)
            waited += 0.02
        }
        return try body()
    }

    /// Where the parts of a capsule being received wait until its commit:
    /// `capsules/NAME/.tmp-incoming-<sha256>`. Temporary names, so a
    /// transfer that never completes leaves nothing `gc` keeps.
    func incomingPath(_ name: String, _ hash: BlockName) throws -> String {
        try capsuleDirectory(name) + "/.tmp-incoming-" + hash.hex
    }

    /// Keeps a received part (state file, input log) durably so that a
    /// transfer resumed after a dropped connection does not need it again.
    /// `bytes` must hash to `hash` (checked).
    public func stageIncoming(capsule name: String, hash: BlockName, bytes: [UInt8]) throws {
        guard BlockName.of(bytes) == hash else { throw CapsuleError.other("staged part does not hash to \(hash)") }
        let dir = try capsuleDirectory(name)
        if !FileIO.isDirectory(dir) {
            try FileIO.makeDirectories(dir)
            try FileIO.fsyncDirectory(capsulesDirectory)
        }
        try FileIO.atomicWrite(bytes, to: try incomingPath(name, hash))
    }

    /// A part staged earlier, if it is there and intact; else the file
    /// `committedFile` of the capsule's current version if it has the same
    /// content (the capsule was received before and only its blocks changed).
    public func stagedIncoming(capsule name: String, hash: BlockName, limit: UInt64, committedFile: String? = nil) -> [UInt8]? {
        var candidates = [(try? incomingPath(name, hash))]
        if let f = committedFile, Manifest.isPlainFileName(f) { candidates.append((try? capsuleDirectory(name)).map { $0 + "/" + f }) }
        for case let p? in candidates {
            guard let size = FileIO.size(p), size <= limit, let bytes = try? FileIO.readFile(p, limit: limit),
                  BlockName.of(bytes) == hash else { continue }
            return bytes
        }
        return nil
    }

    /// Commits a received capsule: checks that the manifest decodes and
    /// names `name`, that state and log match it, and that every block and
    /// layer it references is in the store; writes the state and log, then
    /// the manifest bytes as received (atomic replace: the commit point).
    /// A capsule of the same name is replaced; its old files are removed.
    @discardableResult
    public func importCapsule(name: String, manifest bytes: [UInt8], state: [UInt8], inputLog: [UInt8]?) throws -> (manifest: Manifest, hash: BlockName) {
        let dir = try capsuleDirectory(name)
        let m: Manifest
        do { m = try Manifest.decode(bytes) } catch let e as CapsuleError { throw CapsuleError.part("received capsule \(name)", e) }
        func fail(_ why: String) -> CapsuleError { .part("received capsule \(name)", .other(why)) }
        guard m.name == name else { throw fail("its manifest names capsule \(String(reflecting: m.name))") }
        guard UInt64(state.count) == m.state.size, BlockName.of(state) == m.state.hash else { throw fail("the state file does not match the manifest") }
        if let l = m.inputLog {
            guard let log = inputLog, BlockName.of(log) == l.hash else { throw fail("the input log does not match the manifest") }
        }
        return try withLock(exclusive: false) {
            for (i, n) in m.memory.pages where !blocks.has(n) {
                throw CapsuleError.part("received capsule \(name): memory page \(i)", .missingBlock(n))
            }
            for d in m.disks {
                for l in d.layers {
                    let layer = try layers.get(l)
                    for n in layer.names where !blocks.has(n) {
                        throw CapsuleError.part("received capsule \(name): disk \(d.name)", .missingBlock(n))
                    }
                }
            }
            if !FileIO.isDirectory(dir) {
                try FileIO.makeDirectories(dir)
                try FileIO.fsyncDirectory(capsulesDirectory)
            }
            let lockPath = dir + "/lock"
            let lockFD = try FileIO.open(lockPath, O_RDWR | O_CREAT, 0o644)
            defer { FileIO.close(lockFD) }
            while flock(lockFD, LOCK_EX) != 0 {
                if errno != EINTR { throw FileIO.fail(lockPath, "flock") }
            }
            try writeIfDifferent(state, hash: m.state.hash, to: dir + "/" + m.state.file)
            if let l = m.inputLog, let log = inputLog { try writeIfDifferent(log, hash: l.hash, to: dir + "/" + l.file) }
            try faultInjection?("before-commit")
            try FileIO.atomicWrite(bytes, to: dir + "/manifest.json")
            try faultInjection?("committed")
            let keep: Set<String> = ["manifest.json", "lock", Store.receiveLockName, m.state.file, m.inputLog?.file ?? ""]
            for f in try FileIO.list(dir) where !keep.contains(f) { try? FileIO.removeTree(dir + "/" + f) }
            return (m, BlockName.of(bytes))
        }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
