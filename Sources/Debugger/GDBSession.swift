import X86

/// One debugger connection: reads gdb's packets, answers them, and owns
/// the stop/continue state machine. It never runs the CPU by itself: the
/// machine advances only through `runSlice`, which the board supplies (it
/// runs devices and CPU together) and which must return after at most the
/// number of instructions it is given.
///
/// All-stop mode, one thread (the CPU, thread id 1).
public final class GDBSession {
    /// Why a session ended, i.e. what the machine's owner should do next.
    public enum End: Equatable {
        /// gdb detached (`D`): the guest should run on without a debugger.
        case detached
        /// The connection closed without a detach: treat as a detach.
        case disconnected
        /// gdb killed the target (`k`, `vKill`): stop the machine.
        case killed
        /// The guest shut down (triple fault) and gdb was told it exited.
        case exited
    }

    public let cpu: CPU
    let transport: GDBTransport
    let runSlice: (Int) -> RunOutcome
    let reverse: ReverseExecution?
    /// Instructions per `runSlice` call while continuing; the socket is
    /// polled for Ctrl-C between slices.
    public var sliceSize: Int
    /// Receives every packet in and out (for `--gdb-log` style tracing).
    public var log: ((String) -> Void)?
    /// Extra `monitor` commands from the machine's owner: gets the command
    /// line, returns its output, or nil to fall through to the built-ins.
    public var monitorExtension: ((String) -> String?)?

    private var decoder = GDBPacketDecoder()
    private var inbox: [GDBPacketDecoder.Event] = []
    private var noAck = false
    private var lastFrame: [UInt8] = []
    private var swBreakpoints = Set<UInt32>()
    private var hwBreakpoints = Set<UInt32>()
    private var watchpoints: [Watchpoint] = []
    /// Signal and reason of the last stop, for `?` (registers are re-read).
    private var lastStop: (signal: UInt8, reason: String) = (5, "")
    private var shutdownReported = false
    private var end: End?

    public init(
        cpu: CPU, transport: GDBTransport, sliceSize: Int = 100_000,
        reverse: ReverseExecution? = nil, runSlice: @escaping (Int) -> RunOutcome
    ) {
        self.cpu = cpu
        self.transport = transport
        self.sliceSize = max(1, sliceSize)
        self.reverse = reverse
        self.runSlice = runSlice
    }

    /// Serves the debugger until it detaches, kills, or goes away. Every
    /// breakpoint and watchpoint it set is removed before this returns.
    public func serve() -> End {
        while end == nil {
            guard let event = nextEvent() else {
                end = .disconnected
                break
            }
            switch event {
            case .packet(let payload):
                if !noAck { transport.send([0x2B]) }
                handle(payload)
            case .badPacket(let payload):
                if noAck { handle(payload) } else { transport.send([0x2D]) }
            case .nack:
                if !lastFrame.isEmpty { transport.send(lastFrame) }
            case .ack, .interrupt:
                break // an interrupt while stopped has nothing to stop
            }
        }
        removeAllDebugState()
        transport.close()
        return end!
    }

    // MARK: Transport

    /// The next event, waiting as long as it takes; nil once the peer closed.
    private func nextEvent() -> GDBPacketDecoder.Event? {
        while inbox.isEmpty {
            guard let bytes = transport.receive(timeoutMs: -1) else { return nil }
            inbox += decoder.feed(bytes)
        }
        return inbox.removeFirst()
    }

    private enum Poll { case nothing, interrupt, closed }

    /// Checks for Ctrl-C while the guest runs. Packets that arrive meanwhile
    /// are kept for later (gdb in all-stop mode sends none).
    private func pollInterrupt(timeoutMs: Int) -> Poll {
        // A Ctrl-C that came in the same read as the resume packet.
        if let i = inbox.firstIndex(of: .interrupt) {
            inbox.remove(at: i)
            return .interrupt
        }
        guard let bytes = transport.receive(timeoutMs: timeoutMs) else { return .closed }
        var interrupted = false
        for e in decoder.feed(bytes) {
            switch e {
            case .interrupt: interrupted = true
            case .ack: break
            case .nack: if !lastFrame.isEmpty { transport.send(lastFrame) }
            default: inbox.append(e)
            }
        }
        return interrupted ? .interrupt : .nothing
    }

