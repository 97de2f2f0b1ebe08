#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// A store directory (default `~/.capsule`, `--store DIR`):
///
///     lock                     flock: gc exclusive, writers shared
///     blocks/ab/cdef…          the content-addressed blocks (BlockStore)
///     layers/<sha256>          sealed disk layers (LayerStore)
///     capsules/NAME/           manifest.json, state-<hash>.bin, input-<hash>.log, lock
///     disks/NAME/              working disks: disk.json, top-N.data, top-N.journal
///
/// A capsule's manifest is its commit point: everything it references is
/// made durable first, then `manifest.json` is replaced atomically, so a
/// crash during a suspend leaves the previous capsule of that name intact.
public final class Store {
    public let root: String
    public let blocks: BlockStore
    public let layers: LayerStore

    public var capsulesDirectory: String { root + "/capsules" }
    public var disksDirectory: String { root + "/disks" }

    /// Test hook: called at named points of `saveCapsule` ("state-written",
    /// "log-written", "before-commit", "committed"); throwing from it
    /// stops the save there, as a crash would.
    public var faultInjection: ((String) throws -> Void)?

    /// `$CAPSULE_STORE`, else `$HOME/.capsule`.
    public static var defaultRoot: String {
        let env = ProcessInfo.processInfo.environment
        if let s = env["CAPSULE_STORE"], !s.isEmpty { return s }
        return (env["HOME"] ?? ".") + "/.capsule"
    }

    public init(root: String = Store.defaultRoot) throws {
        var r = root
        while r.count > 1 && r.hasSuffix("/") { r.removeLast() }
        self.root = r
        try FileIO.makeDirectories(r)
        blocks = try BlockStore(directory: r + "/blocks")
        layers = try LayerStore(directory: r + "/layers")
        try FileIO.makeDirectories(r + "/capsules")
        try FileIO.makeDirectories(r + "/disks")
    }

    // MARK: names

    public static let maxNameLength = 128

    /// Capsule and disk names become directory names: reject anything that
    /// could leave the directory or confuse a shell or the CLI.
    public static func validateName(_ name: String) throws {
        func bad(_ why: String) -> CapsuleError { .invalidName(name, why) }
        if name.isEmpty { throw bad("empty") }
        if name.utf8.count > maxNameLength { throw bad("longer than \(maxNameLength) bytes") }
        if name.contains("/") || name.contains("\\") { throw bad("contains a path separator") }
        if name.contains("..") { throw bad("contains \"..\"") }
        if name.hasPrefix(".") { throw bad("starts with a dot") }
        if name.hasPrefix("-") { throw bad("starts with a dash") }
        if name.hasPrefix(" ") || name.hasSuffix(" ") { throw bad("starts or ends with a space") }
        for u in name.unicodeScalars {
            let v = u.value
            if v < 0x20 || (0x7F...0x9F).contains(v) || v == 0x2028 || v == 0x2029 || v == 0xFEFF || (0x202A...0x202E).contains(v) || (0x2066...0x2069).contains(v) {
                throw bad("contains a control or invisible formatting character (U+\(String(v, radix: 16, uppercase: true)))")
            }
        }
    }

    // MARK: locking

    /// Runs `body` holding the store lock: shared for writers (which may
    /// add blocks that nothing references yet), exclusive for gc.
    public func withLock<T>(exclusive: Bool, _ body: () throws -> T) throws -> T {
        let path = root + "/lock"
        let fd = try FileIO.open(path, O_RDWR | O_CREAT, 0o644)
        defer { FileIO.close(fd) }
        while flock(fd, exclusive ? LOCK_EX : LOCK_SH) != 0 {
            if errno != EINTR { throw FileIO.fail(path, "flock") }
        }
        return try body()
    }

    // MARK: capsules

    public func capsuleDirectory(_ name: String) throws -> String {
        try Store.validateName(name)
        return capsulesDirectory + "/" + name
    }

    public func hasCapsule(_ name: String) -> Bool {
        guard let d = try? capsuleDirectory(name) else { return false }
        return FileIO.exists(d + "/manifest.json")
    }

