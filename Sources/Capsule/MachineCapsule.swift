import Foundation
import PC
import X86

extension LayeredDisk: BlockDevice {}

/// A running machine as a capsule in a store: what `capsule create`,
/// `capsule run NAME` and suspend do. The manifest's machine configuration
/// says how to rebuild the board (RAM size, RTC start); the state file
/// holds the firmware image and one section per component
/// (`MachineSections`); RAM goes page by page
/// into the block store; each disk is a copy-on-write layer chain.
public final class MachineCapsule {
    public let store: Store
    public let name: String
    public let machine: Machine
    /// The disks the machine runs on, by part name (hda, hdb, cdrom).
    public private(set) var disks: [(part: String, disk: LayeredDisk)]
    /// The memory part of the last save (for incremental saves).
    var lastMemory: Manifest.MemoryPart?
    var firmware: [UInt8]
    private let wrapDisk: ((LayeredDisk) -> BlockDevice)?
    /// The capsule this machine resumed from, with the instruction count
    /// and input-log length there: the start of the run being recorded.
    /// Nil for a capsule being created (there is no run to record).
    private var base: (loaded: Store.Loaded, instructions: UInt64, events: Int)?
    /// Set when a debugger drives the run (gdb can change registers and
    /// memory outside the input log): the run is recorded as not replayable.
    public var debugged = false
    /// Why the machine cannot be saved yet (nil: it can): a capsule still
    /// arriving by migration is not whole in this store until it committed.
    public var notSavableYet: (() -> String?)?

    static let firmwareTag = "firmware"

    /// A new capsule from a machine that has been set up but has executed
    /// nothing. Raw disk images are imported into the store.
    public init(creating name: String, store: Store, machine: Machine, firmware: [UInt8],
                rawDisks: [(part: String, path: String)]) throws {
        try Store.validateName(name)
        if store.hasCapsule(name) { throw CapsuleError.other("capsule '\(name)' already exists in \(store.root)") }
        self.store = store
        self.name = name
        self.machine = machine
        self.firmware = firmware
        wrapDisk = nil
        disks = []
        for (part, path) in rawDisks {
            let diskName = "\(name).\(part)"
            if (try? store.diskDirectory(diskName)).map({ FileIO.isDirectory($0) }) == true { try store.removeDisk(diskName) }
            let d = try LayeredDisk.importRaw(path, into: try store.diskDirectory(diskName), store: store)
            disks.append((part, d))
        }
        attachDisks()
    }

    /// Resumes a capsule: rebuilds the board, restores RAM, disks and state.
    /// `wrapDisk` may interpose on what the board sees of each disk (the
    /// debugger's undo journal for reverse execution); saves still go to
    /// the layered disks themselves.
    public convenience init(resuming name: String, store: Store, wrapDisk: ((LayeredDisk) -> BlockDevice)? = nil) throws {
        try self.init(loaded: try store.loadCapsule(name), store: store, wrapDisk: wrapDisk)
    }

    /// Resumes a loaded capsule; `memory` and `prepareDisk` let a capsule
    /// that is still arriving run on what is there (see `ArrivingCapsule`).
    public init(loaded: Store.Loaded, store: Store, wrapDisk: ((LayeredDisk) -> BlockDevice)? = nil,
         memory: ((Manifest, Machine) throws -> Void)? = nil, prepareDisk: ((LayeredDisk) -> Void)? = nil) throws {
        let name = loaded.manifest.name
        self.wrapDisk = wrapDisk
        self.store = store
        self.name = name
        var layered: [(part: String, disk: LayeredDisk)] = []
        (machine, firmware) = try MachineCapsule.machine(for: loaded, store: store, memory: memory) { part in
            let d = try store.workingDisk(capsule: name, part: part)
            prepareDisk?(d)
            layered.append((part.name, d))
            return wrapDisk?(d) ?? d
        }
        disks = layered
        machine.memory.clearDirty()
        lastMemory = loaded.manifest.memory
        // The state resumed from is the replay base of the run that follows.
        base = (loaded, machine.cpu.instructionCount, machine.inputLog.count)
        machine.queuedInputLog = []
    }

