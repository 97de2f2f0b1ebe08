import ArgumentParser
import Capsule
import Foundation
import Migration

/// How the connection is made: TLS authentication and link emulation,
/// shared by serve, migrate and fetch.
struct TransportOptions: ParsableArguments {
    @Option(help: "This side's certificate (PEM), for mutual TLS with --key and --ca.")
    var cert: String?
    @Option(help: "The private key (PEM) of --cert.")
    var key: String?
    @Option(help: "The CA certificate (PEM) the peer's certificate must be signed by.")
    var ca: String?
    @Option(help: "Pre-shared key file (from `capsule keygen`), the same on both sides; instead of certificates.")
    var psk: String?
    @Option(help: "Emulate a slow link for what this side sends, e.g. 384kbit, 2mbit, 100kbps.")
    var bandwidth: String?
    @Option(help: "Emulate one-way latency for what this side sends, e.g. 20ms.")
    var latency: String?
    @Option(help: "Seconds a send or receive may wait for the peer before the connection counts as lost.")
    var timeout: Double = 60
    @Flag(help: "Allow plain, unauthenticated TCP to a host other than this one (trusted networks only).")
    var insecure = false

    var tls: TLSOptions { TLSOptions(certificate: cert, privateKey: key, ca: ca, psk: psk) }

    /// Builds the function that turns a TCP connection into the protocol's
    /// channel. Without TLS options the connection is plain TCP, which
    /// authenticates nobody: allowed on loopback, elsewhere only with --insecure.
    func channelMaker(role: TLSRole, address: String) throws -> (TCPChannel) throws(ChannelError) -> MigrationChannel {
        if tls.isEmpty && !insecure {
            let host = (try? HostPort.parse(address))?.host ?? address
            let loopback = host == "localhost" || host == "::1" || host.hasPrefix("127.")
            guard loopback else {
                throw ValidationError("plain TCP with \(address) would be unauthenticated: give --psk FILE (see `capsule keygen`) or --cert/--key/--ca on both sides, or --insecure on a trusted network")
            }
        }
        let context: TLSContext?
        let bits: Double?, delay: Double
        do {
            context = try tls.context(role: role)
            bits = try bandwidth.map { (s) throws(TransportSetupError) in try LinkRate.parseBandwidth(s) }
            delay = try latency.map { (s) throws(TransportSetupError) in try LinkRate.parseLatency(s) } ?? 0
        } catch {
            throw ValidationError("\(error)")
        }
        guard timeout > 0 else { throw ValidationError("--timeout must be positive") }
        return { (tcp) throws(ChannelError) -> MigrationChannel in
            let secured: MigrationChannel = try context.map { (ctx) throws(ChannelError) in try TLSChannel(over: tcp, context: ctx) } ?? tcp
            guard bits != nil || delay > 0 else { return secured }
            return LinkShaper(wrapping: secured, bitsPerSecond: bits, latency: delay)
        }
    }
}

func printReport(_ stats: TransferStatistics, json: Bool) {
    print(json ? stats.json() : stats.table())
}

func stderrLine(_ s: String) { FileHandle.standardError.write(Data((s + "\n").utf8)) }

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

/// `capsule migrate NAME --to HOST:PORT`: sends a capsule; drops the local
/// copy once the receiver committed it, unless --keep.
struct MigrateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "migrate", abstract: "Send a capsule to a `capsule serve` peer.")

    @Argument(help: "Capsule name.") var name: String
    @Option(help: "The receiver: HOST:PORT.") var to: String
    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var transport: TransportOptions
    @Flag(help: "Keep the local capsule after the receiver has committed it.") var keep = false
    @Flag(help: "Print the report as JSON.") var json = false
    @Option(help: "Reconnect this many times after a dropped connection (the transfer resumes).") var retries = 5
    @Option(help: "Before sending, inflate the guest's balloon: auto (leave the guest its working set), a size such as 64M, or off. The guest deflates after resume.")
    var balloon = "off"
    @Option(help: "Virtual seconds the guest may take to inflate the balloon.") var balloonWait = 10.0
    @Flag(help: "Ask the receiver (`capsule serve --run`) to resume the guest as soon as its state has arrived; memory and disk blocks follow on demand and in the background, recently used pages first. Reconnects without limit until the receiver has committed.")
    var demand = false
    @Flag(help: "Experiment: the receiver asks for every block, as if its store held none (no hash cache).") var noHashing = false
    @Flag(help: "Experiment: the receiver reuses none of the capsule's disk layers it holds (no copy-on-write).") var noCow = false
    @Flag(help: "Experiment: send blocks and parts uncompressed (no LZ4).") var noLz4 = false

    func run() throws {
        let store = try openStore(storeOptions)
        _ = try HostPortArgument.check(to, option: "--to")
        let balloonSize: MigrationBalloon.Size?
        do { balloonSize = try MigrationBalloon.parse(balloon) { parseSize($0).map(UInt64.init) } } catch {
            throw ValidationError("\(error)")
        }
        if let balloonSize {
            do {
                let o = try MigrationBalloon.inflate(capsule: name, store: store, size: balloonSize, waitSeconds: balloonWait)
                stderrLine("capsule migrate: balloon: \(o.inflatedPages) of \(o.targetPages) pages (\(o.inflatedPages / 256) MiB) inflated in \(String(format: "%.2f", o.virtualSeconds)) s of guest time: \(o.note)")
            } catch {
                throw CommandFailure("balloon before migrating '\(name)' failed: \(error)")
            }
        }
        let wrap = try transport.channelMaker(role: .client, address: to)
        let address = to, timeout = transport.timeout
        let m = Migrator(store: store) { () throws(ChannelError) -> MigrationChannel in
            try wrap(try TCPChannel.connect(to: address, timeout: min(timeout, 10), ioTimeout: timeout))
        }
        m.retries = retries
        m.ablation = Ablation(noHashing: noHashing, noCOW: noCow, compress: !noLz4)
        if demand {
            // A guest running on the receiver depends on this process until the commit.
            m.pushOnDemand = true
            m.retryWhileAGuestWaits()
        }
        let bar = ProgressBar.ifTerminal(label: "migrate \(name)")
        m.progress = bar
        m.log = { bar?.finish(); stderrLine("capsule migrate: \($0)") }
        do {
            let stats = try m.migrate(name, keep: keep)
            bar?.finish()
            printReport(stats, json: json)
        } catch {
            bar?.finish()
            throw CommandFailure("migration of '\(name)' to \(to) failed: \(error)")
        }
    }
}

