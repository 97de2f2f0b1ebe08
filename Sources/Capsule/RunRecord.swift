import PC

/// What a capsule's input log (`input-<hash16>.log`) holds: the recording
/// of the run that produced the capsule, enough to execute it again —
/// which state it started from (the previous capsule, kept as the replay
/// base), every host input byte with the virtual time it entered the
/// machine, the host's queueing of input, and exactly where the run ended.
///
/// Encoded as a state container (docs/capsule-format.md, "Input log"):
/// sections `run` v1, `events` v1 and `queued` v1.
public struct RunRecord: Equatable, Sendable {
    /// Manifest hash of the capsule the run resumed from.
    public var base: BlockName
    /// Instruction count at the base.
    public var baseInstructions: UInt64
    /// Events in the base's input log (the run's events follow them).
    public var baseEventCount: Int
    public var end: RunEnd
    /// Host input delivered during the run, in order.
    public var events: [InputEvent]
    /// Host input handed to the machine during the run, by virtual time.
    public var queued: [InputReplay.Queued]
    /// The run was under a debugger (gdb), which can change registers and
    /// memory outside the input log: it is recorded but cannot be replayed.
    public var debugged: Bool

    public init(base: BlockName, baseInstructions: UInt64, baseEventCount: Int, end: RunEnd,
                events: [InputEvent], queued: [InputReplay.Queued], debugged: Bool) {
        self.base = base
        self.baseInstructions = baseInstructions
        self.baseEventCount = baseEventCount
        self.end = end
        self.events = events
        self.queued = queued
        self.debugged = debugged
    }

    public var instructions: UInt64 { end.instructions &- baseInstructions }

    public func encoded() -> [UInt8] {
        var c = StateContainer()
        var run = StateWriter()
        run.write(bytes: base.bytes)
        run.write(baseInstructions)
        run.write(baseEventCount)
        run.write(end.instructions)
        run.write(end.time)
        run.write(end.boundaryDone)
        run.write(debugged)
        c.add(run.section(tag: "run", version: 1))
        var ev = StateWriter()
        InputSection.write(events, into: &ev)
        c.add(ev.section(tag: "events", version: 1))
        var q = StateWriter()
        q.write(queued.map(\.time))
        q.write(queued.count)
        for e in queued { q.write(bytes: e.serial); q.write(bytes: e.keyboard) }
        c.add(q.section(tag: "queued", version: 1))
        return c.encoded()
    }

    /// Parses an input log; fails naming the damaged or unknown part.
    public static func decode(_ bytes: [UInt8]) throws -> RunRecord {
        let c = try StateContainer.decode(bytes)
        let restore = c.restorer()
        let runSection = try restore.section("run")
        try runSection.checkVersion(max: 1)
        var run = StateReader(runSection)
        let hash = try run.readBytes()
        guard hash.count == 32 else { throw CapsuleError.badSection("section 'run': base hash is \(hash.count) bytes, not 32") }
        let baseInstructions = try run.readU64()
        let baseEvents = try run.readInt()
        let end = RunEnd(instructions: try run.readU64(), time: try run.readU64(), boundaryDone: try run.readBool())
        let debugged = try run.readBool()
        try run.finish()
        let evSection = try restore.section("events")
        try evSection.checkVersion(max: 1)
        var ev = StateReader(evSection)
        let events = try InputSection.read(from: &ev)
        try ev.finish()
        let qSection = try restore.section("queued")
        try qSection.checkVersion(max: 1)
        var q = StateReader(qSection)
        let times = try q.readU64Array()
        let n = try q.readInt()
        guard n == times.count else { throw CapsuleError.badSection("section 'queued': \(n) entries for \(times.count) times") }
        var queued: [InputReplay.Queued] = []
        for t in times { queued.append(InputReplay.Queued(time: t, serial: try q.readBytes(), keyboard: try q.readBytes())) }
        try q.finish()
        try restore.finish()
        return RunRecord(base: hash.withUnsafeBytes { BlockName(digest: $0.baseAddress!) }, baseInstructions: baseInstructions,
                         baseEventCount: baseEvents, end: end, events: events, queued: queued, debugged: debugged)
    }
}
