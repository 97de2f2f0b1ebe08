import PC

/// A virtual clock the tests move by hand: the scheduler's instruction
/// count is whatever `ns` says.
final class TestClock {
    var ns: UInt64 = 0
    lazy var scheduler = EventScheduler(instructions: { [unowned self] in self.ns })

    /// Moves time forward in `step`-ns increments up to `target`, firing due events at each step.
    func advance(to target: UInt64, step: UInt64 = 1000, each: (() -> Void)? = nil) {
        while ns < target {
            ns = min(ns + step, target)
            scheduler.runDue()
            each?()
        }
    }
}