    /// Rebuilds the machine a loaded capsule describes: the board from the
    /// manifest's configuration, the firmware and every component from the
    /// state sections, RAM from the memory part, and each disk as `disk`
    /// makes it (the capsule's working disk, or a scratch overlay for a replay).
    /// `memory` fills RAM (by default every page from the store; a machine
    /// resumed while its capsule is still arriving loads what is there).
    static func machine(for loaded: Store.Loaded, store: Store,
                        memory: ((Manifest, Machine) throws -> Void)? = nil,
                        disk: (Manifest.DiskPart) throws -> BlockDevice) throws -> (Machine, [UInt8]) {
        let m = loaded.manifest
        let name = m.name
        guard let mem = m.machine["memory"].flatMap(Int.init) else {
            throw CapsuleError.part("capsule \(name): manifest", .other("machine configuration has no valid 'memory'"))
        }
        let rtc = m.machine["rtcStart"].flatMap(Int64.init) ?? Machine.defaultRTCStart
        // Capsules from before the balloon existed have no "balloon" entry: no device.
        let machine = try Machine(memorySize: mem, rtcStart: rtc, balloon: m.machine["balloon"] == "on")
        let state: MachineState
        let firmware: [UInt8]
        do {
            let restore = loaded.state.restorer()
            let fw = try restore.section(MachineCapsule.firmwareTag)
            try fw.checkVersion(max: 1)
            var fr = StateReader(fw)
            firmware = try fr.readBytes()
            try fr.finish()
            state = try MachineSections.machineState(from: restore, fresh: machine.saveState())
            try restore.finish()
        } catch let e as CapsuleError {
            throw CapsuleError.part("capsule \(name): state", e)
        }
        try machine.loadFirmware(firmware)
        var devices: [(String, BlockDevice)] = []
        for part in m.disks { devices.append((part.name, try disk(part))) }
        if let memory {
            try memory(m, machine)
        } else {
            try store.loadMemory(m, into: UnsafeMutableRawBufferPointer(start: machine.memory.ram, count: machine.memory.ramSize))
        }
        for (part, d) in devices { attach(d, as: part, to: machine) }
        try machine.restoreState(state)
        return (machine, firmware)
    }

    static func attach(_ d: BlockDevice, as part: String, to machine: Machine) {
        switch part {
        case "hda": machine.attachHardDisk(d, position: 0)
        case "hdb": machine.attachHardDisk(d, position: 1)
        default: machine.attachCDROM(d)
        }
    }

    private func attachDisks() {
        for (part, layered) in disks { MachineCapsule.attach(wrapDisk?(layered) ?? layered, as: part, to: machine) }
    }

    /// Saves the machine as this capsule (replacing the previous version
    /// atomically). Only pages written since the last save are rehashed.
    @discardableResult
    public func save() throws -> BlockName {
        // RAM with pages still in transit (or lost) is not this capsule's RAM.
        if let pager = machine.demandPager, pager.absent.count > 0 || pager.failure != nil {
            throw CapsuleError.other(pager.failure ?? "capsule \(name): \(pager.absent.count) pages have not arrived yet; cannot save")
        }
        if let why = notSavableYet?() { throw CapsuleError.other("capsule \(name): \(why); cannot save") }
        var container = StateContainer()
        var fw = StateWriter()
        fw.write(bytes: firmware)
        container.add(fw.section(tag: MachineCapsule.firmwareTag, version: 1))
        MachineSections.add(machine.saveState(), to: &container)
        if let r = machine.pageRecency {
            r.peek(machine.cpu)
            container.add(PageRecencyRecord.section(r))
        }
        var parts: [Manifest.DiskPart] = []
        for (part, d) in disks {
            try d.flush()
            _ = try d.seal()
            parts.append(Manifest.DiskPart(name: part, size: d.size, layers: d.layers))
        }
        let mem = machine.memory
        var config = ["memory": String(mem.ramSize), "rtcStart": String(machine.rtcStart),
                      "balloon": machine.balloonPCI == nil ? "off" : "on"]
        // Informational (the migration report counts them apart): zero pages
        // the balloon holds, which the memory part leaves out like any zero page.
        if machine.balloonPCI != nil { config["balloonPages"] = String(machine.balloonSkippablePages().count) }
        let ram = UnsafeRawBufferPointer(start: mem.ram, count: mem.ramSize)
        // The run since the resume, recorded in the input log, with the
        // capsule it started from kept as its replay base.
        var log: (bytes: [UInt8], events: Int)?
        var replayBase: Store.ReplayBase?
        if let b = base {
            let events = Array(machine.inputLog.dropFirst(b.events))
            let record = RunRecord(base: b.loaded.manifestHash, baseInstructions: b.instructions, baseEventCount: b.events,
                                   end: machine.runEnd, events: events, queued: machine.queuedInputLog, debugged: debugged)
            log = (record.encoded(), events.count)
            replayBase = Store.ReplayBase(manifestBytes: b.loaded.manifestBytes, stateFile: b.loaded.manifest.state.file,
                                          stateBytes: b.loaded.state.encoded())
        }
        let (manifest, hash) = try store.saveCapsule(name: name, machine: config, state: container, ram: ram,
                                                     previous: lastMemory, dirtyPage: lastMemory == nil ? nil : { mem.isDirty(page: $0) },
                                                     disks: parts, inputLog: log, replayBase: replayBase)
        mem.clearDirty()
        lastMemory = manifest.memory
        return hash
    }
}
