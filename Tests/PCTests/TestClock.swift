import PC

/// A virtual clock the tests move by hand: the scheduler's instruction
/// count is whatever `ns` says.
final class TestClock {
    var ns: UInt64 = 0
    lazy var scheduler = EventScheduler(instructions: { [unowned self] in self.ns })

    /// Moves time forward in steps of at most `step` ns up to `target`,
    /// stopping exactly at every event's due time (as the run loop does)
    /// and firing due events at each stop.
    func advance(to target: UInt64, step: UInt64 = 1000, each: (() -> Void)? = nil) {
        scheduler.runDue()
        while ns < target {
            var next = min(ns + step, target)
            if let due = scheduler.nextDue, due > ns, due < next { next = due }
            ns = next
            scheduler.runDue()
            each?()
        }
    }
}
