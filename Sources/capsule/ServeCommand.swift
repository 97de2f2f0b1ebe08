import ArgumentParser
import Capsule
import Foundation
import Migration

/// `capsule serve --listen HOST:PORT`: receives pushed capsules into the
/// store and serves fetches from it.
struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "serve", abstract: "Receive migrated capsules (and serve fetches) on HOST:PORT.")

    @Option(help: "Address to listen on: HOST:PORT, [IPv6]:PORT, or :PORT for every interface.")
    var listen: String
    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var transport: TransportOptions
    @Option(help: "Exit after this many connections (default: serve until interrupted).")
    var connections: Int?
    @Flag(help: "Print each connection's report as JSON.")
    var json = false
    @Flag(name: .customLong("run"), help: "Resume the first capsule pushed here on this terminal: as soon as its state has arrived when the sender gave --demand, otherwise once it is committed. serve ends when that guest has stopped and its transfer has finished.")
    var resume = false
    @OptionGroup(title: "Run options (with --run)") var session: RunOptions

    func run() throws {
        let store = try openStore(storeOptions)
        let wrap = try transport.channelMaker(role: .server, address: listen)
        let listener: TCPListener
        do { listener = try TCPListener(address: listen) } catch { throw ValidationError("\(error)") }
        stderrLine("capsule serve: listening on \(listener.address), store \(store.root)")
        let server = MigrationServer(storeRoot: store.root, listener: listener)
        server.log = { stderrLine("capsule serve: \($0)") }
        let timeout = transport.timeout
        server.wrap = { (tcp) throws(ChannelError) -> MigrationChannel in
            tcp.timeout = timeout
            return try wrap(tcp)
        }
        let json = self.json, resume = self.resume
        let printLock = NSLock()
        server.completed = { stats, error in
            guard error == nil, !stats.capsule.isEmpty else { return }
            printLock.lock(); defer { printLock.unlock() }
            // With --run the terminal is the guest's console: reports go to stderr.
            if resume { stderrLine(json ? stats.json() : stats.table()) } else { printReport(stats, json: json) }
        }
        if resume { return try serveAndRun(server, listener: listener, store: store) }
        do { try server.serve(count: connections) } catch { throw CommandFailure("capsule serve: \(error)") }
    }

    /// `--run`: the server accepts connections on a thread of its own (a
    /// dropped sender reconnects to it) while the first pushed capsule runs here.
    func serveAndRun(_ server: MigrationServer, listener: TCPListener, store: Store) throws {
        let first = FirstPush(storeRoot: store.root)
        server.demandFor = { name, wantsDemand in first.demand(for: name, wanted: wantsDemand) }
        let report = server.completed
        server.completed = { stats, error in
            report(stats, error)
            if error == nil, !stats.capsule.isEmpty { first.committed(stats.capsule) }
        }
        let serving = DispatchSemaphore(value: 0)
        let connections = self.connections
        let thread = Thread {
            do { try server.serve(count: connections) } catch { stderrLine("capsule serve: \(error)") }
            first.serverEnded()
            serving.signal()
        }
        thread.start()
        defer { listener.close(); serving.wait() }
        guard let (name, demand) = first.wait() else { throw CommandFailure("capsule serve: the server stopped before a capsule arrived") }
        let capsule: MachineCapsule
        var arriving: ArrivingCapsule?
        if let demand {
            (capsule, arriving) = try resumeArriving(name, demand: demand, storeOptions: storeOptions,
                                                     command: "capsule serve", transfer: "capsule serve: receiving '\(name)'")
            if arriving != nil { stderrLine("capsule serve: '\(name)' runs; the rest arrives on demand and in the background") }
        } else {
            do { capsule = try MachineCapsule(resuming: name, store: try openStore(storeOptions)) } catch {
                throw CommandFailure("capsule serve: cannot resume '\(name)': \(error)")
            }
        }
        try session.start(capsule.machine, capsule: capsule, arriving: arriving)
        if let demand, !demand.committed {
            stderrLine("capsule serve: the guest has stopped; waiting for the transfer of '\(name)' to finish")
            if let why = demand.waitCommitted() { throw CommandFailure("capsule serve: receiving '\(name)' failed: \(why)") }
        }
    }
}

/// `serve --run`: which pushed capsule runs here (the first one), and when.
final class FirstPush: @unchecked Sendable {
    let storeRoot: String
    private let cond = NSCondition()
    private var name: String?
    private var requests: DemandRequests?
    private var ready = false
    private var ended = false

    init(storeRoot: String) { self.storeRoot = storeRoot }

    /// The demand requests for a push of `name` (the same object again when
    /// the sender reconnects); nil for other capsules and whole transfers.
    func demand(for name: String, wanted: Bool) -> DemandRequests? {
        cond.lock(); defer { cond.unlock() }
        if self.name == nil { self.name = name }
        guard self.name == name, wanted else { return nil }
        if requests == nil {
            requests = DemandRequests(storeRoot: storeRoot)
            ready = true
            cond.broadcast()
        }
        return requests
    }

    func committed(_ name: String) {
        cond.lock(); defer { cond.unlock() }
        if self.name == nil { self.name = name }
        if self.name == name { ready = true; cond.broadcast() }
    }

    func serverEnded() {
        cond.lock(); ended = true; cond.broadcast(); cond.unlock()
    }

    /// Waits for the first capsule: its name, and its demand requests when it runs while arriving.
    func wait() -> (String, DemandRequests?)? {
        cond.lock(); defer { cond.unlock() }
        while !ready && !ended { cond.wait() }
        return ready ? (name!, requests) : nil
    }
}
