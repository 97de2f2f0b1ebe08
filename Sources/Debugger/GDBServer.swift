import X86

/// The GDB remote-protocol server: a listening socket plus one session at
/// a time. It lives inside the machine's run loop, on the same thread:
///
///     let gdb = try GDBServer(cpu: machine.cpu, port: 1234) { n in machine.runSlice(n) }
///     if wait { end = gdb.waitForDebugger() }         // --gdb-wait: gdb drives from the start
///     while running {
///         if let end = gdb.poll(), end == .killed || end == .exited { break }
///         ... the machine's own slice ...
///     }
///
/// While a debugger is attached the server runs the machine only through
/// `runSlice`, as gdb asks (continue, step), and returns to the caller when
/// the debugger detaches, disconnects, kills, or sees the guest exit.
public final class GDBServer {
    public let cpu: CPU
    public let listener: GDBListener
    public var runSlice: (Int) -> RunOutcome
    public var reverse: ReverseExecution?
    /// Instructions per slice while gdb has the guest running.
    public var sliceSize = 100_000
    /// Packet trace, if wanted.
    public var log: ((String) -> Void)?

    /// The TCP port actually bound (the one asked for, or a free one for 0).
    public var port: UInt16 { listener.port }

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
        guard let connection = listener.accept(timeoutMs: timeoutMs) else { return nil }
        return serve(connection)
    }

    /// Non-blocking: if a debugger is knocking, stops the guest and serves it
    /// until the session ends. nil when nobody came. Cheap enough to call
    /// between every slice of the machine's own run loop.
    public func poll() -> GDBSession.End? {
        guard let connection = listener.accept(timeoutMs: 0) else { return nil }
        return serve(connection)
    }

    /// Serves one debugger over any transport.
    public func serve(_ transport: GDBTransport) -> GDBSession.End {
        let session = GDBSession(cpu: cpu, transport: transport, sliceSize: sliceSize, reverse: reverse, runSlice: runSlice)
        session.log = log
        return session.serve()
    }

    public func close() { listener.close() }
}
