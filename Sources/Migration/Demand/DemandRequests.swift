import Capsule
import Foundation

/// The receiver's side of demand paging, between the thread that runs the
/// transfer (`ReceiverSession`) and the thread that runs the guest
/// (`ArrivingCapsule`):
///
/// - the session announces when the capsule is *runnable* (manifest, disk
///   layers, state and input log are here; blocks may not be);
/// - the guest asks for a block by name (`fetch`) and blocks until it is
///   there; the request travels as a PRIORITY frame, so the sender sends
///   that block next instead of in its turn;
/// - blocks the guest is known to need later (absent memory pages) are
///   queued as they arrive, for the guest's thread to install;
/// - the session or its driver says when the transfer committed or ended.
///
/// Thread-safe: every method takes the lock.
public final class DemandRequests {
    /// What the receiver needs to resume the guest before the blocks are in.
    public struct Runnable {
        public var manifest: Manifest
        public var manifestHash: BlockName
        public var manifestBytes: [UInt8]
        public var state: [UInt8]
        public var inputLog: [UInt8]?
        /// When it became runnable.
        public var at: Date
    }

    /// Why a block is not (yet) available.
    public enum Unavailable: Error, CustomStringConvertible {
        /// The sender is not connected (or slow); it may still come back.
        case stillWaiting(String)
        /// The transfer is over and the block will never come.
        case never(String)

        public var description: String {
            switch self {
            case .stillWaiting(let s), .never(let s): return s
            }
        }
    }

    let storeRoot: String
    private let cond = NSCondition()
    private var connection: FramedConnection?
    private var indexOf: [BlockName: Int] = [:]
    private var waiting: [BlockName: Int] = [:]
    private var delivered: [BlockName: [UInt8]] = [:]
    /// Blocks of the batch being received, not yet durable in the store
    /// (another Store object cannot see them there until the batch commits).
    private var inBatch: [BlockName: [UInt8]] = [:]
    /// Blocks the guest's side wants queued when they arrive, and the queue.
    private var watched: Set<BlockName> = []
    private var arrivals: [(BlockName, [UInt8])] = []
    private var runnable: Runnable?
    private var ended: String?
    private var lastDrop: String?
    public private(set) var committed = false
    /// Bumped by every attach: a request is sent again on a new connection.
    private var generation = 0
    /// A store object of this class's own (store objects are single-threaded).
    private var store: Store?
    /// Requests sent as PRIORITY frames (for tests and the report).
    public private(set) var requestsSent = 0
    /// Seconds the guest's side spent waiting in `fetch` for blocks that were not here.
    public private(set) var waitedSeconds = 0.0

    public init(storeRoot: String) { self.storeRoot = storeRoot }

    // MARK: the guest's side

    /// Waits at most `timeout` seconds until the capsule is runnable;
    /// throws `.never` when the transfer ended before (or committed without
    /// ever announcing it: the capsule is then whole in the store).
    public func waitRunnable(timeout: Double) throws(Unavailable) -> Runnable? {
        let deadline = Date().addingTimeInterval(timeout)
        cond.lock()
        defer { cond.unlock() }
        while runnable == nil {
            if let e = ended { throw .never(e) }
            if committed { return nil }
            if !cond.wait(until: deadline) { throw .stillWaiting("the capsule's state has not arrived within \(formatSeconds(timeout))") }
        }
        return runnable
    }