    /// Names of the capsules, sorted.
    public func capsuleNames() throws -> [String] {
        try FileIO.list(capsulesDirectory).filter { n in
            (try? Store.validateName(n)) != nil && FileIO.exists(capsulesDirectory + "/" + n + "/manifest.json")
        }.sorted()
    }

    /// One line of `capsule ls`: what the manifest says, or why it cannot
    /// be read (a damaged capsule is listed, not hidden).
    public struct Summary: Sendable {
        public var name: String
        public var manifestHash: BlockName?
        public var created: String?
        public var parent: String?
        public var memoryPages: Int
        public var storedPages: Int
        public var disks: [String]
        public var problem: String?
    }

    /// Every capsule, sorted by name.
    public func list() throws -> [Summary] {
        try capsuleNames().map { name in
            do {
                let (m, h) = try manifest(of: name)
                return Summary(name: name, manifestHash: h, created: m.created, parent: m.parent?.name,
                               memoryPages: m.memory.pageCount, storedPages: m.memory.pages.count,
                               disks: m.disks.map(\.name), problem: nil)
            } catch {
                return Summary(name: name, manifestHash: nil, created: nil, parent: nil, memoryPages: 0,
                               storedPages: 0, disks: [], problem: "\(error)")
            }
        }
    }

    /// The manifest of capsule `name` and its hash, validated.
    public func manifest(of name: String) throws -> (manifest: Manifest, hash: BlockName) {
        let (m, h, _) = try manifestAndBytes(of: name)
        return (m, h)
    }

    func manifestAndBytes(of name: String) throws -> (manifest: Manifest, hash: BlockName, bytes: [UInt8]) {
        let path = try capsuleDirectory(name) + "/manifest.json"
        let bytes: [UInt8]
        do { bytes = try FileIO.readFile(path) } catch CapsuleError.io(_, _, let e) where e == ENOENT {
            throw CapsuleError.notFound("capsule \(name)")
        }
        do {
            let m = try Manifest.decode(bytes)
            guard m.name == name else {
                throw CapsuleError.badManifest("it names capsule \(String(reflecting: m.name)) (swapped or copied by hand)")
            }
            return (m, BlockName.of(bytes), bytes)
        } catch let e as CapsuleError {
            throw CapsuleError.part("capsule \(name)", e)
        }
    }

    /// Saves a capsule: RAM pages into the block store, the state file, the
    /// input log, then the manifest (the commit point). The disks must be
    /// sealed already (`LayeredDisk.seal()`); their parts list the layers.
    /// `previous` + `dirtyPage` make the memory part incremental: pages not
    /// dirty since `previous` keep their block names without being hashed.
    @discardableResult
    public func saveCapsule(name: String, machine: [String: String] = [:], parent: Manifest.Parent? = nil,
                            state: StateContainer, ram: UnsafeRawBufferPointer,
                            previous: Manifest.MemoryPart? = nil, dirtyPage: ((Int) -> Bool)? = nil,
                            disks: [Manifest.DiskPart] = [], inputLog: (bytes: [UInt8], events: Int)? = nil,
                            replayBase: ReplayBase? = nil) throws -> (manifest: Manifest, hash: BlockName) {
        let dir = try capsuleDirectory(name)
        return try withLock(exclusive: false) {
            let memory = try MemoryImage.save(ram, to: blocks, previous: previous, dirtyPage: dirtyPage)
            return try commitCapsule(name: name, directory: dir, machine: machine, parent: parent, state: state,
                                     memory: memory, disks: disks, inputLog: inputLog, replayBase: replayBase)
        }
    }

    /// Like `saveCapsule`, with a memory part whose blocks are in the store already.
    @discardableResult
    public func saveCapsule(name: String, machine: [String: String] = [:], parent: Manifest.Parent? = nil,
                            state: StateContainer, memory: Manifest.MemoryPart,
                            disks: [Manifest.DiskPart] = [], inputLog: (bytes: [UInt8], events: Int)? = nil) throws -> (manifest: Manifest, hash: BlockName) {
        let dir = try capsuleDirectory(name)
        return try withLock(exclusive: false) {
            try commitCapsule(name: name, directory: dir, machine: machine, parent: parent, state: state,
                              memory: memory, disks: disks, inputLog: inputLog)
        }
    }

