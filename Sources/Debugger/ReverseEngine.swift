import PC
import X86

/// Reverse execution for a whole PC: periodic in-memory checkpoints plus
/// deterministic re-execution. Going back to instruction count T means:
/// restore the newest checkpoint at or before T, then run forward to T
/// exactly. The machine is deterministic (time is the instruction count,
/// devices schedule on that clock) and host input is re-delivered from the
/// machine's stamped input log (`InputReplay`), so the re-run computes the
/// same bits as the first run.
///
/// Every forward movement of a machine under a reverse engine must go
/// through `forward`, which takes checkpoints and keeps the history's
/// frontier. A position is an instruction count: the state is the one
/// `Machine.run(instructions:)` leaves after that many retirements.
///
/// RAM is checkpointed incrementally: one full copy when recording starts,
/// then at each checkpoint only the pages the dirty bitmap names. The
/// bits this engine clears are handed back (`returnDirtyPages`) before
/// anyone else (a capsule save) relies on them. Disks must be
/// `JournaledDisk`s (or read-only) for going back across guest writes.
public final class ReverseEngine: ReverseExecution {
    public let machine: Machine
    /// Instructions between checkpoints. Smaller: faster steps back, more memory.
    public var interval: UInt64
    /// Older checkpoints are folded into the base beyond this many.
    public var maxCheckpoints: Int
    /// ...or when their saved pages take more than this many bytes.
    public var maxDeltaBytes = 1 << 30
    private var deltaBytes = 0
    public let disks: [JournaledDisk]
    /// Called with true while history is being re-run, so the owner can
    /// silence its own stops (the I/O port watch) and output.
    public var onReplay: ((Bool) -> Void)?

    struct Checkpoint {
        var count: UInt64
        var state: MachineState
        /// Pages dirtied since the previous checkpoint, with their contents here.
        var pages: [Int: [UInt8]]
        var diskMarks: [Int]
        /// How many host-input queue operations came before it.
        var queuedCount: Int
    }

    private var base: UnsafeMutablePointer<UInt8>?
    private var checkpoints: [Checkpoint] = []
    /// RAM equals checkpoint `reference` plus the pages dirty since then.
    private var reference = 0
    /// Dirty bits this engine cleared (to give back to capsule saves).
    private var handedOut: [UInt64]
    /// Host input queued while stopped, by virtual time.
    private var queued: [InputReplay.Queued] = []
    /// The furthest point history reached, and the log up to there.
    public private(set) var frontier: UInt64 = 0
    private var frontierTime: UInt64 = 0
    private var frontierLog: [InputEvent] = []
    private var replaying = false

    public init(machine: Machine, disks: [JournaledDisk] = [], interval: UInt64 = 2_000_000, maxCheckpoints: Int = 48) {
        self.machine = machine
        self.disks = disks
        self.interval = max(1, interval)
        self.maxCheckpoints = max(2, maxCheckpoints)
        handedOut = [UInt64](repeating: 0, count: machine.memory.dirtyWords)
    }

    deinit { base?.deallocate() }

    /// True when every writable disk keeps undo data (reverse is exact).
    public static func disksAreJournaled(_ machine: Machine, _ disks: [JournaledDisk]) -> Bool {
        machine.media.allSatisfy { m in m.readOnly || disks.contains { $0 === m } }
    }

    public var count: UInt64 { machine.cpu.instructionCount }
    /// The earliest instruction count one can go back to.
    public var earliest: UInt64? { checkpoints.first?.count }
    public var checkpointCount: Int { checkpoints.count }

    // MARK: Recording

    /// Runs the machine forward (`body` calls `Machine.run`), checkpointing
    /// before it when the last checkpoint is `interval` instructions old.
    @discardableResult
    public func forward<R>(_ body: () -> R) -> R {
        if !replaying { checkpointIfDue() }
        let r = body()
        if !replaying { advanceFrontier() }
        return r
    }

    private func checkpointIfDue() {
        if base == nil {
            startRecording()
            return
        }
        guard let last = checkpoints.last, count >= last.count &+ interval else { return }
        takeCheckpoint()
    }

