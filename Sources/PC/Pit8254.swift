/// The Intel 8254 programmable interval timer at 0x40–0x43, clocked at
/// 1.193182 MHz, and port 0x61 (`SystemControlPortB`).
///
/// Nothing here ticks. A counter remembers the input-clock tick at which
/// its counting element was last loaded (a `Segment`); its value and OUT
/// level at any later tick are computed arithmetically from that. Only the
/// transitions of a counter that has an `out` listener (channel 0 → IRQ0)
/// are scheduled as events, one per OUT edge.
public final class Pit8254: PortDevice {
    /// Input clock in Hz (14.31818 MHz / 12, rounded).
    public static let clockHz: UInt64 = 1_193_182

    public let scheduler: EventScheduler
    public let counters: [PitCounter]

    public init(scheduler: EventScheduler) {
        self.scheduler = scheduler
        counters = (0..<3).map { PitCounter(index: $0) }
        for c in counters { c.pit = self }
        counters[2].gate = false // port 0x61 bit 0 is clear at power-on
    }

    /// Called with the new level of channel 0's OUT (wire to IRQ0).
    public var irq0: ((Bool) -> Void)? {
        get { counters[0].out }
        set { counters[0].out = newValue; counters[0].reschedule() }
    }

    // MARK: Virtual time

    /// The input-clock tick count at virtual time `ns`.
    public static func tick(atNanoseconds ns: UInt64) -> UInt64 {
        let p = ns.multipliedFullWidth(by: clockHz)
        return UInt64(1_000_000_000).dividingFullWidth((high: p.high, low: p.low)).quotient
    }

    /// The first virtual nanosecond at which tick `k` has been reached.
    public static func nanoseconds(atTick k: UInt64) -> UInt64 {
        let p = k.multipliedFullWidth(by: 1_000_000_000)
        let (q, r) = clockHz.dividingFullWidth((high: p.high, low: p.low))
        return r == 0 ? q : q + 1
    }

    var nowTick: UInt64 { Pit8254.tick(atNanoseconds: scheduler.now) }

    // MARK: Gates and OUT pins

    /// Sets the GATE input of counter `i` (only channel 2's is wired on a PC).
    public func setGate(_ i: Int, _ level: Bool) { counters[i].setGate(level, at: nowTick) }

    /// The OUT level of counter `i` now.
    public func outLevel(_ i: Int) -> Bool { counters[i].state(at: nowTick).out }

    /// The current count of counter `i` (as the counting element holds it, binary).
    public func currentCount(_ i: Int) -> UInt32 { counters[i].state(at: nowTick).value }

    // MARK: Ports

    public func portRead(_ port: UInt16, width: Int) -> UInt32 {
        switch port {
        case 0x40, 0x41, 0x42: return UInt32(counters[Int(port - 0x40)].read(at: nowTick))
        default: return 0xFF // the control word register cannot be read
        }
    }

    public func portWrite(_ port: UInt16, width: Int, value: UInt32) {
        let v = UInt8(truncatingIfNeeded: value)
        let t = nowTick
        switch port {
        case 0x40, 0x41, 0x42: counters[Int(port - 0x40)].writeCount(v, at: t)
        case 0x43:
            let sc = Int(v >> 6)
            if sc == 3 {
                // Read-back: bit 5 clear latches counts, bit 4 clear latches status.
                for i in 0..<3 where v & (2 << i) != 0 {
                    if v & 0x10 == 0 { counters[i].latchStatus(at: t) }
                    if v & 0x20 == 0 { counters[i].latchCount(at: t) }
                }
            } else if v & 0x30 == 0 {
                counters[sc].latchCount(at: t)
            } else {
                counters[sc].control(v, at: t)
            }
        default: break
        }
    }

    /// Power-on state: every counter unprogrammed (mode 0, OUT low), gate 2 low.
    public func reset() {
        for c in counters {
            c.powerOn()
            c.gate = c.index != 2
            c.reschedule()
        }
    }

    // MARK: State

    public func saveState() -> [String: UInt64] {
        var s: [String: UInt64] = [:]
        for c in counters { c.save(into: &s) }
        return s
    }

    /// Restores the counters and re-arms channel 0's event (call after the
    /// scheduler's clock has been restored).
    public func restoreState(_ s: [String: UInt64]) {
        for c in counters { c.restore(from: s) }
        for c in counters { c.rearm() }
    }
}