    private func send(_ payload: [UInt8]) {
        log?("<- " + String(decoding: payload.prefix(200), as: UTF8.self))
        lastFrame = GDBPacket.frame(payload)
        transport.send(lastFrame)
    }

    private func send(_ payload: String) { send(Array(payload.utf8)) }

    // MARK: Dispatch

    private func handle(_ payload: [UInt8]) {
        log?("-> " + String(decoding: payload.prefix(200), as: UTF8.self))
        guard let first = payload.first else { return send("") }
        if first == UInt8(ascii: "X") { return writeBinary(payload) }
        let text = String(decoding: payload, as: UTF8.self)
        let rest = text.dropFirst()
        switch first {
        case UInt8(ascii: "?"): send(stopReply(lastStop.signal, lastStop.reason))
        case UInt8(ascii: "g"): send(GDBPacket.hexEncode(GDBRegisters.readAll(from: cpu)))
        case UInt8(ascii: "G"):
            guard let bytes = GDBPacket.hexDecode(rest) else { return send("E01") }
            send(GDBRegisters.writeAll(bytes, to: cpu) ? "OK" : "E01")
        case UInt8(ascii: "p"):
            guard let n = GDBPacket.parseHex(rest), let bytes = GDBRegisters.read(Int(n), from: cpu) else {
                return send("E01")
            }
            send(GDBPacket.hexEncode(bytes))
        case UInt8(ascii: "P"):
            let parts = rest.split(separator: "=", maxSplits: 1)
            guard parts.count == 2, let n = GDBPacket.parseHex(parts[0]), let bytes = GDBPacket.hexDecode(parts[1]) else {
                return send("E01")
            }
            send(GDBRegisters.write(Int(n), bytes, to: cpu) ? "OK" : "E01")
        case UInt8(ascii: "m"): readMemory(rest)
        case UInt8(ascii: "M"): writeHex(rest)
        case UInt8(ascii: "c"), UInt8(ascii: "C"), UInt8(ascii: "s"), UInt8(ascii: "S"):
            // c[addr], s[addr], Csig[;addr], Ssig[;addr]
            var addrText = rest
            if first == UInt8(ascii: "C") || first == UInt8(ascii: "S") {
                addrText = rest.split(separator: ";", maxSplits: 1).dropFirst().first ?? ""
            }
            if !addrText.isEmpty {
                guard let a = GDBPacket.parseHex(addrText) else { return send("E01") }
                cpu.eip = UInt32(truncatingIfNeeded: a)
            }
            resume(first == UInt8(ascii: "c") || first == UInt8(ascii: "C") ? .continue : .step)
        case UInt8(ascii: "v"): handleV(text)
        case UInt8(ascii: "Z"), UInt8(ascii: "z"): handleBreakpoint(insert: first == UInt8(ascii: "Z"), rest)
        case UInt8(ascii: "q"): handleQuery(text)
        case UInt8(ascii: "Q"):
            if text == "QStartNoAckMode" {
                send("OK")
                noAck = true
            } else {
                send("")
            }
        case UInt8(ascii: "H"), UInt8(ascii: "T"): send("OK") // one thread, always alive
        case UInt8(ascii: "k"): end = .killed
        case UInt8(ascii: "D"):
            send("OK")
            end = .detached
        case UInt8(ascii: "b"):
            guard let reverse, text == "bs" || text == "bc" else { return send("") }
            reverseExecute(reverse, step: text == "bs")
        default: send("")
        }
    }