    /// The content of block `name`, waiting at most `timeout` seconds.
    public func fetch(_ name: BlockName, timeout: Double = 30) throws(Unavailable) -> [UInt8] {
        if name == .zero { return [UInt8](repeating: 0, count: BlockName.blockSize) }
        let deadline = Date().addingTimeInterval(timeout)
        cond.lock()
        defer { cond.unlock() }
        waiting[name, default: 0] += 1
        let started = Date()
        defer {
            waitedSeconds += Date().timeIntervalSince(started)
            waiting[name]! -= 1
            if waiting[name] == 0 { waiting[name] = nil; delivered[name] = nil }
        }
        var askedIn = -1
        while true {
            if let d = delivered[name] ?? inBatch[name] { return d }
            if store == nil {
                do { store = try Store(root: storeRoot) } catch { throw .never("cannot open the store \(storeRoot): \(error)") }
            }
            if store!.blocks.has(name), let d = try? store!.blocks.get(name) { return d }
            if let e = ended { throw .never("block \(name.hex.prefix(16))… did not arrive: \(e)") }
            if committed { throw .never("block \(name.hex.prefix(16))… is not part of the received capsule") }
            if askedIn != generation, let c = connection, let i = indexOf[name] {
                var w = ByteWriter()
                w.u32(1); w.u32(UInt32(i))
                // A failed send is a dropped connection: the request goes again on the next one.
                if (try? c.send(.priority, w.bytes)) != nil { requestsSent += 1 }
                askedIn = generation
            }
            // Re-check the store now and then: a block may have become
            // durable without passing through `arrived`.
            let now = Date()
            guard now < deadline else {
                let why = connection == nil ? "the sender is not connected" + (lastDrop.map { " (\($0))" } ?? "") : "the sender has not sent it yet"
                throw .stillWaiting("block \(name.hex.prefix(16))… has not arrived within \(formatSeconds(timeout)): \(why)")
            }
            _ = cond.wait(until: min(deadline, now.addingTimeInterval(0.05)))
        }
    }

    /// Queue these blocks when they arrive (the contents of absent pages).
    public func watch(_ names: Set<BlockName>) {
        cond.lock()
        watched.formUnion(names)
        cond.unlock()
    }

    /// The watched blocks that arrived since the last call.
    public func takeArrivals() -> [(BlockName, [UInt8])] {
        cond.lock()
        defer { cond.unlock() }
        let out = arrivals
        arrivals.removeAll()
        return out
    }

    /// Blocks until the transfer committed (nil) or failed for good (why).
    public func waitCommitted() -> String? {
        cond.lock()
        defer { cond.unlock() }
        while !committed && ended == nil { cond.wait() }
        return committed ? nil : ended
    }

    /// Why the transfer ended without committing, if it did.
    public var endedWithout: String? {
        cond.lock()
        defer { cond.unlock() }
        return ended
    }

    // MARK: the transfer's side

    func announceRunnable(_ r: Runnable) {
        cond.lock()
        if runnable == nil { runnable = r; cond.broadcast() }
        cond.unlock()
    }

    func attach(_ c: FramedConnection, offer: BlockOffer) {
        cond.lock()
        connection = c
        generation += 1
        indexOf.removeAll(keepingCapacity: true)
        for (i, n) in offer.names.enumerated() { indexOf[n] = i }
        cond.broadcast()
        cond.unlock()
    }

    func arrived(_ name: BlockName, _ data: [UInt8]) {
        cond.lock()
        inBatch[name] = data
        if waiting[name] != nil { delivered[name] = data; cond.broadcast() }
        if watched.remove(name) != nil { arrivals.append((name, data)) }
        cond.unlock()
    }

    /// The blocks received so far are durable in the store.
    func batchDurable() {
        cond.lock()
        inBatch.removeAll(keepingCapacity: true)
        cond.unlock()
    }

    /// The connection ended. A dropped connection is not the end: the
    /// client reconnects, and waiting requests are sent again on the new one.
    func detach(_ why: MigrationError?) {
        cond.lock()
        connection = nil
        inBatch.removeAll()
        if let e = why {
            lastDrop = "\(e)"
            if !e.isRetryable { ended = "\(e)" }
        } else {
            committed = true
        }
        cond.broadcast()
        cond.unlock()
    }

    /// The transfer's driver gave up (retries exhausted, or a local error):
    /// nothing more will arrive.
    public func transferFailed(_ why: String) {
        cond.lock()
        connection = nil
        if !committed { ended = why }
        cond.broadcast()
        cond.unlock()
    }
}
