/// Where a session reports how far the data of the current round has got
/// (the CLI draws a progress bar from it).
public protocol ProgressSink: AnyObject {
    /// A round starts: `total` raw bytes are to travel.
    func begin(total: UInt64)
    /// `bytes` more raw bytes have travelled.
    func advance(_ bytes: UInt64)
}