    private func handleQuery(_ text: String) {
        if text.hasPrefix("qSupported") {
            var features = "PacketSize=4000;qXfer:features:read+;swbreak+;hwbreak+;QStartNoAckMode+"
            if reverse != nil { features += ";ReverseStep+;ReverseContinue+" }
            return send(features)
        }
        if text.hasPrefix("qXfer:features:read:") { return readFeatures(text.dropFirst("qXfer:features:read:".count)) }
        if text.hasPrefix("qRcmd,") { return monitor(text.dropFirst("qRcmd,".count)) }
        if text.hasPrefix("qThreadExtraInfo,") {
            return send(GDBPacket.hexEncode("CPU 0, \(GDBMonitor.mode(cpu))"))
        }
        if text == "qAttached" || text.hasPrefix("qAttached:") { return send("1") }
        switch text {
        case "qC": send("QC1")
        case "qfThreadInfo": send("m1")
        case "qsThreadInfo": send("l")
        case _ where text.hasPrefix("qSymbol"): send("OK")
        default: send("")
        }
    }

    private func handleV(_ text: String) {
        if text == "vCont?" { return send("vCont;c;C;s;S;r") }
        if text.hasPrefix("vKill") {
            send("OK")
            end = .killed
            return
        }
        guard text.hasPrefix("vCont;") else { return send("") }
        // Actions in order; the first one that names our thread (or none) wins.
        for action in text.dropFirst("vCont;".count).split(separator: ";") {
            let parts = action.split(separator: ":", maxSplits: 1)
            if parts.count == 2, !["1", "-1", "p1.1", "p1.-1", "p-1.-1"].contains(String(parts[1])) { continue }
            let verb = parts[0]
            switch verb.first {
            case "c", "C": return resume(.continue)
            case "s", "S": return resume(.step)
            case "r":
                let range = verb.dropFirst().split(separator: ",")
                guard range.count == 2, let lo = GDBPacket.parseHex(range[0]), let hi = GDBPacket.parseHex(range[1]) else {
                    return send("E01")
                }
                return resume(.range(UInt32(truncatingIfNeeded: lo), UInt32(truncatingIfNeeded: hi)))
            default: return send("E01")
            }
        }
        send("E01")
    }

    // MARK: Memory

    /// `m addr,len`: as many bytes as are mapped from `addr` on (a partial
    /// reply is allowed); E01 if the first byte is not.
    private func readMemory(_ args: Substring) {
        guard let (addr, len) = addressAndLength(args) else { return send("E01") }
        var out: [UInt8] = []
        var a = addr
        var remaining = len
        while remaining > 0 {
            let chunk = min(remaining, 0x1000 - Int(a & 0xFFF))
            guard let bytes = cpu.debugRead(linear: a, count: chunk) else { break }
            out += bytes
            a &+= UInt32(chunk)
            remaining -= chunk
        }
        if out.isEmpty && len > 0 { return send("E01") }
        send(GDBPacket.hexEncode(out))
    }

    private func writeHex(_ args: Substring) {
        let parts = args.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2, let (addr, len) = addressAndLength(parts[0]), let bytes = GDBPacket.hexDecode(parts[1]),
              bytes.count == len else { return send("E01") }
        send(cpu.debugWrite(linear: addr, bytes: bytes) ? "OK" : "E01")
    }

    /// `X addr,len:binary`, the data `}`-escaped.
    private func writeBinary(_ payload: [UInt8]) {
        guard let colon = payload.firstIndex(of: UInt8(ascii: ":")) else { return send("E01") }
        let header = String(decoding: payload[1..<colon], as: UTF8.self)
        let data = GDBPacket.unescape(payload[(colon + 1)...])
        guard let (addr, len) = addressAndLength(Substring(header)), data.count == len else { return send("E01") }
        if len == 0 { return send("OK") } // gdb's probe for X support
        send(cpu.debugWrite(linear: addr, bytes: data) ? "OK" : "E01")
    }

    private func addressAndLength(_ s: Substring) -> (UInt32, Int)? {
        let parts = s.split(separator: ",")
        guard parts.count == 2, let a = GDBPacket.parseHex(parts[0]), let l = GDBPacket.parseHex(parts[1]),
              l <= 1 << 20 else { return nil }
        return (UInt32(truncatingIfNeeded: a), Int(l))
    }

    // MARK: Breakpoints and watchpoints

