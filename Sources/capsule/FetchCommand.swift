import ArgumentParser
import Capsule
import Foundation
import Migration

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
