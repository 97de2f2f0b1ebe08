/// Going backwards, for gdb's `reverse-stepi` (`bs`) and
/// `reverse-continue` (`bc`). The machine side (checkpoints plus
/// deterministic replay) implements it; the GDB server only advertises
/// `ReverseStep+`/`ReverseContinue+` when it is given one.
public protocol ReverseExecution: AnyObject {
    /// Moves the machine back by one instruction. False when the history
    /// begins here (nothing was undone).
    func reverseStep() -> Bool

    /// Moves the machine back to the most recent earlier instruction
    /// boundary whose linear PC is in `breakpoints`. False when none was
    /// found and the machine now stands at the beginning of its history.
    func reverseContinue(breakpoints: Set<UInt32>) -> Bool
}
