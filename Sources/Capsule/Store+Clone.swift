import Foundation

extension Store {
    /// A new capsule with exactly the content of `source`, recording it as
    /// its parent: a fork to try something on, or to start many runs from
    /// one booted machine. Nothing is copied but the small state file: RAM
    /// pages are shared blocks and disks share their sealed layers.
    @discardableResult
    public func cloneCapsule(_ source: String, as name: String) throws -> (manifest: Manifest, hash: BlockName) {
        try Store.validateName(name)
        if hasCapsule(name) { throw CapsuleError.other("capsule '\(name)' already exists in \(root)") }
        let loaded = try loadCapsule(source)
        let m = loaded.manifest
        let dir = try capsuleDirectory(name)
        var log: (bytes: [UInt8], events: Int)?
        if let bytes = loaded.inputLog, let part = m.inputLog { log = (bytes, part.events) }
        // The fork keeps the source's replay base, so its last run replays too.
        var base: ReplayBase?
        if let record = try? runRecord(of: loaded), let b = try? replayBase(of: source, record: record) {
            let stateBytes = b.state.encoded()
            if BlockName.of(stateBytes) == b.manifest.state.hash {
                base = ReplayBase(manifestBytes: b.manifestBytes, stateFile: b.manifest.state.file, stateBytes: stateBytes)
            }
        }
        return try withLock(exclusive: false) {
            try commitCapsule(name: name, directory: dir, machine: m.machine,
                              parent: Manifest.Parent(name: source, manifestHash: loaded.manifestHash),
                              state: loaded.state, memory: m.memory, disks: m.disks,
                              inputLog: log, replayBase: base)
        }
    }
}
