import PC
import X86

/// The command language of `capsule debug`, shared by the prompt, script
/// files and the TUI. Every command returns its whole output as text, and
/// the text depends only on the machine state, so a script's transcript is
/// the same on every run (tests compare it).
public final class DebugCommands {
    public let debugger: MachineDebugger
    var cpu: CPU { debugger.cpu }
    /// Registers at the previous stop: `registers` marks what changed since.
    public private(set) var previous: RegisterSnapshot?
    /// The SHA-256 of the complete machine state (supplied by the CLI,
    /// which links the capsule layer).
    public var stateHash: (() -> String)?
    /// Describes the current instruction: its text (nil: no disassembler).
    public var disassemble: ((CPU, UInt32) -> (text: String, length: Int)?)?
    /// The decoded fields of the instruction at a linear address.
    public var decodeFields: ((CPU, UInt32) -> String?)?
    /// COM1 output seen so far (the `screen` view shows its tail).
    public var serialOutput: [UInt8] = []

    public init(debugger: MachineDebugger) {
        self.debugger = debugger
        previous = RegisterSnapshot(debugger.cpu)
    }

    public struct Result {
        public var output: String
        public var quit = false
    }

    public static let help = """
        run control: step [N] | next | continue [N] | run-to ADDR | reverse-step [N] | reverse-continue
        stops:       break ADDR | break physical ADDR | break io PORT | break vector N | break mode
                     (address breakpoints take a condition: break ADDR if REG==VALUE or REG!=VALUE)
                     watch [read|write|access] ADDR [LEN] | delete N|all | list
        views:       registers | x/NF ADDR | xp/NF PADDR (F: b h w) | stack [N] | segments
                     gdt [N] | ldt [N] | idt [N] | page ADDR | pagedir | decode | disasm [N] | screen | serial [N]
        other:       set REG VALUE | input TEXT | trace FILE|off | hash | echo TEXT | help | quit
        ADDR: linear (0x hex or decimal) or SEG:OFF (hex, through the segment's base)
        """

