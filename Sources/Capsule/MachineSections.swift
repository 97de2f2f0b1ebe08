import Foundation
import PC

/// A machine's state (`MachineState`, everything but RAM and disks) as one
/// state section per component, and back. The split is the capsule's
/// layout only: the machine still saves and restores one `MachineState`
/// (with its restore order: clock, CPU, PIC before the devices it serves),
/// and the state hash is defined on that value, not on these bytes.
///
/// Capsules written before the split hold one section `machine` v1 with
/// the `MachineState` as JSON; they still load (`legacyTag`).
public enum MachineSections {
    /// The single section of capsules written before the split.
    public static let legacyTag = "machine"
    public static let legacyVersion = 1

    /// Every component's section, in restore order.
    public static func sections(of s: MachineState) -> [StateSection] {
        var out: [StateSection] = [
            BoardSection(memorySize: s.memorySize, resetRequested: s.resetRequested).stateSection(),
            ClockSection(idleTime: s.idleTime).stateSection(),
            CPUSection(state: s.cpu).stateSection(),
            FPUSection(state: s.cpu).stateSection(),
        ]
        for e in DeviceSections.all {
            if let table = s.devices[e.device] { out.append(e.save(table)) }
        }
        out.append(IDESection(state: s.ide).stateSection())
        out.append(InputSection(log: s.inputLog, pendingSerial: s.pendingSerialInput, pendingKeys: s.pendingKeyEvents).stateSection())
        return out
    }

    /// Adds the sections of `s` to `container`.
    public static func add(_ s: MachineState, to container: inout StateContainer) {
        for section in sections(of: s) { container.add(section) }
    }

    /// The machine state the sections in `restore` describe. `fresh` is the
    /// state of the machine as just built for this capsule: it says which
    /// devices the machine has (a section for a device it lacks is left
    /// unread and fails `finish()`; one it has but the capsule lacks fails
    /// as missing) and supplies values no section carries.
    public static func machineState(from restore: StateRestore, fresh: MachineState) throws -> MachineState {
        if restore.container.section(legacyTag) != nil { return try legacyState(from: restore) }
        var s = fresh
        var board = BoardSection(memorySize: s.memorySize, resetRequested: s.resetRequested)
        try restore.restore(&board)
        s.memorySize = board.memorySize
        s.resetRequested = board.resetRequested
        var clock = ClockSection(idleTime: s.idleTime)
        try restore.restore(&clock)
        s.idleTime = clock.idleTime
        var cpu = CPUSection(state: s.cpu)
        try restore.restore(&cpu)
        var fpu = FPUSection(state: cpu.state)
        try restore.restore(&fpu)
        s.cpu = fpu.state
        for e in DeviceSections.all where fresh.devices[e.device] != nil {
            s.devices[e.device] = try e.load(try restore.section(e.id))
        }
        var ide = IDESection(state: s.ide)
        try restore.restore(&ide)
        s.ide = ide.state
        var input = InputSection(log: s.inputLog, pendingSerial: s.pendingSerialInput, pendingKeys: s.pendingKeyEvents)
        try restore.restore(&input)
        s.inputLog = input.log
        s.pendingSerialInput = input.pendingSerial
        s.pendingKeyEvents = input.pendingKeys
        return s
    }

    /// A capsule from before the split: `machine` v1, `MachineState` JSON.
    static func legacyState(from restore: StateRestore) throws -> MachineState {
        let section = try restore.section(legacyTag)
        try section.checkVersion(max: legacyVersion)
        var r = StateReader(section)
        let state = try r.readJSON(MachineState.self)
        try r.finish()
        return state
    }
}