    func commitCapsule(name: String, directory dir: String, machine: [String: String], parent: Manifest.Parent?,
                       state: StateContainer, memory: Manifest.MemoryPart, disks: [Manifest.DiskPart],
                       inputLog: (bytes: [UInt8], events: Int)?, replayBase: ReplayBase? = nil) throws -> (manifest: Manifest, hash: BlockName) {
        // Everything the manifest will reference must be in the store.
        for (i, n) in memory.pages where !blocks.has(n) {
            throw CapsuleError.part("capsule \(name): memory page \(i)", .missingBlock(n))
        }
        for d in disks {
            for l in d.layers where !layers.has(l) {
                throw CapsuleError.part("capsule \(name): disk \(d.name)", .corruptLayer(l.hex, "missing from the store"))
            }
        }
        if !FileIO.isDirectory(dir) {
            try FileIO.makeDirectories(dir)
            try FileIO.fsyncDirectory(capsulesDirectory)
        }
        // One saver per capsule at a time: another process's commit must
        // not be followed by our cleanup of "old" files.
        let lockPath = dir + "/lock"
        let lockFD = try FileIO.open(lockPath, O_RDWR | O_CREAT, 0o644)
        defer { FileIO.close(lockFD) }
        while flock(lockFD, LOCK_EX) != 0 {
            if errno != EINTR { throw FileIO.fail(lockPath, "flock") }
        }
        let stateBytes = state.encoded()
        let stateHash = BlockName.of(stateBytes)
        let stateFile = "state-\(stateHash.hex.prefix(16)).bin"
        try writeIfDifferent(stateBytes, hash: stateHash, to: dir + "/" + stateFile)
        try faultInjection?("state-written")
        var log: Manifest.InputLogPart?
        if let l = inputLog {
            let h = BlockName.of(l.bytes)
            let file = "input-\(h.hex.prefix(16)).log"
            try writeIfDifferent(l.bytes, hash: h, to: dir + "/" + file)
            log = Manifest.InputLogPart(file: file, hash: h, events: l.events)
        }
        // The replay base, like the state file and the log, is in place before the commit.
        let baseFiles = try replayBase.map { try writeReplayBase($0, directory: dir) } ?? []
        try faultInjection?("log-written")
        let manifest = Manifest(name: name, machine: machine, parent: parent,
                                state: .init(file: stateFile, hash: stateHash, size: UInt64(stateBytes.count)),
                                memory: memory, disks: disks, inputLog: log)
        try manifest.validate()
        let bytes = manifest.encoded()
        let written = try Manifest.decode(bytes)  // what a reader will see, checked before the commit
        try faultInjection?("before-commit")
        try FileIO.atomicWrite(bytes, to: dir + "/manifest.json")
        try faultInjection?("committed")
        // The previous capsule's files are garbage now.
        let keep = Set(["manifest.json", "lock", Store.receiveLockName, stateFile, log?.file ?? ""] + baseFiles)
        for f in try FileIO.list(dir) where !keep.contains(f) { try? FileIO.remove(dir + "/" + f) }
        return (written, BlockName.of(bytes))
    }

    /// Writes a content-named file unless an intact copy is there already.
    func writeIfDifferent(_ bytes: [UInt8], hash: BlockName, to path: String) throws {
        if FileIO.size(path) == UInt64(bytes.count), let old = try? FileIO.readFile(path), BlockName.of(old) == hash { return }
        try FileIO.atomicWrite(bytes, to: path)
    }

    /// A capsule read back and checked: manifest, state file (hash and
    /// structure), input log. Memory and disks are read on demand
    /// (`loadMemory`, `LayeredDisk.view`) and verified as they are read.
    public struct Loaded {
        public var manifest: Manifest
        public var manifestHash: BlockName
        /// The manifest file as read (its SHA-256 is `manifestHash`).
        public var manifestBytes: [UInt8]
        public var state: StateContainer
        public var inputLog: [UInt8]?