/// `capsule fetch NAME --from HOST:PORT`: pulls a capsule from a serving
/// peer; with --run resumes it here, and with --demand as soon as its
/// state has arrived (memory and disk blocks follow on demand).
struct FetchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "fetch", abstract: "Pull a capsule from a `capsule serve` peer (and run it).")

    @Argument(help: "Capsule name.") var name: String
    @Option(help: "The serving peer: HOST:PORT.") var from: String
    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var transport: TransportOptions
    @Flag(help: "Print the report as JSON.") var json = false
    @Option(help: "Reconnect this many times after a dropped connection (the transfer resumes). With --demand: unlimited while the guest waits.") var retries = 5
    @Flag(name: .customLong("run"), help: "Resume the capsule here once it has arrived (the run options below apply).") var resume = false
    @Flag(help: "With --run: resume as soon as the state has arrived; memory pages and disk blocks come on first touch, the rest in the background.")
    var demand = false
    @OptionGroup(title: "Run options (with --run)") var session: RunOptions

    func run() throws {
        let store = try openStore(storeOptions)
        _ = try HostPortArgument.check(from, option: "--from")
        if demand && !resume { throw ValidationError("--demand resumes the guest during the transfer: give --run too") }
        let wrap = try transport.channelMaker(role: .client, address: from)
        let address = from, timeout = transport.timeout
        let m = Migrator(store: store) { () throws(ChannelError) -> MigrationChannel in
            try wrap(try TCPChannel.connect(to: address, timeout: min(timeout, 10), ioTimeout: timeout))
        }
        m.retries = retries
        // The guest's display owns the terminal while it runs: no progress bar then.
        let bar = resume ? nil : ProgressBar.ifTerminal(label: "fetch \(name)")
        m.progress = bar
        m.log = { bar?.finish(); stderrLine("capsule fetch: \($0)") }
        if demand { return try fetchOnDemand(m, store: store) }
        let stats: TransferStatistics
        do {
            stats = try m.fetch(name)
            bar?.finish()
        } catch {
            bar?.finish()
            throw CommandFailure("fetch of '\(name)' from \(from) failed: \(error)")
        }
        guard resume else { return printReport(stats, json: json) }
        stderrLine(json ? stats.json() : stats.table())
        let capsule: MachineCapsule
        do { capsule = try MachineCapsule(resuming: name, store: store) } catch {
            throw CommandFailure("cannot resume the fetched capsule '\(name)': \(error)")
        }
        try session.start(capsule.machine, capsule: capsule)
    }

    /// The transfer runs on a thread of its own while the guest runs here.
    func fetchOnDemand(_ m: Migrator, store: Store) throws {
        let demand = DemandRequests(storeRoot: store.root)
        m.demand = demand
        m.retryWhileAGuestWaits()
        let stats = TransferStatistics()
        final class Outcome: @unchecked Sendable { var error: MigrationError? }
        let outcome = Outcome()
        let finished = DispatchSemaphore(value: 0)
        let name = self.name
        let transfer = Thread {
            do throws(MigrationError) { _ = try m.fetch(name, stats: stats) } catch {
                outcome.error = error
                demand.transferFailed("\(error)")
            }
            finished.signal()
        }
        transfer.stackSize = 8 << 20
        transfer.start()
        let (capsule, arriving) = try resumeArriving(name, demand: demand, storeOptions: storeOptions,
                                                     command: "capsule fetch", transfer: "fetch of '\(name)' from \(from)")
        stats.timeToRunnable = Date().timeIntervalSince(stats.start)
        stderrLine("capsule fetch: '\(name)' runs after \(String(format: "%.2f s", stats.timeToRunnable!)); the rest arrives on demand and in the background")
        var runError: Error?
        do { try session.start(capsule.machine, capsule: capsule, arriving: arriving) } catch { runError = error }
        if !demand.committed && demand.endedWithout == nil {
            stderrLine("capsule fetch: the guest has stopped; waiting for the transfer to finish (Ctrl-C abandons it; fetch again to resume it)")
        }
        finished.wait()
        (stats.demandRequests, stats.demandWaitSeconds) = (demand.requestsSent, demand.waitedSeconds)
        if let e = outcome.error {
            stderrLine("capsule fetch: fetch of '\(name)' from \(from) failed: \(e)")
        } else {
            stderrLine(json ? stats.json() : stats.table())
        }
        if let runError { throw runError }
        if outcome.error != nil { throw ExitCode(5) }
    }
}

enum HostPortArgument {
    static func check(_ text: String, option: String) throws -> HostPort {
        do {
            let hp = try HostPort.parse(text)
            guard hp.port != 0 else { throw ValidationError("\(option): port 0 is not a peer's port") }
            return hp
        } catch let e as ChannelError { throw ValidationError("\(option): \(e)") }
    }
}

/// A failure while the command runs (not a usage mistake): printed as
/// "Error: …" without the usage text ArgumentParser adds to ValidationError.
struct CommandFailure: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}