/// One counting element of the 8254. Counts are held in binary; BCD only
/// changes the modulus (10000) and the byte encoding on the ports.
public final class PitCounter {
    /// A run of counting since the element was (re)loaded.
    struct Segment: Equatable {
        /// Tick at which the counting element holds `startValue`.
        var start: UInt64
        /// Raw value loaded (0 means the full modulus).
        var startValue: UInt32
        /// Mode 3: OUT is high during the first half-period of this segment.
        var highFirst: Bool
        /// Modes 0, 1, 4, 5: the terminal count was already reached.
        var done: Bool
        /// Modes 0 and 4: the gate went low at this tick; counting is frozen there.
        var suspendedAt: UInt64?
    }

    let index: Int
    weak var pit: Pit8254?
    var out: ((Bool) -> Void)?

    var mode: Int = 0
    var bcd = false
    /// Access: 1 = LSB only, 2 = MSB only, 3 = LSB then MSB.
    var access: Int = 3
    /// Count register (what software last wrote), raw.
    var countRegister: UInt32 = 0
    var writeLSBNext = true
    var lowByteWritten: UInt8 = 0
    var readLSBNext = true
    var latchedCount: UInt16?
    var latchedCountMSBNext = false
    var latchedStatus: UInt8?
    var gate = true
    /// The count register has been written but not yet loaded into the element.
    var nullCountUntil: UInt64 = 0
    /// True once a count has been written since the last control word.
    var armed = false
    var current: Segment?
    /// The segment still running before `current.start` (modes 2 and 3
    /// finish the running period or half-period before a new count loads).
    var previous: Segment?
    /// Value shown when not counting.
    var heldValue: UInt32 = 0
    /// OUT level last reported through `out`.
    var lastOut = false
    /// OUT transitions up to this tick have been reported.
    var reportedThrough: UInt64 = 0
    var token: EventScheduler.Token?

    init(index: Int) { self.index = index }

    /// Power-on values of every register (the gate is the board's).
    func powerOn() {
        mode = 0; bcd = false; access = 3; countRegister = 0
        writeLSBNext = true; lowByteWritten = 0; readLSBNext = true
        latchedCount = nil; latchedCountMSBNext = false; latchedStatus = nil
        nullCountUntil = 0; armed = false; current = nil; previous = nil; heldValue = 0
    }

    var modulus: UInt32 { bcd ? 10000 : 65536 }

    // MARK: Arithmetic model

    /// Value and OUT at tick `t`.
    func state(at t: UInt64) -> (value: UInt32, out: Bool) {
        if let c = current {
            if t >= c.start { return evaluate(c, at: t) }
            if let p = previous { return evaluate(p, at: t) }
            // Before the load clock the element's content is undefined; show
            // the count about to load. (A guest's port reads take 1 ns here,
            // not the ~1 µs of an ISA cycle, so "read once to wait for the
            // load" — Linux's quick_pit_calibrate — must not see stale data.)
            return (c.startValue, idleOut)
        }
        return (heldValue, idleOut)
    }

    /// OUT when the element is not counting.
    var idleOut: Bool { mode != 0 }

    func period(_ s: Segment) -> UInt64 {
        let n = s.startValue == 0 ? UInt64(modulus) : UInt64(s.startValue)
        return (mode == 2 || mode == 3) ? max(n, 2) : n
    }

    func evaluate(_ s: Segment, at t: UInt64) -> (value: UInt32, out: Bool) {
        let end = min(t, s.suspendedAt ?? t)
        let e = end >= s.start ? end - s.start : 0
        let m = UInt64(modulus)
        let p = period(s)
        func down(_ from: UInt64, _ by: UInt64) -> UInt32 {
            UInt32(((from % m) + m - (by % m)) % m)
        }
        switch mode {
        case 0, 1:
            let v = down(UInt64(s.startValue), e)
            return (v, s.done || e >= p)
        case 4, 5:
            let v = down(UInt64(s.startValue), e)
            return (v, s.done || e != p)
        case 2:
            let q = e % p
            return (UInt32((p - q) % m), q != p - 1)
        default: // 3
            let high = (p + 1) / 2
            let q = (e + (s.highFirst ? 0 : high)) % p
            let even = p & ~1
            if q < high { return (UInt32((even - 2 * q) % m), true) }
            return (UInt32((even - 2 * (q - high)) % m), false)
        }
    }

    /// The next tick after `t` at which OUT may change.
    func nextChange(after t: UInt64) -> UInt64? {
        guard let c = current else { return nil }
        if t < c.start {
            if let p = previous, let n = nextChange(of: p, after: t), n < c.start { return n }
            return c.start
        }
        return nextChange(of: c, after: t)
    }