        public init(manifest: Manifest, manifestHash: BlockName, manifestBytes: [UInt8], state: StateContainer, inputLog: [UInt8]?) {
            self.manifest = manifest; self.manifestHash = manifestHash; self.manifestBytes = manifestBytes
            self.state = state; self.inputLog = inputLog
        }
    }

    public func loadCapsule(_ name: String) throws -> Loaded {
        let (m, h, manifestBytes) = try manifestAndBytes(of: name)
        let dir = try capsuleDirectory(name)
        let state = try readPart(name: name, part: "state (\(m.state.file))", path: dir + "/" + m.state.file,
                                 hash: m.state.hash, size: m.state.size)
        let container: StateContainer
        do { container = try StateContainer.decode(state) } catch let e as CapsuleError {
            throw CapsuleError.part("capsule \(name)", e)
        }
        var log: [UInt8]?
        if let l = m.inputLog {
            log = try readPart(name: name, part: "input log (\(l.file))", path: dir + "/" + l.file, hash: l.hash, size: nil)
        }
        return Loaded(manifest: m, manifestHash: h, manifestBytes: manifestBytes, state: container, inputLog: log)
    }

    func readPart(name: String, part: String, path: String, hash: BlockName, size: UInt64?) throws -> [UInt8] {
        func fail(_ why: String) -> CapsuleError { .part("capsule \(name): \(part)", .other(why)) }
        let bytes: [UInt8]
        do { bytes = try FileIO.readFile(path) } catch CapsuleError.io(_, _, let e) where e == ENOENT {
            throw fail("missing")
        }
        if let s = size, UInt64(bytes.count) != s {
            throw fail("\(bytes.count) bytes where the manifest says \(s) (truncated or replaced)")
        }
        let actual = BlockName.of(bytes)
        guard actual == hash else { throw fail("content hashes to \(actual.hex.prefix(16))…, not the manifest's \(hash.hex.prefix(16))… (damaged or swapped)") }
        return bytes
    }

    /// Fills `ram` from the capsule's memory part (every page verified).
    public func loadMemory(_ manifest: Manifest, into ram: UnsafeMutableRawBufferPointer) throws {
        do { try MemoryImage.load(manifest.memory, from: blocks, into: ram) } catch let e as CapsuleError {
            throw CapsuleError.part("capsule \(manifest.name)", e)
        }
    }

    /// Reads every part of a capsule and every block it references; throws
    /// the first problem, naming the part. Returns the number of blocks checked.
    @discardableResult
    public func verifyCapsule(_ name: String) throws -> Int {
        let loaded = try loadCapsule(name)
        let m = loaded.manifest
        var checked = 0
        var seen = Set<BlockName>()
        for (i, n) in m.memory.pages.sorted(by: { $0.key < $1.key }) where seen.insert(n).inserted {
            do { try blocks.verify(n) } catch let e as CapsuleError {
                throw CapsuleError.part("capsule \(name): memory page at 0x\(String(i * UInt64(m.memory.pageSize), radix: 16))", e)
            }
            checked += 1
        }
        for d in m.disks {
            for l in d.layers {
                do {
                    let layer = try layers.get(l)
                    guard layer.diskSize == d.size else { throw CapsuleError.corruptLayer(l.hex, "is for a disk of \(layer.diskSize) bytes, not \(d.size)") }
                    for n in layer.names where seen.insert(n).inserted {
                        try blocks.verify(n)
                        checked += 1
                    }
                } catch let e as CapsuleError {
                    throw CapsuleError.part("capsule \(name): disk \(d.name)", e)
                }
            }
        }
        return checked
    }

    /// Removes a capsule (its blocks stay until `gc`).
    public func removeCapsule(_ name: String) throws {
        let dir = try capsuleDirectory(name)
        guard FileIO.isDirectory(dir) else { throw CapsuleError.notFound("capsule \(name)") }
        // Rename first so the capsule disappears at once; a crash leaves a
        // `.tmp-` directory that gc removes.
        let doomed = capsulesDirectory + "/.tmp-rm-\(getpid())-\(UInt32.random(in: 0 ... .max))"
        try FileIO.rename(dir, doomed)
        try FileIO.fsyncDirectory(capsulesDirectory)
        try FileIO.removeTree(doomed)
    }