    /// `Z type,addr,kind` / `z type,addr,kind`. Breakpoints (0, 1) become the
    /// CPU's host breakpoints: guest memory is never patched. Watchpoints
    /// (2 write, 3 read, 4 access) become host watchpoints.
    private func handleBreakpoint(insert: Bool, _ args: Substring) {
        let fields = args.split(separator: ";", maxSplits: 1)[0].split(separator: ",")
        guard fields.count == 3, let type = Int(fields[0]), let a = GDBPacket.parseHex(fields[1]),
              let size = GDBPacket.parseHex(fields[2]) else { return send("E01") }
        let addr = UInt32(truncatingIfNeeded: a)
        switch type {
        case 0, 1:
            if insert {
                if type == 0 { swBreakpoints.insert(addr) } else { hwBreakpoints.insert(addr) }
                cpu.addBreakpoint(linear: addr)
            } else {
                if type == 0 { swBreakpoints.remove(addr) } else { hwBreakpoints.remove(addr) }
                if !swBreakpoints.contains(addr) && !hwBreakpoints.contains(addr) { cpu.removeBreakpoint(linear: addr) }
            }
            send("OK")
        case 2, 3, 4:
            guard size >= 1, size <= 1 << 20 else { return send("E01") }
            let kind: Watchpoint.Kind = type == 2 ? .write : type == 3 ? .read : .access
            let w = Watchpoint(address: addr, length: UInt32(size), kind: kind)
            if insert {
                if !watchpoints.contains(w) { cpu.addWatchpoint(w) }
                watchpoints.append(w)
            } else if let i = watchpoints.firstIndex(of: w) {
                watchpoints.remove(at: i)
                if !watchpoints.contains(w) { cpu.removeWatchpoint(w) }
            }
            send("OK")
        default:
            send("")
        }
    }

    private func removeAllDebugState() {
        for a in swBreakpoints.union(hwBreakpoints) { cpu.removeBreakpoint(linear: a) }
        for w in Set(watchpoints) { cpu.removeWatchpoint(w) }
        swBreakpoints = []
        hwBreakpoints = []
        watchpoints = []
        cpu.skipBreakpointOnce = false
    }

    // MARK: Running

    enum Resume: Equatable {
        case `continue`
        case step
        /// vCont `r`: step while EIP stays in start..<end.
        case range(UInt32, UInt32)
    }

    private enum Verdict { case keepGoing, stop(UInt8, String), exit(String) }

    private func resume(_ how: Resume) {
        // Resuming from a breakpoint at the current PC runs its instruction.
        cpu.skipBreakpointOnce = cpu.breakpoints.contains(cpu.linearPC)
        var steps = 0
        while true {
            let before = cpu.instructionCount
            let outcome = runSlice(how == .continue ? sliceSize : 1)
            var verdict = classify(outcome, stepping: how != .continue)
            if case .range(let lo, let hi) = how, case .stop = verdict, outcome == .instructionLimit,
               cpu.eip >= lo, cpu.eip < hi {
                verdict = .keepGoing
            }
            switch verdict {
            case .stop(let signal, let reason):
                lastStop = (signal, reason)
                return send(stopReply(signal, reason))
            case .exit(let reply):
                send(reply)
                end = .exited
                return
            case .keepGoing:
                break
            }
            steps += 1
            if how != .continue && steps % 4096 != 0 { continue }
            let idle = outcome == .halted && cpu.instructionCount == before
            switch pollInterrupt(timeoutMs: idle ? 10 : 0) {
            case .nothing: break
            case .closed:
                end = .disconnected
                return
            case .interrupt:
                lastStop = (2, "")
                return send(stopReply(2))
            }
        }
    }

    /// What a run outcome means for gdb.
    private func classify(_ outcome: RunOutcome, stepping: Bool) -> Verdict {
        switch outcome {
        case .instructionLimit:
            return stepping ? .stop(5, "") : .keepGoing
        case .reachedEIP:
            return .stop(5, "")
        case .breakpoint:
            let pc = cpu.linearPC
            if swBreakpoints.contains(pc) { return .stop(5, "swbreak:;") }
            if hwBreakpoints.contains(pc) { return .stop(5, "hwbreak:;") }
            // The host asked the CPU to stop (signal, console): like Ctrl-C.
            return .stop(cpu.stopRequestedByHost ? 2 : 5, "")
        case .watchpoint(let address):
            return .stop(5, watchReason(address))
        case .halted:
            // HLT with interrupts off waits forever: show where. With them
            // on, the board's clock brings the next interrupt.
            if stepping || cpu.eflags & EFlags.if == 0 { return .stop(5, "") }
            return .keepGoing
        case .shutdown:
            // First show the state at the triple fault; resuming ends it.
            if !shutdownReported {
                shutdownReported = true
                return .stop(6, "")
            }
            return .exit("X06")
        case .exception(let vector, _):
            return .stop(Self.signal(forVector: vector), "")
        }
    }