    func nextChange(of s: Segment, after t: UInt64) -> UInt64? {
        if s.suspendedAt != nil { return nil }
        let e = t >= s.start ? t - s.start : 0
        let p = period(s)
        var n: UInt64?
        switch mode {
        case 0, 1:
            if !s.done && e < p { n = p }
        case 4, 5:
            if !s.done {
                if e < p { n = p } else if e < p + 1 { n = p + 1 }
            }
        case 2:
            let q = e % p
            n = q < p - 1 ? e - q + p - 1 : e - q + p
        default:
            let high = (p + 1) / 2
            let shift = s.highFirst ? 0 : high
            let e2 = e + shift
            let q = e2 % p
            let next2 = q < high ? e2 + (high - q) : e2 + (p - q)
            n = next2 - shift
        }
        guard let off = n else { return nil }
        return s.start + off
    }

    // MARK: Loading and triggering

    /// Starts counting `countRegister` at tick `t`.
    func load(at t: UInt64) {
        previous = nil
        current = Segment(start: t, startValue: countRegister, highFirst: true, done: false, suspendedAt: nil)
        if !gate && (mode == 0 || mode == 4) { current!.suspendedAt = t }
        nullCountUntil = t
    }

    /// A complete new count was written at tick `now`.
    func countWritten(at now: UInt64) {
        let wasArmed = armed
        armed = true
        nullCountUntil = .max
        switch mode {
        case 0, 4:
            load(at: now + 1)
        case 1, 5:
            break // waits for a gate trigger
        case 2, 3:
            if !gate { break }
            if wasArmed, let c = current, c.start <= now {
                // Finish the running period (mode 2) or half-period (mode 3).
                let boundary = nextReload(of: c, after: now)
                let phase = evaluate(c, at: boundary).out
                previous = c
                current = Segment(start: boundary, startValue: countRegister, highFirst: mode == 2 ? true : phase, done: false, suspendedAt: nil)
                nullCountUntil = boundary
            } else if wasArmed, let c = current, previous != nil {
                // A reload is already pending: it takes the newest count.
                current!.startValue = countRegister
                nullCountUntil = c.start
            } else {
                load(at: now + 1)
            }
        default: break
        }
    }

    /// The tick after `t` at which a running mode 2/3 segment reloads.
    func nextReload(of s: Segment, after t: UInt64) -> UInt64 {
        let e = t - s.start
        let p = period(s)
        if mode == 2 { return s.start + (e / p + 1) * p }
        let high = (p + 1) / 2
        let shift = s.highFirst ? 0 : high
        let e2 = e + shift
        let q = e2 % p
        let next2 = q < high ? e2 + (high - q) : e2 + (p - q)
        return s.start + next2 - shift
    }

    func setGate(_ level: Bool, at t: UInt64) {
        guard level != gate else { return }
        let s = state(at: t)
        gate = level
        switch mode {
        case 0, 4:
            guard var c = current else { break }
            if !level {
                if t < c.start { c.suspendedAt = c.start } else { c.suspendedAt = t }
                current = c
                previous = nil
            } else if let at = c.suspendedAt {
                // Resume from the frozen value at the next clock.
                let frozen = evaluate(c, at: at)
                let p = period(c)
                let e = at >= c.start ? at - c.start : 0
                let reached = c.done || (mode == 0 ? e >= p : e > p)
                current = Segment(start: t + 1, startValue: frozen.value, highFirst: true, done: reached, suspendedAt: nil)
            }
        case 1, 5:
            if level && armed {
                // (Re)trigger: the running one-shot continues until the load.
                heldValue = s.value
                let old = current
                load(at: t + 1)
                previous = old
            }
        case 2, 3:
            if level {
                if armed { load(at: t + 1) }
            } else {
                heldValue = s.value
                current = nil
                previous = nil
            }
        default: break
        }
        reschedule()
    }

    // MARK: Control word, counts, latches

    func control(_ v: UInt8, at t: UInt64) {
        heldValue = state(at: t).value
        access = Int((v >> 4) & 3)
        mode = Int((v >> 1) & 7)
        if mode > 5 { mode -= 4 } // 6 and 7 alias modes 2 and 3
        bcd = v & 1 != 0
        writeLSBNext = true
        readLSBNext = true
        latchedCount = nil
        latchedStatus = nil
        armed = false
        current = nil
        previous = nil
        nullCountUntil = .max
        reschedule()
    }

