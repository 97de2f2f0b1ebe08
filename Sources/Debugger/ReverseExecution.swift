import X86

/// Where a reverse-continue stopped.
public enum ReverseStop: Equatable {
    /// On a breakpoint: the instruction at the linear PC has not run yet.
    case breakpoint
    /// Just before the instruction whose access to `address` triggered a
    /// watchpoint: going backwards, that access is the latest one undone.
    case watchpoint(address: UInt32)
    /// Nothing hit: the machine stands at the beginning of its history.
    case historyBegin
}

/// Going backwards, for gdb's `reverse-stepi` (`bs`) and
/// `reverse-continue` (`bc`). The machine side (checkpoints plus
/// deterministic replay) implements it; the GDB server only advertises
/// `ReverseStep+`/`ReverseContinue+` when it is given one.
public protocol ReverseExecution: AnyObject {
    /// Moves the machine back by one instruction. False when the history
    /// begins here (nothing was undone).
    func reverseStep() -> Bool

    /// Moves the machine back to the most recent earlier moment at which
    /// it stood on one of `breakpoints` (linear PCs) or was about to run an
    /// instruction that triggers one of `watchpoints`, whichever is later.
    func reverseContinue(breakpoints: Set<UInt32>, watchpoints: [Watchpoint]) -> ReverseStop
}
