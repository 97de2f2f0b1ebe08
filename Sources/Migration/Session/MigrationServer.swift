import Capsule
import Foundation

/// `capsule serve`: accepts connections and runs, per connection, the
/// receiving side of a push or the sending side of a fetch. Connections
/// are served concurrently (a thread each, at most `maxConcurrent`), each
/// with its own `Store` object (a store object is single-threaded; the
/// directory is safe to share: blocks are content-named and written
/// atomically, commits take the capsule's lock).
public final class MigrationServer {
    public let storeRoot: String
    public let listener: TCPListener
    /// Turns an accepted TCP connection into the channel the protocol runs
    /// on (TLS handshake, for instance); throwing refuses the peer.
    public var wrap: (TCPChannel) throws(ChannelError) -> MigrationChannel = { $0 }
    public var maxConcurrent = 8
    public var log: (String) -> Void = { _ in }
    /// Called after each connection with its statistics and outcome.
    public var completed: (TransferStatistics, MigrationError?) -> Void = { _, _ in }
    /// For each pushed capsule: the demand requests object of a guest that
    /// runs here while it arrives (nil: receive it whole). Given the name
    /// and whether the sender asked for demand paging.
    public var demandFor: ((String, Bool) -> DemandRequests?)?
    let active = NSCondition()
    var running = 0

    public init(storeRoot: String, listener: TCPListener) {
        self.storeRoot = storeRoot
        self.listener = listener
    }

    /// Accepts connections until the listener is closed (or `count` were served).
    public func serve(count: Int? = nil) throws(ChannelError) {
        var served = 0
        var failure: ChannelError?
        while count.map({ served < $0 }) ?? true {
            let ch: TCPChannel
            do { ch = try listener.accept() } catch {
                // Closing the listener (to stop the server) ends accept with
                // an error too; that is the normal way out.
                if !listener.isClosed { failure = error }
                break
            }
            served += 1
            active.lock()
            while running >= maxConcurrent { active.wait() }
            running += 1
            active.unlock()
            let t = Thread { [self] in
                handle(ch)
                active.lock(); running -= 1; active.broadcast(); active.unlock()
            }
            t.start()
        }
        // Connections in progress finish before serve returns.
        active.lock()
        while running > 0 { active.wait() }
        active.unlock()
        if let e = failure { throw e }
    }

    /// One connection, start to end. Never throws: failures are logged and
    /// reported to the peer; the store keeps only verified data.
    public func handle(_ tcp: TCPChannel) {
        let stats = TransferStatistics()
        stats.peer = tcp.peerDescription
        stats.connections = 1
        let channel: MigrationChannel
        do throws(ChannelError) { channel = try wrap(tcp) } catch {
            log("refused \(tcp.peerDescription): \(error)")
            tcp.close()
            completed(stats, .channel(error))
            return
        }
        let c = FramedConnection(channel)
        var failure: MigrationError?
        do throws(MigrationError) {
            let store: Store
            do { store = try Store(root: storeRoot) } catch { throw MigrationError.local(.store, "cannot open the store: \(error)") }
            let (role, version) = try Handshake.welcome(c)
            switch role {
            case .push:
                stats.role = "receive"
                try store.withSharedLock { () throws(MigrationError) in
                    let s = ReceiverSession(connection: c, store: store, expectedName: nil, stats: stats, progress: nil)
                    s.version = version
                    s.demandFor = demandFor
                    let (name, hash) = try s.run()
                    log("received capsule \(name) (manifest \(hash.hex.prefix(16))) from \(c.peer)")
                }
            case .pull:
                stats.role = "send"
                let name = try Handshake.receiveFetch(c)
                stats.capsule = name
                do { try Store.validateName(name) } catch { throw MigrationError.local(.invalidName, "\(error)") }
                let exported: Store.Exported
                do { exported = try store.exportCapsule(name) } catch { throw MigrationError.local(.notFound, "cannot send capsule \(name): \(error)") }
                stats.manifestHash = exported.manifestHash.hex
                let s = SenderSession(connection: c, store: store, capsule: exported, stats: stats, progress: nil,
                                      recentPages: exported.recentPages)
                s.version = version
                _ = try s.run()
                log("sent capsule \(name) to \(c.peer)")
            }
        } catch {
            failure = error
            switch error {
            case .protocolViolation(let s): c.sendError(.protocolViolation, s)
            case .local(let code, let s): c.sendError(code, s)
            default: break
            }
            log("connection from \(c.peer) ended: \(error)")
        }
        stats.add(c)
        stats.totalTime = Date().timeIntervalSince(stats.start)
        c.close()
        completed(stats, failure)
    }
}
