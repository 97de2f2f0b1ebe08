/// What every stateful component (CPU, each device, RAM, each disk) adopts
/// to be saved into and restored from a capsule.
///
/// Rules (docs/capsule-format.md, "Sections and versions"):
/// - Bump `stateVersion` whenever the payload's layout changes. Keep reading
///   the older layouts you still accept; `loadState` gets the version found.
/// - A section newer than `stateVersion` fails to load with
///   "section X version N is newer than this build understands (max M)";
///   one older than `oldestStateVersion` fails likewise.
/// - State added later that older builds may ignore goes into an optional
///   sub-section (`writer.subsection(_, optional: true)`): older builds skip
///   it, newer builds reading older capsules find it absent and keep
///   defaults.
public protocol Stateful {
    /// The section tag: short, stable, unique per component type ("cpu",
    /// "pic", "uart"). Instances of one type get distinct ids when saved.
    static var stateTag: String { get }
    /// The version `saveState` writes.
    static var stateVersion: Int { get }
    /// The oldest version `loadState` still reads (default 1).
    static var oldestStateVersion: Int { get }
    func saveState(into writer: inout StateWriter)
    mutating func loadState(from reader: inout StateReader, version: Int) throws
}

extension Stateful {
    public static var oldestStateVersion: Int { 1 }

    /// The component's state as a section (tag `id`, default `stateTag`).
    public func stateSection(id: String? = nil, optional: Bool = false) -> StateSection {
        var w = StateWriter()
        saveState(into: &w)
        return w.section(tag: id ?? Self.stateTag, version: Self.stateVersion, optional: optional)
    }

    /// Restores from `section` with the version rules above.
    public mutating func restore(from section: StateSection) throws {
        try section.checkVersion(max: Self.stateVersion, min: Self.oldestStateVersion)
        var r = StateReader(section)
        try loadState(from: &r, version: section.version)
        try r.finish()
    }
}