    func writeCount(_ byte: UInt8, at t: UInt64) {
        switch access {
        case 1:
            countRegister = decode(UInt32(byte))
        case 2:
            countRegister = decode(UInt32(byte) << 8)
        default:
            if writeLSBNext {
                lowByteWritten = byte
                writeLSBNext = false
                if mode == 0 {
                    // Writing the first byte stops the count; OUT goes low.
                    heldValue = state(at: t).value
                    current = nil
                    previous = nil
                    armed = false
                    reschedule()
                }
                return
            }
            writeLSBNext = true
            countRegister = decode(UInt32(lowByteWritten) | UInt32(byte) << 8)
        }
        countWritten(at: t)
        reschedule()
    }

    /// Converts a raw written count to binary (BCD mode: four digits).
    func decode(_ raw: UInt32) -> UInt32 {
        guard bcd else { return raw }
        let d0 = raw & 0xF, d1 = (raw >> 4) & 0xF, d2 = (raw >> 8) & 0xF, d3 = (raw >> 12) & 0xF
        return (d3 * 1000 + d2 * 100 + d1 * 10 + d0) % 10000
    }

    func encode(_ v: UInt32) -> UInt16 {
        guard bcd else { return UInt16(truncatingIfNeeded: v) }
        let v = v % 10000
        return UInt16(v % 10 | (v / 10 % 10) << 4 | (v / 100 % 10) << 8 | (v / 1000) << 12)
    }

    func latchCount(at t: UInt64) {
        guard latchedCount == nil else { return }
        latchedCount = encode(state(at: t).value)
        latchedCountMSBNext = access == 2
    }

    func latchStatus(at t: UInt64) {
        guard latchedStatus == nil else { return }
        var s = UInt8(access << 4) | UInt8(mode << 1) | (bcd ? 1 : 0)
        if state(at: t).out { s |= 0x80 }
        if t < nullCountUntil { s |= 0x40 }
        latchedStatus = s
    }

    func read(at t: UInt64) -> UInt8 {
        if let s = latchedStatus {
            latchedStatus = nil
            return s
        }
        if let c = latchedCount {
            switch access {
            case 1:
                latchedCount = nil
                return UInt8(c & 0xFF)
            case 2:
                latchedCount = nil
                return UInt8(c >> 8)
            default:
                if latchedCountMSBNext {
                    latchedCount = nil
                    latchedCountMSBNext = false
                    return UInt8(c >> 8)
                }
                latchedCountMSBNext = true
                return UInt8(c & 0xFF)
            }
        }
        let v = encode(state(at: t).value)
        switch access {
        case 1: return UInt8(v & 0xFF)
        case 2: return UInt8(v >> 8)
        default:
            readLSBNext.toggle()
            return readLSBNext ? UInt8(v >> 8) : UInt8(v & 0xFF)
        }
    }

    // MARK: Events

    /// Reports the OUT level now (if it changed) and schedules an event at
    /// the next OUT transition. Only counters with a listener schedule.
    func reschedule() {
        guard let pit else { return }
        pit.scheduler.cancel(token)
        token = nil
        guard out != nil else { return }
        let t = pit.nowTick
        let level = state(at: t).out
        if level != lastOut {
            lastOut = level
            out?(level)
        }
        reportedThrough = t
        armEvent(after: t)
    }

    /// After a restore: re-arms the pending event from the saved report point.
    func rearm() {
        guard let pit else { return }
        pit.scheduler.cancel(token)
        token = nil
        if out != nil { armEvent(after: reportedThrough) }
    }

    func armEvent(after t: UInt64) {
        guard let pit, let next = nextChange(after: t) else { return }
        token = pit.scheduler.schedule(at: Pit8254.nanoseconds(atTick: next)) { [weak self] in
            self?.fire(tick: next)
        }
    }

    /// An OUT transition at tick `k` (the event may run late; the model is
    /// evaluated at `k` itself so no edge is lost).
    func fire(tick k: UInt64) {
        token = nil
        if let c = current, c.start <= k { previous = nil }
        let level = state(at: k).out
        if level != lastOut {
            lastOut = level
            out?(level)
        }
        reportedThrough = k
        armEvent(after: k)
    }

    // MARK: State