    private func startRecording() {
        let mem = machine.memory
        let p = UnsafeMutablePointer<UInt8>.allocate(capacity: mem.ramSize)
        p.update(from: mem.ram, count: mem.ramSize)
        base = p
        takeDirtyBits()
        for d in disks { d.recording = true }
        checkpoints = [Checkpoint(count: count, state: machine.saveState(), pages: [:], diskMarks: disks.map(\.mark), queuedCount: queued.count)]
        reference = 0
        advanceFrontier()
    }

    private func takeCheckpoint() {
        let mem = machine.memory
        var pages: [Int: [UInt8]] = [:]
        // Changed since the last checkpoint: dirty since the reference,
        // plus what differs between the reference and the last one.
        var changed = Set(dirtyPages())
        if reference + 1 < checkpoints.count {
            for k in (reference + 1)..<checkpoints.count { changed.formUnion(checkpoints[k].pages.keys) }
        }
        for page in changed {
            pages[page] = Array(UnsafeBufferPointer(start: mem.ram + page * 4096, count: 4096))
        }
        takeDirtyBits()
        checkpoints.append(Checkpoint(count: count, state: machine.saveState(), pages: pages, diskMarks: disks.map(\.mark), queuedCount: queued.count))
        reference = checkpoints.count - 1
        deltaBytes += pages.count * 4096
        while checkpoints.count > 2 && (checkpoints.count > maxCheckpoints || deltaBytes > maxDeltaBytes) { foldOldest() }
    }

    /// Merges the two oldest checkpoints: the base becomes checkpoint 1.
    private func foldOldest() {
        guard checkpoints.count > 2, let base else { return }
        let second = checkpoints[1]
        deltaBytes -= second.pages.count * 4096
        for (page, bytes) in second.pages {
            bytes.withUnsafeBufferPointer { (base + page * 4096).update(from: $0.baseAddress!, count: 4096) }
        }
        checkpoints.removeFirst()
        checkpoints[0].pages = [:]
        let drop = checkpoints[0].diskMarks
        for (i, d) in disks.enumerated() { d.discard(before: drop[i]) }
        for k in checkpoints.indices { checkpoints[k].diskMarks = zip(checkpoints[k].diskMarks, drop).map { $0 - $1 } }
        reference -= 1
    }

    private func advanceFrontier() {
        if count >= frontier {
            frontier = count
            frontierTime = machine.scheduler.now
            frontierLog = machine.inputLog
        }
    }

    /// Host input queued now (while stopped) must be queued again at the
    /// same point when history is re-run. In the past, it changes the
    /// future: everything recorded after now is dropped.
    public func noteInputQueued(serial: [UInt8] = [], keyboard: [UInt8] = []) {
        if count < frontier { forgetFuture() }
        queued.append(InputReplay.Queued(time: machine.scheduler.now, serial: serial, keyboard: keyboard))
    }

    /// The debugger changed registers or memory: the recorded future is no
    /// longer this machine's future.
    public func forgetFuture() {
        guard base != nil else { return }
        while let last = checkpoints.last, last.count > count, checkpoints.count - 1 > reference {
            deltaBytes -= checkpoints.removeLast().pages.count * 4096
        }
        queued.removeAll { $0.time > machine.scheduler.now }
        machine.queuedInputLog.removeAll { $0.time > machine.scheduler.now }
        machine.inputReplay = nil
        frontier = count
        frontierTime = machine.scheduler.now
        frontierLog = machine.inputLog
    }

    // MARK: Dirty pages

    private func dirtyPages() -> [Int] {
        let mem = machine.memory
        var out: [Int] = []
        let pages = mem.ramSize / 4096
        for w in 0..<mem.dirtyWords where mem.dirtyBits[w] != 0 {
            var bits = mem.dirtyBits[w]
            while bits != 0 {
                let b = bits.trailingZeroBitCount
                bits &= bits - 1
                let page = w * 64 + b
                if page < pages { out.append(page) }
            }
        }
        return out
    }

    private func takeDirtyBits() {
        let mem = machine.memory
        for w in 0..<mem.dirtyWords { handedOut[w] |= mem.dirtyBits[w] }
        mem.clearDirty()
    }