    /// The Unix signal gdb shows for an exception vector.
    static func signal(forVector v: UInt8) -> UInt8 {
        switch v {
        case 0, 16, 19: return 8 // SIGFPE
        case 1, 3: return 5 // SIGTRAP
        case 6: return 4 // SIGILL
        case 7: return 8
        default: return 11 // SIGSEGV: #TS #NP #SS #GP #PF #AC and the rest
        }
    }

    /// `T` stop reply with the thread and the registers gdb reads first
    /// (esp, ebp, eip) so a step needs no extra round trip.
    private func stopReply(_ signal: UInt8, _ reason: String = "") -> String {
        var r = "T" + GDBPacket.hexEncode([signal]) + reason + "thread:1;"
        for n in [4, 5, 8] {
            r += GDBPacket.hexEncode([UInt8(n)]) + ":" + GDBPacket.hexEncode(GDBRegisters.read(n, from: cpu)!) + ";"
        }
        return r
    }

    /// The stop reason gdb expects for a watchpoint at `address`.
    private func watchReason(_ address: UInt32) -> String {
        let kinds = watchpoints.filter { $0.address == address }.map(\.kind)
        let name = kinds.contains(.write) ? "watch" : kinds.contains(.read) ? "rwatch" : "awatch"
        return "\(name):\(String(address, radix: 16));"
    }

    private func reverseExecute(_ reverse: ReverseExecution, step: Bool) {
        let reason: String
        if step {
            reason = reverse.reverseStep() ? "" : "replaylog:begin;"
        } else {
            switch reverse.reverseContinue(breakpoints: cpu.breakpoints, watchpoints: Array(Set(watchpoints))) {
            case .historyBegin:
                reason = "replaylog:begin;"
            case .breakpoint:
                let pc = cpu.linearPC
                reason = hwBreakpoints.contains(pc) && !swBreakpoints.contains(pc) ? "hwbreak:;" : "swbreak:;"
            case .watchpoint(let address):
                reason = watchReason(address)
            }
        }
        lastStop = (5, reason)
        send(stopReply(5, reason))
    }

    // MARK: qXfer and monitor

    /// `qXfer:features:read:ANNEX:offset,length` → `m…` (more) or `l…` (last).
    private func readFeatures(_ args: Substring) {
        let parts = args.split(separator: ":", maxSplits: 1)
        guard parts.count == 2 else { return send("E00") }
        guard parts[0] == "target.xml" else { return send("E00") }
        guard let (offset, length) = addressAndLength(parts[1]) else { return send("E00") }
        let xml = Array(GDBRegisters.targetXML.utf8)
        let start = min(Int(offset), xml.count)
        let stop = min(start + length, xml.count)
        let marker = UInt8(ascii: stop >= xml.count ? "l" : "m")
        send([marker] + GDBPacket.escape(Array(xml[start..<stop])))
    }

    /// `qRcmd,HEX`: runs a monitor command; its output goes back as `O`
    /// packets, then `OK`.
    private func monitor(_ hex: Substring) {
        guard let bytes = GDBPacket.hexDecode(hex) else { return send("E01") }
        let line = String(decoding: bytes, as: UTF8.self)
        let output = monitorExtension?(line) ?? GDBMonitor.run(line, cpu: cpu)
            ?? "unknown monitor command '\(line)'; try 'monitor help'\n"
        var rest = Array(output.utf8)[...]
        while !rest.isEmpty {
            let chunk = rest.prefix(1024)
            rest = rest.dropFirst(chunk.count)
            send("O" + GDBPacket.hexEncode(chunk))
        }
        send("OK")
    }
}
