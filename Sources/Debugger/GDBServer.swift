import PC
import X86

/// The GDB remote-protocol server: a listening socket plus one session at
/// a time. It lives inside the machine's run loop, on the same thread, and
/// runs the machine only through `runSlice` while a debugger is attached:
///
///     let gdb = try GDBServer(machine: machine, port: 1234)
///     if wait, let end = gdb.waitForDebugger() { ... }   // --gdb-wait
///     machine.onSliceBoundary = { ...; if gdb.hasPendingConnection { machine.cpu.requestStop() } }
///     while true {
///         let reason = machine.run(instructions: ...)
///         if reason == .stopRequested, let end = gdb.poll() {
///             if end == .killed || end == .exited { break }   // gdb ended the machine
///             continue                                       // detached: run on
///         }
///         ...
///     }
///
/// A session returns when the debugger detaches, disconnects, kills, or
/// sees the guest exit; every breakpoint and watchpoint it set is gone.
public final class GDBServer {
    public let cpu: CPU
    public let listener: GDBListener
    public var runSlice: (Int) -> RunOutcome
    public var reverse: ReverseExecution?
    /// Instructions per slice while gdb has the guest running.
    public var sliceSize = 100_000
    /// Packet trace, if wanted.
    public var log: ((String) -> Void)?
    /// Extra `monitor` commands (see `GDBSession.monitorExtension`).
    public var monitorExtension: ((String) -> String?)?

    /// The TCP port actually bound (the one asked for, or a free one for 0).
    public var port: UInt16 { listener.port }

    /// True while a session runs (the machine is then gdb's to drive).
    public private(set) var isServing = false

    /// A debugger is waiting to be accepted (checked without accepting).
    /// Cheap: meant for the board's slice-boundary hook, which can then
    /// `requestStop()` so the run loop comes back and calls `poll()`.
    public var hasPendingConnection: Bool { !isServing && listener.hasPendingConnection }

    /// Listens on `host:port` (loopback by default; pass e.g. "0.0.0.0" to
    /// accept debuggers from other hosts). Throws if the port is taken.
    public init(
        cpu: CPU, host: String = "127.0.0.1", port: UInt16, reverse: ReverseExecution? = nil,
        runSlice: @escaping (Int) -> RunOutcome
    ) throws {
        self.cpu = cpu
        self.listener = try GDBListener(host: host, port: port)
        self.reverse = reverse
        self.runSlice = runSlice
    }

    /// Blocks until a debugger connects (at most `timeoutMs`, negative for
    /// ever), then serves it until the session ends. nil on timeout.
    public func waitForDebugger(timeoutMs: Int = -1) -> GDBSession.End? {
        guard !isServing, let connection = listener.accept(timeoutMs: timeoutMs) else { return nil }
        return serve(connection)
    }

    /// Non-blocking: if a debugger is knocking, stops the guest and serves it
    /// until the session ends. nil when nobody came. Cheap enough to call
    /// between every slice of the machine's own run loop.
    public func poll() -> GDBSession.End? {
        guard !isServing, let connection = listener.accept(timeoutMs: 0) else { return nil }
        return serve(connection)
    }

    /// Serves one debugger over any transport.
    public func serve(_ transport: GDBTransport) -> GDBSession.End {
        let session = GDBSession(cpu: cpu, transport: transport, sliceSize: sliceSize, reverse: reverse, runSlice: runSlice)
        session.log = log
        session.monitorExtension = monitorExtension
        isServing = true
        defer { isServing = false }
        return session.serve()
    }

    public func close() { listener.close() }

    /// Parses a `--gdb` value: `PORT`, `:PORT`, `HOST:PORT` or `[IPv6]:PORT`.
    /// A bare port listens on 127.0.0.1 only.
    public static func listenAddress(_ spec: String) -> (host: String, port: UInt16)? {
        var host = "127.0.0.1"
        var portText = Substring(spec)
        if let colon = spec.lastIndex(of: ":") {
            var h = spec[..<colon]
            portText = spec[spec.index(after: colon)...]
            if h.hasPrefix("["), h.hasSuffix("]") { h = h.dropFirst().dropLast() }
            if !h.isEmpty { host = String(h) }
        }
        guard let port = UInt16(portText) else { return nil }
        return (host, port)
    }
}

extension GDBServer {
    /// A server for a whole PC: gdb's continue and step run devices, timers
    /// and CPU together through `Machine.run(instructions:)`.
    public convenience init(machine: Machine, host: String = "127.0.0.1", port: UInt16, reverse: ReverseExecution? = nil) throws {
        try self.init(cpu: machine.cpu, host: host, port: port, reverse: reverse, runSlice: GDBServer.runSlice(for: machine))
    }

    /// A server whose reverse commands go back through `engine`: every
    /// forward slice gdb asks for runs under the engine, which checkpoints.
    public convenience init(machine: Machine, host: String = "127.0.0.1", port: UInt16, reverseEngine engine: ReverseEngine) throws {
        let slice = GDBServer.runSlice(for: machine)
        try self.init(cpu: machine.cpu, host: host, port: port, reverse: engine) { n in engine.forward { slice(n) } }
    }

    /// `Machine.run(instructions:)` as a `runSlice` closure.
    public static func runSlice(for machine: Machine) -> (Int) -> RunOutcome {
        { n in
            switch machine.run(instructions: UInt64(n)) {
            case .instructionLimit: return .instructionLimit
            // With IF clear the session stops; "forever" still waits for host
            // input (and Ctrl-C), polling gently.
            case .haltedWithInterruptsDisabled, .haltedForever: return .halted
            case .shutdown: return .shutdown
            case .breakpoint, .stopRequested: return .breakpoint
            case .watchpoint(let a): return .watchpoint(address: a)
            }
        }
    }
}