    func save(into s: inout [String: UInt64]) {
        let p = "ch\(index)."
        s[p + "mode"] = UInt64(mode)
        s[p + "bcd"] = bcd ? 1 : 0
        s[p + "access"] = UInt64(access)
        s[p + "countRegister"] = UInt64(countRegister)
        s[p + "writeLSBNext"] = writeLSBNext ? 1 : 0
        s[p + "lowByteWritten"] = UInt64(lowByteWritten)
        s[p + "readLSBNext"] = readLSBNext ? 1 : 0
        if let c = latchedCount { s[p + "latchedCount"] = UInt64(c) }
        s[p + "latchedCountMSBNext"] = latchedCountMSBNext ? 1 : 0
        if let st = latchedStatus { s[p + "latchedStatus"] = UInt64(st) }
        s[p + "gate"] = gate ? 1 : 0
        s[p + "nullCountUntil"] = nullCountUntil
        s[p + "armed"] = armed ? 1 : 0
        s[p + "heldValue"] = UInt64(heldValue)
        s[p + "lastOut"] = lastOut ? 1 : 0
        s[p + "reportedThrough"] = reportedThrough
        func seg(_ name: String, _ g: Segment?) {
            guard let g else { return }
            s[p + name + ".start"] = g.start
            s[p + name + ".startValue"] = UInt64(g.startValue)
            s[p + name + ".flags"] = (g.highFirst ? 1 : 0) | (g.done ? 2 : 0)
            if let a = g.suspendedAt { s[p + name + ".suspendedAt"] = a }
        }
        seg("current", current)
        seg("previous", previous)
    }

    func restore(from s: [String: UInt64]) {
        let p = "ch\(index)."
        func u(_ k: String) -> UInt64 { s[p + k] ?? 0 }
        mode = Int(u("mode")); bcd = u("bcd") != 0; access = Int(u("access"))
        if access == 0 { access = 3 }
        countRegister = UInt32(truncatingIfNeeded: u("countRegister"))
        writeLSBNext = u("writeLSBNext") != 0
        lowByteWritten = UInt8(truncatingIfNeeded: u("lowByteWritten"))
        readLSBNext = u("readLSBNext") != 0
        latchedCount = s[p + "latchedCount"].map { UInt16(truncatingIfNeeded: $0) }
        latchedCountMSBNext = u("latchedCountMSBNext") != 0
        latchedStatus = s[p + "latchedStatus"].map { UInt8(truncatingIfNeeded: $0) }
        gate = u("gate") != 0
        nullCountUntil = u("nullCountUntil")
        armed = u("armed") != 0
        heldValue = UInt32(truncatingIfNeeded: u("heldValue"))
        lastOut = u("lastOut") != 0
        reportedThrough = u("reportedThrough")
        func seg(_ name: String) -> Segment? {
            guard let start = s[p + name + ".start"] else { return nil }
            let f = s[p + name + ".flags"] ?? 0
            return Segment(start: start, startValue: UInt32(truncatingIfNeeded: s[p + name + ".startValue"] ?? 0),
                           highFirst: f & 1 != 0, done: f & 2 != 0, suspendedAt: s[p + name + ".suspendedAt"])
        }
        current = seg("current")
        previous = seg("previous")
    }
}

/// Port 0x61, "system control port B" of the PC/AT: bit 0 gates PIT
/// channel 2, bit 1 enables the speaker data, bits 2–3 enable parity and
/// channel checks (stored, never reported); reads add bit 4, the DRAM
/// refresh toggle (flips every 15.085 µs of virtual time), and bit 5,
/// channel 2's OUT. Bits 6–7 (IOCHK, PERR) read 0.
public final class SystemControlPortB: PortDevice {
    public let pit: Pit8254
    /// Bits 0–3 as last written.
    public private(set) var control: UInt8 = 0
    /// Half-period of the refresh toggle in virtual ns.
    public static let refreshHalfPeriod: UInt64 = 15_085

    /// Called when the speaker's enables (bit 0 gate, bit 1 data) change.
    public var onSpeakerChange: ((UInt8) -> Void)?

    public init(pit: Pit8254) {
        self.pit = pit
    }

    public func portRead(_ port: UInt16, width: Int) -> UInt32 {
        var v = control & 0x0F
        if (pit.scheduler.now / SystemControlPortB.refreshHalfPeriod) & 1 != 0 { v |= 0x10 }
        if pit.outLevel(2) { v |= 0x20 }
        return UInt32(v)
    }

    public func portWrite(_ port: UInt16, width: Int, value: UInt32) {
        let v = UInt8(truncatingIfNeeded: value) & 0x0F
        let old = control
        control = v
        pit.setGate(2, v & 1 != 0)
        if old & 3 != v & 3 { onSpeakerChange?(v & 3) }
    }

    public func saveState() -> [String: UInt64] { ["control": UInt64(control)] }

    /// Restores the latch; the PIT's channel-2 gate is part of the PIT's own state.
    public func restoreState(_ s: [String: UInt64]) { control = UInt8(truncatingIfNeeded: s["control"] ?? 0) }
}