    /// Gives the dirty bits this engine cleared back to the memory, so a
    /// capsule save after a debugging session still writes every page.
    public func returnDirtyPages() {
        let mem = machine.memory
        for w in 0..<mem.dirtyWords { mem.dirtyBits[w] |= handedOut[w] }
    }

    // MARK: Going back

    /// Puts the machine at instruction count `target` (not later than now).
    /// False if `target` is before the earliest checkpoint.
    @discardableResult
    public func travel(to target: UInt64) -> Bool {
        // The machine may have run on without us (gdb detached and came back).
        if !replaying { advanceFrontier() }
        guard let i = checkpoints.lastIndex(where: { $0.count <= target }) else { return false }
        return suspendingStops {
            restore(i)
            replay(to: target)
            return true
        }
    }

    public func reverseStep() -> Bool {
        guard count > 0, let first = earliest, count > first else { return false }
        return travel(to: count - 1)
    }

    public func reverseContinue(breakpoints: Set<UInt32>, watchpoints: [Watchpoint]) -> ReverseStop {
        guard let first = earliest else { return .historyBegin }
        if let hit = lastHit(before: count, breakpoints: breakpoints, watchpoints: watchpoints, accept: { _ in true }) {
            travelToHit(hit, breakpoints: breakpoints)
            return hit.stop
        }
        travel(to: first)
        return .historyBegin
    }

    /// A moment reverse-continue can stop at.
    public struct Hit: Equatable {
        /// The instruction count to stand at.
        public var count: UInt64
        public var stop: ReverseStop
    }

    /// The latest moment before `now` at which the machine stood on one of
    /// `breakpoints` (linear addresses), or was about to run an instruction
    /// that triggers one of `watchpoints`, and `accept` (asked in the
    /// machine state right after the stop, with the stop's kind) agreed.
    /// Leaves the machine somewhere in the past: the caller travels on.
    public func lastHit(before now: UInt64, breakpoints: Set<UInt32>, watchpoints: [Watchpoint] = [],
                        accept: (ReverseStop) -> Bool) -> Hit? {
        guard !breakpoints.isEmpty || !watchpoints.isEmpty else { return nil }
        if !replaying { advanceFrontier() }
        return suspendingStops { () -> Hit? in
            var i = checkpoints.lastIndex(where: { $0.count < now }) ?? -1
            let cpu = machine.cpu
            while i >= 0 {
                let end = i + 1 < checkpoints.count ? min(checkpoints[i + 1].count, now) : now
                restore(i)
                var hits: [Hit] = []
                for a in breakpoints { cpu.addBreakpoint(linear: a) }
                for w in watchpoints { cpu.addWatchpoint(w) }
                while count < end {
                    let before = count
                    let reason = machine.run(instructions: end - count)
                    if reason == .breakpoint {
                        if count < now, accept(.breakpoint) { hits.append(Hit(count: count, stop: .breakpoint)) }
                        cpu.skipBreakpointOnce = true
                        continue
                    }
                    if case .watchpoint(let a) = reason {
                        // The trap comes after the accessing instruction;
                        // reversing, the stop is before it.
                        if count > 0, accept(.watchpoint(address: a)) {
                            hits.append(Hit(count: count - 1, stop: .watchpoint(address: a)))
                        }
                        continue
                    }
                    if reason != .instructionLimit || count == before { break }
                }
                for a in breakpoints { cpu.removeBreakpoint(linear: a) }
                for w in watchpoints { cpu.removeWatchpoint(w) }
                cpu.skipBreakpointOnce = false
                if let h = hits.last { return h }
                i -= 1
            }
            return nil
        }
    }

    /// Travels to a hit `lastHit` found.
    public func travelToHit(_ hit: Hit, breakpoints: Set<UInt32>) {
        // A watchpoint hit is a plain instruction count (before the access).
        guard hit.stop == .breakpoint else { travel(to: hit.count); return }
        suspendingStops { reach(hit.count, breakpoints: breakpoints) }
    }