    // MARK: working disks

    public func diskDirectory(_ name: String) throws -> String {
        try Store.validateName(name)
        return disksDirectory + "/" + name
    }

    public func diskNames() throws -> [String] {
        try FileIO.list(disksDirectory).filter { n in
            (try? Store.validateName(n)) != nil && FileIO.exists(disksDirectory + "/" + n + "/" + LayeredDisk.descriptorName)
        }.sorted()
    }

    public func createDisk(_ name: String, size: UInt64, layers: [BlockName] = []) throws -> LayeredDisk {
        let dir = try diskDirectory(name)
        if FileIO.exists(dir + "/" + LayeredDisk.descriptorName) { throw CapsuleError.alreadyExists("disk \(name)") }
        return try LayeredDisk.create(in: dir, size: size, layers: layers, store: self)
    }

    public func openDisk(_ name: String, readOnly: Bool = false) throws -> LayeredDisk {
        try LayeredDisk.open(try diskDirectory(name), store: self, readOnly: readOnly)
    }

    public func importDisk(_ name: String, raw: String) throws -> LayeredDisk {
        let dir = try diskDirectory(name)
        if FileIO.exists(dir + "/" + LayeredDisk.descriptorName) { throw CapsuleError.alreadyExists("disk \(name)") }
        return try LayeredDisk.importRaw(raw, into: dir, store: self)
    }

    public func removeDisk(_ name: String) throws {
        let dir = try diskDirectory(name)
        guard FileIO.isDirectory(dir) else { throw CapsuleError.notFound("disk \(name)") }
        let doomed = disksDirectory + "/.tmp-rm-\(getpid())-\(UInt32.random(in: 0 ... .max))"
        try FileIO.rename(dir, doomed)
        try FileIO.removeTree(doomed)
    }

    /// The working disk a machine resumed from capsule `capsule` runs on:
    /// `disks/<capsule>.<disk>`, put on exactly the capsule's layers. Writes
    /// made to it after the capsule was saved (a machine that crashed
    /// instead of suspending) are discarded: the capsule is the truth.
    public func workingDisk(capsule: String, part: Manifest.DiskPart) throws -> LayeredDisk {
        let name = "\(capsule).\(part.name)"
        let dir = try diskDirectory(name)
        if FileIO.isDirectory(dir) {
            do {
                let d = try LayeredDisk.open(dir, store: self)
                if d.size == part.size {
                    if d.layers != part.layers || d.topBlockCount > 0 { try d.reset(to: part.layers) }
                    return d
                }
                try d.close()
            } catch let e as CapsuleError {
                // In use by a running machine: refuse. Anything else (a
                // damaged descriptor, journal or top file) only concerns
                // writes the capsule does not hold: start the disk afresh.
                if case .badDiskAccess = e { throw e }
            }
            try removeDisk(name)
        }
        return try LayeredDisk.create(in: dir, size: part.size, layers: part.layers, store: self)
    }

    /// Sealed layers of a working disk, from its descriptor (without opening it).
    func diskLayers(_ name: String) throws -> [BlockName] {
        try LayeredDisk.readDescriptor(try diskDirectory(name)).layers
    }

    // MARK: gc

    public struct GCReport: Sendable, CustomStringConvertible {
        public var blocksKept = 0
        public var blocksRemoved = 0
        public var bytesFreed: UInt64 = 0
        public var layersKept = 0
        public var layersRemoved = 0
        public var temporaryFilesRemoved = 0

        public var description: String {
            "gc: kept \(blocksKept) blocks and \(layersKept) layers; removed \(blocksRemoved) blocks, \(layersRemoved) layers, \(temporaryFilesRemoved) temporary files; freed \(bytesFreed) bytes"
        }
    }

