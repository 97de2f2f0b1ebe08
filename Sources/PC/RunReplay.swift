import X86

/// Where a run stopped, exactly enough to stop a re-execution of it at the
/// same point: the instruction count, the virtual time (a halted CPU lets
/// time pass without instructions), and whether the slice-boundary work at
/// that instant (host input delivery, due events) had been done — a run
/// stopped by an instruction limit stops before it, one stopped from the
/// host's slice-boundary hook (a console suspend, a signal) after it.
public struct RunEnd: Equatable, Sendable {
    public var instructions: UInt64
    public var time: UInt64
    public var boundaryDone: Bool

    public init(instructions: UInt64, time: UInt64, boundaryDone: Bool) {
        self.instructions = instructions
        self.time = time
        self.boundaryDone = boundaryDone
    }
}

extension Machine {
    /// Where the machine is now, as a `RunEnd`.
    public var runEnd: RunEnd {
        let count = cpu.instructionCount, now = scheduler.now
        return RunEnd(instructions: count, time: now, boundaryDone: boundaryMark == (count, now))
    }

    /// Re-executes a recorded run up to `end`, with host input coming only
    /// from `inputReplay` (set it first, `until: .max`). Returns nil when
    /// the machine stands exactly at `end`, or why it cannot get there (it
    /// went past, halted for good, shut down): the replay diverged.
    ///
    /// Slices are cut differently from the original run; that is sound
    /// because the machine's result does not depend on where slices end
    /// (events fire at their due time, logged input at its stamp) — the
    /// property suspend/resume equivalence rests on.
    public func replay(to end: RunEnd) -> String? {
        func at() -> String {
            "instruction \(cpu.instructionCount), virtual time \(scheduler.now)"
        }
        // The instructions: an ordinary run, which stops exactly at the
        // count before that instant's boundary work.
        let count = cpu.instructionCount
        guard count <= end.instructions else {
            return "the replay starts at instruction \(count), after the recorded end at \(end.instructions)"
        }
        let saved = onSliceBoundary
        onSliceBoundary = nil
        defer { onSliceBoundary = saved }
        let reason = run(instructions: end.instructions - count)
        guard cpu.instructionCount == end.instructions else {
            return "stopped at \(at()) (\(reason)) before the recorded end at instruction \(end.instructions)"
        }
        // Then time without instructions: a halted CPU waiting for its next
        // event, as the original run's loop did after its last instruction.
        while true {
            if scheduler.now == end.time && !end.boundaryDone { return nil }
            doBoundaryWork()
            if scheduler.now == end.time && end.boundaryDone { return nil }
            guard scheduler.now < end.time else {
                return "reached instruction \(end.instructions) at virtual time \(scheduler.now), after the recorded end at \(end.time)"
            }
            // One instruction at most: a CPU that is halted with nothing to
            // wake it executes none and reports the halt.
            switch cpu.run(maxInstructions: 1) {
            case .halted where cpu.instructionCount == end.instructions && cpu.eflags & EFlags.if != 0:
                guard idleUntilNextEvent() else { return "halted for good at \(at()), before the recorded end at virtual time \(end.time)" }
            case let outcome:
                return "at instruction \(end.instructions) the CPU went on (\(outcome)) instead of idling until the recorded end at virtual time \(end.time)"
            }
        }
    }
}
