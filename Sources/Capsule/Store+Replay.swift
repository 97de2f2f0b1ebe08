import Foundation

/// The replay base: the capsule a run resumed from, kept in the capsule's
/// directory next to the capsule the run suspended into, so the run can be
/// executed again (`capsule replay`). Only the last run's base is kept:
///
///     capsules/NAME/base-<hash16>.json   the base's manifest, byte for byte
///     capsules/NAME/state-<hash16>.bin   the base's state file (often shared)
///
/// The base's RAM pages and disk layers are blocks in the store like any
/// capsule's; gc keeps them while the base is kept.
extension Store {
    public struct ReplayBase {
        public var manifestBytes: [UInt8]
        public var stateFile: String
        public var stateBytes: [UInt8]

        public init(manifestBytes: [UInt8], stateFile: String, stateBytes: [UInt8]) {
            self.manifestBytes = manifestBytes
            self.stateFile = stateFile
            self.stateBytes = stateBytes
        }
    }

    static func baseFileName(_ hash: BlockName) -> String { "base-\(hash.hex.prefix(16)).json" }

    /// Writes the base's files into a capsule directory (before the commit)
    /// and returns the names to keep.
    func writeReplayBase(_ base: ReplayBase, directory dir: String) throws -> [String] {
        let hash = BlockName.of(base.manifestBytes)
        let file = Store.baseFileName(hash)
        try writeIfDifferent(base.manifestBytes, hash: hash, to: dir + "/" + file)
        try writeIfDifferent(base.stateBytes, hash: BlockName.of(base.stateBytes), to: dir + "/" + base.stateFile)
        return [file, base.stateFile]
    }

    /// The recorded run of capsule `name`: nil when its input log is not a
    /// run record (a capsule that never ran, or one written before runs
    /// were recorded).
    public func runRecord(of loaded: Loaded) throws -> RunRecord? {
        guard let log = loaded.inputLog else { return nil }
        // Input logs before run records held other bytes: not a recording.
        guard log.starts(with: StateContainer.magic) else { return nil }
        do { return try RunRecord.decode(log) } catch let e as CapsuleError {
            throw CapsuleError.part("capsule \(loaded.manifest.name): input log", e)
        }
    }

    /// The base of a recorded run, read and checked; nil when the capsule
    /// directory does not hold it (a capsule received by migration carries
    /// its input log but not the capsule its last run began from).
    public func replayBase(of name: String, record: RunRecord) throws -> Loaded? {
        let dir = try capsuleDirectory(name)
        let path = dir + "/" + Store.baseFileName(record.base)
        guard FileIO.exists(path) else { return nil }
        func fail(_ e: CapsuleError) -> CapsuleError { .part("capsule \(name): replay base (\(Store.baseFileName(record.base)))", e) }
        let bytes = try FileIO.readFile(path)
        guard BlockName.of(bytes) == record.base else {
            throw fail(.other("content hashes to \(BlockName.of(bytes).hex.prefix(16))…, not the input log's \(record.base.hex.prefix(16))… (damaged or swapped)"))
        }
        let m: Manifest
        do { m = try Manifest.decode(bytes) } catch let e as CapsuleError { throw fail(e) }
        let state = try readPart(name: name, part: "replay base state (\(m.state.file))", path: dir + "/" + m.state.file,
                                 hash: m.state.hash, size: m.state.size)
        let container: StateContainer
        do { container = try StateContainer.decode(state) } catch let e as CapsuleError { throw fail(e) }
        return Loaded(manifest: m, manifestHash: record.base, manifestBytes: bytes, state: container, inputLog: nil)
    }

    /// The manifest of capsule `name`'s replay base for gc: nil when there
    /// is none. A base that is there but unreadable stops gc (it could not
    /// know which blocks the base needs).
    func replayBaseManifest(of name: String, manifest m: Manifest) throws -> Manifest? {
        guard let l = m.inputLog else { return nil }
        let dir = try capsuleDirectory(name)
        guard let log = try? FileIO.readFile(dir + "/" + l.file), log.starts(with: StateContainer.magic),
              let record = try? RunRecord.decode(log) else { return nil }
        let path = dir + "/" + Store.baseFileName(record.base)
        guard FileIO.exists(path) else { return nil }
        let bytes = try FileIO.readFile(path)
        guard BlockName.of(bytes) == record.base else {
            throw CapsuleError.other("replay base \(Store.baseFileName(record.base)) is damaged (remove that file to drop the replay base)")
        }
        return try Manifest.decode(bytes)
    }
}
