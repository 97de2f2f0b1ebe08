import Capsule
import Foundation

/// The receiver's hook for demand paging: while a transfer streams in,
/// another thread (a resumed guest touching a page that has not arrived,
/// through the machine's absent-page resolver) asks for a block by name and
/// blocks until it is there. The request travels as a PRIORITY frame, so
/// the sender sends that block next instead of in its turn.
///
/// Thread-safe: `fetch` runs on the requesting thread; the session calls
/// `attach`, `arrived` and `detach` from its own.
public final class DemandRequests {
    let storeRoot: String
    private let cond = NSCondition()
    private var connection: FramedConnection?
    private var indexOf: [BlockName: Int] = [:]
    private var waiting: [BlockName: Int] = [:]
    private var delivered: [BlockName: [UInt8]] = [:]
    private var ended: MigrationError?
    /// Bumped by every attach: a request is sent again on a new connection.
    private var generation = 0
    /// A store object of this thread's own (store objects are single-threaded).
    private var store: Store?
    /// Requests sent as PRIORITY frames (for tests and the report).
    public private(set) var requestsSent = 0

    public init(storeRoot: String) { self.storeRoot = storeRoot }

    /// The content of block `name`, waiting at most `timeout` seconds for
    /// it to arrive. Throws when the transfer ended without it or the time
    /// ran out (the caller pauses the guest rather than run it on bad data).
    public func fetch(_ name: BlockName, timeout: Double = 30) throws -> [UInt8] {
        if name == .zero { return [UInt8](repeating: 0, count: BlockName.blockSize) }
        let deadline = Date().addingTimeInterval(timeout)
        cond.lock()
        defer { cond.unlock() }
        waiting[name, default: 0] += 1
        defer {
            waiting[name]! -= 1
            if waiting[name] == 0 { waiting[name] = nil; delivered[name] = nil }
        }
        var askedIn = -1
        while true {
            if let d = delivered[name] { return d }
            if store == nil { store = try Store(root: storeRoot) }
            if store!.blocks.has(name), let d = try? store!.blocks.get(name) { return d }
            if askedIn != generation, let c = connection, let i = indexOf[name] {
                var w = ByteWriter()
                w.u32(1); w.u32(UInt32(i))
                do { try c.send(.priority, w.bytes) } catch { throw error }
                requestsSent += 1
                askedIn = generation
            }
            if let e = ended, connection == nil {
                throw CapsuleError.other("block \(name) did not arrive: \(e)")
            }
            // Re-check the store now and then: a block may have arrived in a
            // batch that became durable without passing through `arrived`.
            guard cond.wait(until: min(deadline, Date().addingTimeInterval(0.05))) || Date() < deadline else {
                throw CapsuleError.other("block \(name) did not arrive within \(formatSeconds(timeout))")
            }
        }
    }

    // MARK: called by the receiving session

    func attach(_ c: FramedConnection, offer: BlockOffer) {
        cond.lock()
        connection = c
        ended = nil
        generation += 1
        indexOf.removeAll(keepingCapacity: true)
        for (i, n) in offer.names.enumerated() { indexOf[n] = i }
        cond.broadcast()
        cond.unlock()
    }

    func arrived(_ name: BlockName, _ data: [UInt8]) {
        cond.lock()
        if waiting[name] != nil { delivered[name] = data; cond.broadcast() }
        cond.unlock()
    }

    /// The session ended. A dropped connection is not the end: the client
    /// reconnects, and waiting requests are sent again on the new one.
    func detach(_ why: MigrationError?) {
        cond.lock()
        connection = nil
        if let e = why, e.isRetryable { cond.unlock(); return }
        ended = why ?? .local(.store, "the transfer ended")
        cond.broadcast()
        cond.unlock()
    }
}