    /// What a capsule references: blocks (memory pages and disk blocks) and layers.
    func references(of m: Manifest) throws -> (blocks: Set<BlockName>, layers: Set<BlockName>) {
        var b = Set(m.memory.pages.values)
        var l = Set<BlockName>()
        for d in m.disks { for x in d.layers { l.insert(x) } }
        for x in l { for n in try layers.get(x).names { b.insert(n) } }
        b.remove(.zero)
        return (b, l)
    }

    /// Removes blocks and layers that no capsule and no working disk
    /// references, and temporary files left by crashes. Holds the store
    /// lock exclusively. Refuses to run when a manifest or layer it must
    /// read is damaged (it could not know what that capsule needs).
    @discardableResult
    public func gc() throws -> GCReport {
        try withLock(exclusive: true) {
            var report = GCReport()
            var liveBlocks = Set<BlockName>()
            var liveLayers = Set<BlockName>()
            for name in try capsuleNames() {
                do {
                    let (m, _) = try manifest(of: name)
                    for each in [m] + (try replayBaseManifest(of: name, manifest: m).map { [$0] } ?? []) {
                        let r = try references(of: each)
                        liveBlocks.formUnion(r.blocks)
                        liveLayers.formUnion(r.layers)
                    }
                } catch {
                    throw CapsuleError.other("gc: stopped, capsule \(name) is unreadable (\(error)); repair or remove it first")
                }
            }
            for name in try diskNames() {
                do {
                    for l in try diskLayers(name) {
                        liveLayers.insert(l)
                        for n in try layers.get(l).names { liveBlocks.insert(n) }
                    }
                } catch {
                    throw CapsuleError.other("gc: stopped, disk \(name) is unreadable (\(error)); repair or remove it first")
                }
            }
            try blocks.forEachBlock { n in
                if liveBlocks.contains(n) {
                    report.blocksKept += 1
                } else {
                    report.bytesFreed += blocks.storedSize(n) ?? 0
                    try blocks.remove(n)
                    report.blocksRemoved += 1
                }
            }
            for l in try layers.all() {
                if liveLayers.contains(l) {
                    report.layersKept += 1
                } else {
                    report.bytesFreed += layers.storedSize(l) ?? 0
                    try layers.remove(l)
                    report.layersRemoved += 1
                }
            }
            var temps = try blocks.temporaryFiles() + layers.temporaryFiles()
            for top in [capsulesDirectory, disksDirectory] {
                for e in try FileIO.list(top) {
                    if FileIO.isTemporaryName(e) { temps.append(top + "/" + e); continue }
                    for f in try FileIO.list(top + "/" + e) where FileIO.isTemporaryName(f) { temps.append(top + "/" + e + "/" + f) }
                }
            }
            for t in temps {
                report.bytesFreed += FileIO.size(t) ?? 0
                try FileIO.removeTree(t)
                report.temporaryFilesRemoved += 1
            }
            return report
        }
    }

    // MARK: inspect

    public struct Inspection: Sendable {
        public var name: String
        public var manifestHash: BlockName
        public var created: String
        public var parent: Manifest.Parent?
        public var machine: [String: String]
        public var stateBytes: UInt64
        public var stateSections: [(tag: String, version: Int, bytes: Int, subsections: [String])]
        public var memoryPages: Int
        /// Pages that are not zero (and so are in the page map).
        public var memoryStoredPages: Int
        public var disks: [(name: String, size: UInt64, layers: Int, blocks: Int)]
        public var inputLogEvents: Int
        /// The recorded last run (`capsule replay`), if the input log is one.
        public var run: RunRecord?
        /// Whether the run's replay base is kept here.
        public var replayBaseKept: Bool
        /// Distinct blocks the capsule references.
        public var distinctBlocks: Int
        /// Bytes in the store (compressed blocks, layer files, state and
        /// log files) that only this capsule references.
        public var uniqueBytes: UInt64
        /// Bytes in the store this capsule shares with other capsules or disks.
        public var sharedBytes: UInt64
    }