    /// Stands at the breakpoint boundary `hit` (after anything the CPU
    /// delivers there, as the scan saw it).
    private func reach(_ hit: UInt64, breakpoints: Set<UInt32>) {
        guard let i = checkpoints.lastIndex(where: { $0.count <= hit }) else { return }
        restore(i)
        replay(to: hit)
        let cpu = machine.cpu
        if !breakpoints.contains(cpu.linearPC) {
            for a in breakpoints { cpu.addBreakpoint(linear: a) }
            _ = machine.run(instructions: 1)
            for a in breakpoints { cpu.removeBreakpoint(linear: a) }
        }
    }

    /// Restores checkpoint `i`: processor and devices, RAM pages, disks,
    /// and the input that history will deliver and queue again.
    private func restore(_ i: Int) {
        guard let base else { return }
        let cp = checkpoints[i]
        let mem = machine.memory
        var touched = Set(dirtyPages())
        let lo = min(reference, i), hi = max(reference, i)
        if hi > lo { for k in (lo + 1)...hi { touched.formUnion(checkpoints[k].pages.keys) } }
        takeDirtyBits()
        for page in touched {
            var source: [UInt8]?
            var k = i
            while k > 0 && source == nil {
                source = checkpoints[k].pages[page]
                k -= 1
            }
            let dst = mem.ram + page * 4096
            if let source {
                source.withUnsafeBufferPointer { dst.update(from: $0.baseAddress!, count: 4096) }
            } else {
                dst.update(from: base + page * 4096, count: 4096)
            }
        }
        // The pages written back changed under the CPU's feet: no stale
        // write pointers may survive, and a later capsule save must write them.
        for page in touched { handedOut[page >> 6] |= 1 << UInt64(page & 63) }
        mem.clearDirty()
        reference = i
        for (d, m) in zip(disks, cp.diskMarks) { try? d.truncate(to: m) }
        try? machine.restoreState(cp.state)
        machine.cpu.clearDebugEvent()
        machine.cpu.skipBreakpointOnce = false
        let logStart = cp.state.inputLog.count
        machine.inputReplay = InputReplay(events: frontierLog.count > logStart ? frontierLog[logStart...] : [],
                                          queued: queued.count > cp.queuedCount ? queued[cp.queuedCount...] : [], until: frontierTime)
    }

    /// Runs forward from a restored checkpoint to `target`. The machine
    /// queues host input again at the times it was first queued; input
    /// queued at the target itself is queued too (the state there is the
    /// one the debugger last saw there).
    private func replay(to target: UInt64) {
        runExactly(to: target)
        machine.applyReplayedQueues()
    }

    private func runExactly(to target: UInt64) {
        var stalls = 0
        while count < target && stalls < 3 {
            let before = count
            switch machine.run(instructions: target - count) {
            case .haltedWithInterruptsDisabled, .haltedForever, .shutdown: return
            default: stalls = count == before ? stalls + 1 : 0
            }
        }
    }

    /// Runs `body` with every debugger stop condition lifted (breakpoints,
    /// watchpoints, vector and mode breaks, the owner's port watch) and
    /// the slice-boundary hook off, restoring them afterwards.
    private func suspendingStops<R>(_ body: () -> R) -> R {
        if replaying { return body() }
        let cpu = machine.cpu
        let bps = cpu.breakpoints, wps = cpu.watchpoints, mode = cpu.breakOnModeChange
        let vectors = (0...255).map(UInt8.init).filter { cpu.hasVectorBreak($0) }
        for a in bps { cpu.removeBreakpoint(linear: a) }
        for w in wps { cpu.removeWatchpoint(w) }
        cpu.breakOnModeChange = false
        for v in vectors { cpu.setVectorBreak(v, false) }
        let hook = machine.onSliceBoundary
        machine.onSliceBoundary = nil
        let transmit = machine.com1.transmit
        machine.com1.transmit = { _ in }
        replaying = true
        onReplay?(true)
        defer {
            onReplay?(false)
            replaying = false
            machine.com1.transmit = transmit
            machine.onSliceBoundary = hook
            for a in bps { cpu.addBreakpoint(linear: a) }
            for w in wps { cpu.addWatchpoint(w) }
            cpu.breakOnModeChange = mode
            for v in vectors { cpu.setVectorBreak(v, true) }
            cpu.clearDebugEvent()
        }
        return body()
    }
}