    /// Runs one command line.
    public func execute(_ line: String) -> Result {
        let trimmed = line.trimmingSpaces()
        if trimmed.isEmpty || trimmed.hasPrefix("#") { return Result(output: "") }
        let words = trimmed.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        let verb = words[0], args = Array(words.dropFirst())
        do {
            switch verb {
            case "step", "s", "stepi", "si":
                let n = try count(args, default: 1)
                return Result(output: run { debugger.step(n) })
            case "next", "n", "step-over", "nexti", "ni":
                return Result(output: run { debugger.next() })
            case "continue", "c", "cont":
                let limit = try args.isEmpty ? UInt64.max : count(args, default: 1)
                return Result(output: run { debugger.continueRunning(limit: limit) })
            case "run-to", "until", "u":
                guard args.count == 1 else { throw DebuggerError("usage: run-to ADDR") }
                let a = try address(args[0])
                return Result(output: run { debugger.runTo(linear: a) })
            case "reverse-step", "rs", "reverse-stepi", "rsi":
                let n = try count(args, default: 1)
                return Result(output: try runThrowing { try debugger.reverseStep(n) })
            case "reverse-continue", "rc":
                return Result(output: try runThrowing { try debugger.reverseContinue() })
            case "break", "b":
                return Result(output: try breakCommand(args))
            case "watch", "rwatch", "awatch":
                return Result(output: try watchCommand(verb, args))
            case "delete", "d":
                return Result(output: try deleteCommand(args))
            case "list", "info":
                return Result(output: listBreakpoints())
            case "registers", "regs", "r":
                return Result(output: DebugViews.registers(cpu, previous: previous))
            case "stack":
                return Result(output: DebugViews.stack(cpu, count: try Int(count(args, default: 8))))
            case "segments", "sregs":
                return Result(output: DebugViews.segments(cpu))
            case "gdt":
                return Result(output: DebugViews.table(cpu, name: "GDT", base: cpu.gdtrBase, limit: cpu.gdtrLimit,
                                                        maxEntries: try Int(count(args, default: 16))))
            case "ldt":
                let l = cpu.segment(6)
                return Result(output: "LDTR \(hexPad(l.selector, 4))\n" + DebugViews.table(cpu, name: "LDT", base: l.base, limit: l.limit,
                                                                                          maxEntries: try Int(count(args, default: 16))))
            case "idt":
                return Result(output: DebugViews.table(cpu, name: "IDT", base: cpu.idtrBase, limit: cpu.idtrLimit,
                                                        maxEntries: try Int(count(args, default: 32)), idt: true))
            case "page":
                guard args.count == 1 else { throw DebuggerError("usage: page ADDR") }
                return Result(output: PageTables(cpu: cpu).walk(try address(args[0])))
            case "pagedir":
                return Result(output: PageTables(cpu: cpu).directory())
            case "decode", "fields":
                guard let decodeFields else { throw DebuggerError("decode needs the instruction decoder, which this build lacks") }
                return Result(output: decodeFields(cpu, cpu.linearPC) ?? "cannot decode at \(hex32(cpu.linearPC))\n")
            case "disasm", "disassemble":
                return Result(output: try disasm(count: Int(count(args, default: 8))))
            case "screen":
                return Result(output: screenText())
            case "serial":
                let n = try Int(count(args, default: 20))
                let lines = String(decoding: serialOutput, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
                return Result(output: lines.suffix(n).map { $0.filter { $0 != "\r" } }.joined(separator: "\n") + "\n")
            case "set":
                return Result(output: try setRegister(args))
            case "input", "type":
                let text = trimmed.dropFirst(verb.count).trimmingSpaces()
                debugger.typeSerial(Array(unescape(text).utf8))
                return Result(output: "queued \(unescape(text).utf8.count) bytes for COM1\n")
            case "trace":
                return Result(output: try traceCommand(args))
            case "hash", "state-hash":
                guard let stateHash else { throw DebuggerError("no state hash in this build") }
                return Result(output: "state-hash \(stateHash())\n")
            case "echo":
                return Result(output: String(trimmed.dropFirst(4).trimmingSpaces()) + "\n")
            case "help", "h", "?":
                return Result(output: DebugCommands.help + "\n")
            case "quit", "q", "exit":
                return Result(output: "", quit: true)
            default:
                if verb.hasPrefix("x/") || verb.hasPrefix("xp/") || verb == "x" || verb == "xp" {
                    return Result(output: try examine(verb, args))
                }
                throw DebuggerError("unknown command '\(verb)'; try 'help'")
            }
        } catch {
            return Result(output: "error: \(error)\n")
        }
    }

    // MARK: Running

    private func run(_ body: () throws -> MachineDebugger.Stop) rethrows -> String {
        let before = RegisterSnapshot(cpu)
        let stop = try body()
        previous = before
        return report(stop)
    }

    private func runThrowing(_ body: () throws -> MachineDebugger.Stop) throws -> String { try run(body) }

    /// One line saying why and where the machine stopped.
    public func report(_ stop: MachineDebugger.Stop) -> String {
        let why: String
        switch stop {
        case .stepped: why = "stepped"
        case .breakpoint(let id): why = "breakpoint \(id) (\(describe(id)))"
        case .watchpoint(let id, let a, let prev):
            why = "watchpoint \(id) (\(describe(id))) at \(hex32(a)) by the instruction at linear \(hex32(prev))"
        case .event(let id, let e):
            switch e {
            case .modeChange(let from, let to): why = "mode change \(from) -> \(to) (breakpoint \(id))"
            case .vector(let v, let external): why = "vector \(hex8(v)) delivered (\(external ? "hardware interrupt" : "exception or INT")) (breakpoint \(id))"
            case .ioPort(let p, let w, let write, let v):
                why = "io port \(hex16(p)) \(write ? "write" : "read") \(hex(v)) width \(w) (breakpoint \(id))"
            }
        case .interrupted: why = "interrupted"
        case .halted(let text): why = text
        case .limit: why = "instruction limit"
        case .reachedAddress: why = "reached"
        case .reverseBegin: why = "start of recorded history"
        }
        var line = "stopped: \(why) at \(hexPad(cpu.segment(1).selector, 4)):\(hexPad(cpu.eip, 8)) linear \(hex32(cpu.linearPC)) icount \(cpu.instructionCount)"
        if let d = disassemble?(cpu, cpu.linearPC) { line += "\n  " + d.text }
        return line + "\n"
    }

    private func describe(_ id: Int) -> String {
        debugger.breakpoints.first { $0.id == id }?.description ?? "temporary"
    }

    // MARK: Stops

    private func breakCommand(_ allArgs: [String]) throws -> String {
        var args = allArgs
        var condition: DebugBreakpoint.Condition?
        if let i = args.firstIndex(of: "if") {
            guard i + 1 < args.count else { throw DebuggerError("usage: break ... if REG==VALUE (or REG!=VALUE)") }
            condition = try parseCondition(args[(i + 1)...].joined())
            args = Array(args[..<i])
        }
        guard let first = args.first else { throw DebuggerError("usage: break ADDR | physical ADDR | io PORT | vector N | mode") }
        let kind: DebugBreakpoint.Kind
        switch first {
        case "mode", "mode-change":
            kind = .modeChange
        case "linear":
            guard args.count == 2 else { throw DebuggerError("usage: break linear ADDR") }
            kind = .linear(try address(args[1]))
        case "physical", "phys", "p":
            guard args.count == 2 else { throw DebuggerError("usage: break physical ADDR") }
            kind = .physical(try number(args[1]))
        case "io", "port":
            guard args.count == 2, let p = UInt16(exactly: try number(args[1])) else { throw DebuggerError("usage: break io PORT (0...0xffff)") }
            kind = .ioPort(p)
        case "vector", "int", "exception":
            guard args.count == 2, let v = UInt8(exactly: try number(args[1])) else { throw DebuggerError("usage: break vector N (0...255)") }
            kind = .vector(v)
        default:
            guard args.count == 1 else { throw DebuggerError("usage: break ADDR") }
            kind = .linear(try address(first))
        }
        if condition != nil {
            switch kind {
            case .linear, .physical: break
            default: throw DebuggerError("conditions apply to address breakpoints only")
            }
        }
        let b = debugger.add(kind, condition: condition)
        return "breakpoint \(b.id): \(b.description)\n"
    }

    private func parseCondition(_ text: String) throws -> DebugBreakpoint.Condition {
        let equal = text.contains("==")
        let parts = text.split(separator: equal ? "==" : "!=", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 2, text.contains("==") || text.contains("!=") else {
            throw DebuggerError("condition '\(text)': use REG==VALUE or REG!=VALUE")
        }
        let reg = parts[0].lowercased().replacingPrefix("$")
        guard RegisterSnapshot(cpu).value(reg) != nil else { throw DebuggerError("condition: unknown register '\(parts[0])'") }
        return DebugBreakpoint.Condition(register: reg, equal: equal, value: try number(parts[1]))
    }

    private func watchCommand(_ verb: String, _ args: [String]) throws -> String {
        var rest = args[...]
        var kind: Watchpoint.Kind = verb == "rwatch" ? .read : verb == "awatch" ? .access : .write
        if let f = rest.first, ["read", "write", "access", "r", "w", "rw"].contains(f) {
            kind = f.hasPrefix("a") || f == "rw" ? .access : f.hasPrefix("r") ? .read : .write
            rest = rest.dropFirst()
        }
        guard let a = rest.first, rest.count <= 2 else { throw DebuggerError("usage: watch [read|write|access] ADDR [LEN]") }
        let length = try rest.count == 2 ? number(rest.last!) : 1
        guard (1...4096).contains(length) else { throw DebuggerError("watch length must be 1...4096 bytes") }
        let b = debugger.add(.watch(Watchpoint(address: try address(a), length: length, kind: kind)))
        return "watchpoint \(b.id): \(b.description)\n"
    }

    private func deleteCommand(_ args: [String]) throws -> String {
        guard args.count == 1 else { throw DebuggerError("usage: delete N | all") }
        if args[0] == "all" {
            let ids = debugger.breakpoints.map(\.id)
            for id in ids { _ = debugger.delete(id: id) }
            return "deleted \(ids.count)\n"
        }
        guard let id = Int(args[0]) else { throw DebuggerError("delete: '\(args[0])' is not a breakpoint number") }
        guard debugger.delete(id: id) else { throw DebuggerError("no breakpoint \(id)") }
        return "deleted \(id)\n"
    }

    private func listBreakpoints() -> String {
        if debugger.breakpoints.isEmpty { return "no breakpoints\n" }
        return debugger.breakpoints.map { "\($0.id): \($0.description)\n" }.joined()
    }

    // MARK: Views

    private func examine(_ verb: String, _ args: [String]) throws -> String {
        let physical = verb.hasPrefix("xp")
        let spec = verb.split(separator: "/", maxSplits: 1).dropFirst().first.map(String.init) ?? ""
        var digits = "", unit = 1
        for ch in spec {
            if ch.isNumber { digits.append(ch); continue }
            switch ch {
            case "b": unit = 1
            case "h": unit = 2
            case "w": unit = 4
            case "x": break
            default: throw DebuggerError("x/: unknown format '\(ch)' (use b, h or w)")
            }
        }
        let n = digits.isEmpty ? 16 : Int(digits) ?? 16
        guard n > 0 && n <= 65536 else { throw DebuggerError("x/: count must be 1...65536") }
        guard args.count == 1 else { throw DebuggerError("usage: \(physical ? "xp" : "x")/NF ADDR") }
        let a = physical ? try number(args[0]) : try address(args[0])
        return DebugViews.memory(cpu, address: a, count: n, unit: unit, physical: physical)
    }

    private func disasm(count: Int) throws -> String {
        guard let disassemble else { throw DebuggerError("disasm needs the disassembler, which this build lacks") }
        var out = ""
        var a = cpu.linearPC
        for _ in 0..<count {
            guard let d = disassemble(cpu, a) else {
                out += "\(hexPad(a, 8)): (unmapped or undecodable)\n"
                break
            }
            out += "\(hexPad(a, 8)): \(d.text)\n"
            a &+= UInt32(d.length)
        }
        return out
    }

    /// The VGA text screen (trailing blanks trimmed) and the serial tail.
    public func screenText(rows: Int = 25) -> String {
        let cells = debugger.machine.textScreen(rows: rows)
        let cols = debugger.machine.vga.columns
        var out = ""
        for r in 0..<rows {
            var line = ""
            for c in 0..<cols {
                let ch = UInt8(cells[r * cols + c] & 0xFF)
                line.append(ch >= 0x20 && ch < 0x7F ? Character(UnicodeScalar(ch)) : " ")
            }
            out += line.trimmingTrailingSpaces() + "\n"
        }
        return out
    }

    private func setRegister(_ args: [String]) throws -> String {
        guard args.count == 2 else { throw DebuggerError("usage: set REG VALUE") }
        let v = try number(args[1])
        let gprs = ["eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi"]
        if let i = gprs.firstIndex(of: args[0]) {
            cpu.setGPR(i, v)
        } else if args[0] == "eip" {
            cpu.eip = v
        } else if args[0] == "eflags" {
            cpu.setEflagsForDebugger(v)
        } else {
            throw DebuggerError("set: unknown register '\(args[0])' (general registers, eip, eflags)")
        }
        debugger.stateEdited()
        return "\(args[0]) = \(hex32(v))\n"
    }

    private func traceCommand(_ args: [String]) throws -> String {
        guard args.count == 1 else { throw DebuggerError("usage: trace FILE | off") }
        if args[0] == "off" {
            guard let t = debugger.trace else { return "no trace\n" }
            t.close()
            debugger.trace = nil
            return "trace off: \(t.lines) instructions in \(t.path)\n"
        }
        debugger.trace?.close()
        let t = try InstructionTrace(path: args[0])
        if let disassemble { t.describe = { cpu in disassemble(cpu, cpu.linearPC)?.text } }
        debugger.trace = t
        return "tracing to \(args[0])\n"
    }

    // MARK: Parsing

    private func count(_ args: [String], default d: UInt64) throws -> UInt64 {
        guard let a = args.first else { return d }
        guard args.count == 1 else { throw DebuggerError("expected one number, got \(args.joined(separator: " "))") }
        let v = try parseNumber(a)
        guard v > 0 else { throw DebuggerError("count must be at least 1") }
        return v
    }

    private func number(_ s: String) throws -> UInt32 {
        let v = try parseNumber(s)
        guard let r = UInt32(exactly: v) else { throw DebuggerError("'\(s)' does not fit in 32 bits") }
        return r
    }

    private func parseNumber(_ s: String) throws -> UInt64 {
        let lower = s.lowercased()
        let v: UInt64?
        if lower.hasPrefix("0x") { v = UInt64(lower.dropFirst(2), radix: 16) } else if lower.hasSuffix("h") { v = UInt64(lower.dropLast(), radix: 16) } else { v = UInt64(lower) }
        guard let v else { throw DebuggerError("'\(s)' is not a number (0x1f, 1fh or 31)") }
        return v
    }

    /// Linear address: a number, SEG:OFF in hex (through the segment base
    /// for real/V86 mode selectors: SEG × 16), or a register name.
    func address(_ s: String) throws -> UInt32 {
        if let colon = s.firstIndex(of: ":") {
            let segText = s[..<colon], offText = s[s.index(after: colon)...]
            let segNames = ["es", "cs", "ss", "ds", "fs", "gs"]
            let base: UInt32
            if let i = segNames.firstIndex(of: segText.lowercased()) {
                base = cpu.segment(i).base
            } else if let sel = UInt32(segText.lowercased().replacingPrefix("0x"), radix: 16), sel <= 0xFFFF {
                let mode = cpu.executionMode
                if !mode.protected || mode.v86 { base = sel << 4 } else if let i = (0..<6).first(where: { UInt32(cpu.segment($0).selector) == sel }) {
                    base = cpu.segment(i).base
                } else {
                    throw DebuggerError("selector \(hexPad(sel, 4)) is not loaded in a segment register; use a linear address")
                }
            } else {
                throw DebuggerError("'\(segText)' is not a segment")
            }
            guard let off = UInt32(offText.lowercased().replacingPrefix("0x"), radix: 16) else { throw DebuggerError("'\(offText)' is not a hex offset") }
            return base &+ off
        }
        if let v = RegisterSnapshot(cpu).value(s.lowercased().replacingPrefix("$")) { return v }
        return try number(s)
    }

    private func unescape(_ s: Substring) -> String {
        var out = ""
        var escaping = false
        for ch in s {
            if escaping {
                switch ch {
                case "n": out.append("\n")
                case "r": out.append("\r")
                case "t": out.append("\t")
                default: out.append(ch)
                }
                escaping = false
            } else if ch == "\\" {
                escaping = true
            } else {
                out.append(ch)
            }
        }
        return out
    }
}

extension StringProtocol {
    func trimmingSpaces() -> Substring {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" || f == "\r" || f == "\n" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" || l == "\r" || l == "\n" { s = s.dropLast() }
        return s
    }

    func trimmingTrailingSpaces() -> String {
        var s = Substring(self)
        while s.last == " " { s = s.dropLast() }
        return String(s)
    }

    func replacingPrefix(_ p: String) -> String { hasPrefix(p) ? String(dropFirst(p.count)) : String(self) }
}
