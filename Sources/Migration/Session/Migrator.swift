import Capsule
import Foundation

/// The client side of `capsule migrate` and `capsule fetch`: connects,
/// runs the session, and on a dropped connection reconnects and runs it
/// again — the receiver's store keeps every block it verified, so the new
/// session asks only for the rest.
public final class Migrator {
    public let store: Store
    /// Opens a new channel to the peer (plain TCP, TLS, shaped…).
    public let connect: () throws(ChannelError) -> MigrationChannel
    /// Connection attempts after the first failure.
    /// nil: without limit (see `retryWhileAGuestWaits`).
    public var retries: Int? = 5
    /// Seconds between attempts (doubling, at most `maxRetryDelay`).
    public var retryDelay = 0.5
    public var maxRetryDelay = 30.0
    public var progress: ProgressSink?
    /// Memory page indexes, most recently used first: streamed first (migrate).
    public var recentPages: [UInt64] = []
    /// Demand requests of a guest resumed before the transfer ends (fetch).
    public var demand: DemandRequests?
    /// migrate: ask the receiver to resume the guest before the blocks are in.
    public var pushOnDemand = false
    /// migrate: optimisations switched off for an experiment.
    public var ablation = Ablation()
    /// Called with a line for the user when a connection fails and is retried.
    public var log: (String) -> Void = { _ in }

    /// With demand paging a guest depends on this transfer until the
    /// commit: reconnect without limit, and soon after the peer is back.
    public func retryWhileAGuestWaits() {
        retries = nil
        maxRetryDelay = 2
    }

    public init(store: Store, connect: @escaping () throws(ChannelError) -> MigrationChannel) {
        self.store = store
        self.connect = connect
    }

    /// Sends capsule `name`; after the receiver commits, drops the local
    /// copy unless `keep`.
    public func migrate(_ name: String, keep: Bool) throws(MigrationError) -> TransferStatistics {
        let stats = TransferStatistics()
        stats.role = "migrate"
        stats.capsule = name
        let exported: Store.Exported
        do { exported = try store.exportCapsule(name) } catch { throw .local(.notFound, "cannot read capsule \(name): \(error)") }
        stats.manifestHash = exported.manifestHash.hex
        try withRetries(stats) { (c) throws(MigrationError) in
            let v = try Handshake.hello(c, role: .push)
            let s = SenderSession(connection: c, store: store, capsule: exported, stats: stats, progress: progress,
                                  recentPages: recentPages.isEmpty ? exported.recentPages : recentPages)
            s.version = v
            s.demand = pushOnDemand
            s.ablation = ablation
            _ = try s.run()
        }
        if stats.timeToRunnable == nil { stats.timeToRunnable = Date().timeIntervalSince(stats.start) }
        if !keep {
            do { try store.dropCapsule(name) } catch { throw .local(.store, "capsule \(name) is committed on the receiver, but the local copy could not be removed: \(error)") }
            stats.droppedSource = true
        }
        stats.totalTime = Date().timeIntervalSince(stats.start)
        return stats
    }

    /// Pulls capsule `name` from a serving peer into the local store.
    public func fetch(_ name: String, stats: TransferStatistics = TransferStatistics()) throws(MigrationError) -> TransferStatistics {
        stats.role = "fetch"
        stats.capsule = name
        do { try Store.validateName(name) } catch { throw .local(.invalidName, "\(error)") }
        try withRetries(stats) { (c) throws(MigrationError) in
            let v = try Handshake.hello(c, role: .pull)
            try Handshake.sendFetch(c, name: name)
            try store.withSharedLock { () throws(MigrationError) in
                let s = ReceiverSession(connection: c, store: store, expectedName: name, stats: stats, progress: progress)
                s.version = v
                s.demand = demand
                _ = try s.run()
            }
        }
        stats.totalTime = Date().timeIntervalSince(stats.start)
        // A guest resumed on demand ran earlier; the caller records when.
        if stats.timeToRunnable == nil { stats.timeToRunnable = stats.totalTime }
        if let d = demand { stats.demandRequests = d.requestsSent }
        return stats
    }

    func withRetries(_ stats: TransferStatistics, _ body: (FramedConnection) throws(MigrationError) -> Void) throws(MigrationError) {
        var delay = retryDelay
        var attempt = 0
        while true {
            attempt += 1
            var conn: FramedConnection?
            do throws(MigrationError) {
                let ch: MigrationChannel
                do throws(ChannelError) { ch = try connect() } catch { throw MigrationError.channel(error) }
                let c = FramedConnection(ch)
                conn = c
                stats.connections += 1
                stats.peer = ch.peerDescription
                try body(c)
                stats.add(c)
                c.close()
                return
            } catch {
                if let c = conn {
                    stats.add(c)
                    switch error {
                    case .protocolViolation(let s): c.sendError(.protocolViolation, s)
                    case .local(let code, let s): c.sendError(code, s)
                    default: break
                    }
                    c.close()
                }
                guard error.isRetryable, attempt <= retries ?? Int.max else { throw error }
                let of = retries.map { " of \($0 + 1)" } ?? ""
                log("connection failed (\(error)); retrying in \(formatSeconds(delay)) (attempt \(attempt + 1)\(of))")
                Thread.sleep(forTimeInterval: delay)
                delay = min(delay * 2, maxRetryDelay)
            }
        }
    }
}

extension Store {
    /// Runs `body` holding the store's shared lock, so that `gc` cannot
    /// remove blocks that arrived but are not referenced by a manifest yet.
    func withSharedLock(_ body: () throws(MigrationError) -> Void) throws(MigrationError) {
        var inner: MigrationError?
        do {
            try withLock(exclusive: false) { do throws(MigrationError) { try body() } catch { inner = error } }
        } catch {
            throw .local(.store, "cannot lock the store \(root): \(error)")
        }
        if let e = inner { throw e }
    }
}