    public func inspect(_ name: String) throws -> Inspection {
        let loaded = try loadCapsule(name)
        let m = loaded.manifest
        let mine = try references(of: m)
        var others = (blocks: Set<BlockName>(), layers: Set<BlockName>())
        for other in try capsuleNames() where other != name {
            if let om = try? manifest(of: other).manifest, let r = try? references(of: om) {
                others.blocks.formUnion(r.blocks); others.layers.formUnion(r.layers)
            }
        }
        for d in try diskNames() {
            for l in (try? diskLayers(d)) ?? [] {
                others.layers.insert(l)
                for n in (try? layers.get(l).names) ?? [] { others.blocks.insert(n) }
            }
        }
        var unique: UInt64 = m.state.size + UInt64(loaded.inputLog?.count ?? 0), shared: UInt64 = 0
        for b in mine.blocks {
            let s = blocks.storedSize(b) ?? 0
            if others.blocks.contains(b) { shared += s } else { unique += s }
        }
        for l in mine.layers {
            let s = layers.storedSize(l) ?? 0
            if others.layers.contains(l) { shared += s } else { unique += s }
        }
        let run = (try? runRecord(of: loaded)) ?? nil
        var disks: [(String, UInt64, Int, Int)] = []
        for d in m.disks {
            var n = 0
            for l in d.layers { n += try layers.get(l).count }
            disks.append((d.name, d.size, d.layers.count, n))
        }
        return Inspection(name: name, manifestHash: loaded.manifestHash, created: m.created, parent: m.parent,
                          machine: m.machine, stateBytes: m.state.size,
                          stateSections: loaded.state.sections.map { s in
                              (s.tag, s.version, s.encoded().count, s.subsections.map { "\($0.tag) v\($0.version)" })
                          },
                          memoryPages: m.memory.pageCount, memoryStoredPages: m.memory.pages.count, disks: disks,
                          inputLogEvents: m.inputLog?.events ?? 0, run: run,
                          replayBaseKept: run.map { r in ((try? replayBase(of: name, record: r)) ?? nil) != nil } ?? false,
                          distinctBlocks: mine.blocks.count,
                          uniqueBytes: unique, sharedBytes: shared)
    }
}

/// Guest RAM to and from the block store.
public enum MemoryImage {
    /// Stores every non-zero page of `ram` (a multiple of 4 KiB) and
    /// returns the page map. With `previous` and `dirtyPage`, pages not
    /// dirty keep their previous names without being read.
    public static func save(_ ram: UnsafeRawBufferPointer, to blocks: BlockStore,
                            previous: Manifest.MemoryPart? = nil, dirtyPage: ((Int) -> Bool)? = nil) throws -> Manifest.MemoryPart {
        let ps = BlockName.blockSize
        precondition(ram.count % ps == 0, "RAM size must be a multiple of 4 KiB")
        var part = Manifest.MemoryPart(pageCount: ram.count / ps)
        part.pages.reserveCapacity(previous?.pages.count ?? 0)
        try blocks.batch {
            for i in 0..<part.pageCount {
                if let prev = previous, prev.pageCount == part.pageCount, let dirty = dirtyPage, !dirty(i) {
                    if let n = prev.pages[UInt64(i)] { part.pages[UInt64(i)] = n }
                    continue
                }
                let page = UnsafeRawBufferPointer(rebasing: ram[(i * ps)..<((i + 1) * ps)])
                let n = try blocks.put(page)
                if n != .zero { part.pages[UInt64(i)] = n }
            }
        }
        return part
    }

    /// Fills `ram` (exactly pageCount × 4 KiB) from a page map.
    public static func load(_ part: Manifest.MemoryPart, from blocks: BlockStore, into ram: UnsafeMutableRawBufferPointer) throws {
        let ps = BlockName.blockSize
        guard ram.count == part.pageCount * ps else {
            throw CapsuleError.badManifest("memory is \(part.pageCount) pages, the machine has \(ram.count / ps)")
        }
        ram.initializeMemory(as: UInt8.self, repeating: 0)
        for (i, n) in part.pages {
            let page = UnsafeMutableRawBufferPointer(rebasing: ram[(Int(i) * ps)..<((Int(i) + 1) * ps)])
            do { try blocks.read(n, into: page) } catch let e as CapsuleError {
                throw CapsuleError.part("memory page at 0x\(String(i * UInt64(ps), radix: 16))", e)
            }
        }
    }
}
