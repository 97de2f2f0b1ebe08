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
