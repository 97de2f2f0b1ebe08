/// The Motorola MC146818 real-time clock and its CMOS RAM, at 0x70
/// (index; bit 7 masks NMI) and 0x71 (data).
///
/// The clock runs on virtual time only. Its divider chain (32.768 kHz time
/// base) starts at virtual time 0 with the configured date, or when
/// software takes DV out of reset (first update 500 ms later). Nothing
/// ticks: every access first catches up with `scheduler.now` — whole
/// update cycles advance the time registers in the current data mode,
/// set UF and (on a match) AF; periodic boundaries set PF. Events are
/// scheduled only while an enabled interrupt could raise IRQ 8.
///
/// The update-in-progress window is modelled as the 2228 µs (244 µs +
/// the 1984 µs update cycle) *before* each update boundary; the registers
/// change at the boundary itself and are always readable.
public final class Rtc146818: PortDevice {
    public let scheduler: EventScheduler
    /// Called with the level of the IRQ output (IRQF): wire to IRQ 8.
    public var irq: ((Bool) -> Void)?

    /// The 128 bytes: 0x00–0x0D clock registers, the rest CMOS RAM.
    public internal(set) var ram = [UInt8](repeating: 0, count: 128)
    public internal(set) var index: UInt8 = 0
    /// Port 0x70 bit 7 as last written.
    public internal(set) var nmiMasked = false

    /// Virtual ns at which the divider chain was last started.
    var dividerStart: UInt64 = 0
    /// Delay from `dividerStart` to the first update cycle.
    var firstUpdate: UInt64 = 1_000_000_000
    /// Virtual time up to which update and periodic boundaries are accounted.
    var syncedTo: UInt64 = 0
    var irqLevel = false
    var token: EventScheduler.Token?

    static let second: UInt64 = 1_000_000_000
    static let uipWindow: UInt64 = 2_228_000

    // Register indices and bits.
    static let regA = 0x0A, regB = 0x0B, regC = 0x0C, regD = 0x0D
    static let set: UInt8 = 0x80, pie: UInt8 = 0x40, aie: UInt8 = 0x20, uie: UInt8 = 0x10
    static let dm: UInt8 = 0x04, h24: UInt8 = 0x02
    static let irqf: UInt8 = 0x80, pf: UInt8 = 0x40, af: UInt8 = 0x20, uf: UInt8 = 0x10

    /// `startTime`: the date and time (Unix seconds, UTC) the clock shows at
    /// virtual time 0. The registers start in BCD, 24-hour mode.
    public init(scheduler: EventScheduler, startTime: Int64) {
        self.scheduler = scheduler
        ram[Self.regA] = 0x26 // 32.768 kHz time base, 1024 Hz periodic rate
        ram[Self.regB] = Self.h24
        ram[Self.regD] = 0x80 // valid RAM and time
        storeTime(startTime)
        syncedTo = scheduler.now
        dividerStart = scheduler.now
    }

    // MARK: Host-side helpers

    /// Fills the memory-size bytes a BIOS reads and refreshes the checksum:
    /// 0x15/0x16 base memory (640 KiB), 0x17/0x18 and 0x30/0x31 KiB above
    /// 1 MiB (at most 65535), 0x34/0x35 64 KiB blocks above 16 MiB (at most
    /// 65535; RAM beyond 4 GiB is not reported).
    public func setMemorySize(bytes: UInt64) {
        let base: UInt64 = 640
        let kibAbove1M = bytes > 1 << 20 ? min((bytes - (1 << 20)) / 1024, 65535) : 0
        let blocksAbove16M = bytes > 16 << 20 ? min((bytes - (16 << 20)) / 65536, 65535) : 0
        put16(0x15, UInt16(base))
        put16(0x17, UInt16(kibAbove1M))
        put16(0x30, UInt16(kibAbove1M))
        put16(0x34, UInt16(blocksAbove16M))
        updateChecksum()
    }

    /// Equipment byte 0x14 and drive-type bytes: no floppies (0x10 = 0),
    /// no CMOS-typed hard disks (0x12 = 0, the BIOS probes ATA itself),
    /// a math coprocessor and an EGA/VGA display (0x14 = 0x02).
    public func setDefaultEquipment() {
        ram[0x10] = 0x00
        ram[0x12] = 0x00
        ram[0x14] = 0x02
        updateChecksum()
    }

    /// Stores the big-endian-by-convention (low byte first) word at `i`.
    func put16(_ i: Int, _ v: UInt16) {
        ram[i] = UInt8(v & 0xFF)
        ram[i + 1] = UInt8(v >> 8)
    }

    /// Recomputes the standard checksum: 0x2E (high) / 0x2F (low) is the
    /// sum of bytes 0x10–0x2D.
    public func updateChecksum() {
        var sum: UInt16 = 0
        for i in 0x10...0x2D { sum &+= UInt16(ram[i]) }
        ram[0x2E] = UInt8(sum >> 8)
        ram[0x2F] = UInt8(sum & 0xFF)
    }

    /// The time the registers show, as Unix seconds (catching up first).
    public func currentTime() -> Int64 {
        sync()
        return loadTime()
    }

    // MARK: Ports

    public func portRead(_ port: UInt16, width: Int) -> UInt32 {
        if port == 0x70 { return UInt32(index | (nmiMasked ? 0x80 : 0)) }
        sync()
        let i = Int(index & 0x7F)
        switch i {
        case Self.regA:
            var v = ram[i] & 0x7F
            if updateInProgress { v |= 0x80 }
            return UInt32(v)
        case Self.regC:
            let v = ram[i]
            ram[i] = 0
            updateIRQ()
            schedule()
            return UInt32(v)
        default:
            return UInt32(ram[i])
        }
    }

    public func portWrite(_ port: UInt16, width: Int, value: UInt32) {
        let v = UInt8(truncatingIfNeeded: value)
        if port == 0x70 {
            index = v & 0x7F
            nmiMasked = v & 0x80 != 0
            return
        }
        sync()
        let i = Int(index & 0x7F)
        switch i {
        case Self.regA:
            let wasRunning = dividerRunning
            ram[i] = v & 0x7F
            if !wasRunning && dividerRunning {
                dividerStart = scheduler.now
                firstUpdate = Self.second / 2
            }
        case Self.regB:
            var n = v
            if n & Self.set != 0 { n &= ~Self.uie }
            ram[i] = n
            updateIRQ()
        case Self.regC, Self.regD:
            break // read only
        default:
            ram[i] = v
        }
        schedule()
    }

    // MARK: Divider chain

    /// DV2–DV0 = 11x holds the divider in reset; any other value runs it
    /// (all are treated as the 32.768 kHz time base).
    var dividerRunning: Bool { ram[Self.regA] & 0x60 != 0x60 }

    /// Periodic rate in 32.768 kHz cycles, or nil if RS = 0 or the divider is held.
    var periodicCycles: UInt64? {
        guard dividerRunning else { return nil }
        let rs = Int(ram[Self.regA] & 0x0F)
        switch rs {
        case 0: return nil
        case 1: return 128 // 256 Hz
        case 2: return 256 // 128 Hz
        default: return 1 << UInt64(rs - 1)
        }
    }

    /// Number of update boundaries at or before `t`.
    func updatesThrough(_ t: UInt64) -> UInt64 {
        guard t >= dividerStart + firstUpdate else { return 0 }
        return (t - dividerStart - firstUpdate) / Self.second + 1
    }

    func updateTime(_ k: UInt64) -> UInt64 { dividerStart + firstUpdate + k * Self.second }

    /// 32.768 kHz cycles elapsed since `dividerStart` at `t`.
    func cycles(at t: UInt64) -> UInt64 {
        guard t > dividerStart else { return 0 }
        let p = (t - dividerStart).multipliedFullWidth(by: 32768)
        return Self.second.dividingFullWidth((high: p.high, low: p.low)).quotient
    }

    func time(ofCycle c: UInt64) -> UInt64 {
        let p = c.multipliedFullWidth(by: Self.second)
        let (q, r) = UInt64(32768).dividingFullWidth((high: p.high, low: p.low))
        return dividerStart + (r == 0 ? q : q + 1)
    }

    var updateInProgress: Bool {
        guard dividerRunning, ram[Self.regB] & Self.set == 0 else { return false }
        let now = scheduler.now
        let next = updateTime(updatesThrough(now))
        return next - now <= Self.uipWindow
    }

    /// Accounts every update and periodic boundary in (syncedTo, now].
    func sync() {
        let now = scheduler.now
        guard now > syncedTo else { return }
        let from = syncedTo
        syncedTo = now
        guard dividerRunning else { return }
        if let pc = periodicCycles, cycles(at: now) / pc > cycles(at: from) / pc {
            ram[Self.regC] |= Self.pf
        }
        let n = updatesThrough(now) - updatesThrough(from)
        if n > 0 && ram[Self.regB] & Self.set == 0 {
            ram[Self.regC] |= Self.uf
            advance(seconds: n)
        }
        updateIRQ()
    }

    /// Runs `n` update cycles: the time advances and the alarm is checked
    /// at each second (a day or more at once matches any valid alarm).
    func advance(seconds n: UInt64) {
        var t = loadTime()
        guard n < 86400 && alarmIsValid else {
            storeTime(t + Int64(n))
            if alarmIsValid { ram[Self.regC] |= Self.af }
            return
        }
        for _ in 0..<n {
            t += 1
            storeTime(t)
            if alarmMatches { ram[Self.regC] |= Self.af }
        }
    }

    /// An alarm byte matches when equal to its time byte or "don't care" (0xC0–0xFF).
    var alarmMatches: Bool {
        func m(_ a: Int, _ t: Int) -> Bool { ram[a] >= 0xC0 || ram[a] == ram[t] }
        return m(1, 0) && m(3, 2) && m(5, 4)
    }

    /// The alarm can ever match (every byte is in range or don't-care).
    var alarmIsValid: Bool {
        func ok(_ a: Int, _ limit: Int) -> Bool {
            if ram[a] >= 0xC0 { return true }
            guard let v = decode(ram[a] & (a == 5 ? 0x7F : 0xFF)) else { return false }
            return v < limit
        }
        return ok(1, 60) && ok(3, 60) && ok(5, 24)
    }

    // MARK: Interrupts

    func updateIRQ() {
        let c = ram[Self.regC] & 0x70
        let enables = ram[Self.regB] & 0x70
        if c & enables != 0 { ram[Self.regC] |= Self.irqf } else { ram[Self.regC] &= ~Self.irqf }
        let level = ram[Self.regC] & Self.irqf != 0
        if level != irqLevel {
            irqLevel = level
            irq?(level)
        }
    }

    /// Arms an event at the next boundary that could raise IRQF.
    func schedule() {
        scheduler.cancel(token)
        token = nil
        guard dividerRunning, !irqLevel else { return }
        let b = ram[Self.regB]
        let now = scheduler.now
        var due: UInt64?
        if b & Self.pie != 0, let pc = periodicCycles {
            due = time(ofCycle: (cycles(at: now) / pc + 1) * pc)
        }
        if b & (Self.uie | Self.aie) != 0 && b & Self.set == 0 {
            let u = updateTime(updatesThrough(now))
            due = min(due ?? u, u)
        }
        guard let due else { return }
        token = scheduler.schedule(at: due) { [weak self] in
            guard let self else { return }
            self.token = nil
            self.sync()
            self.schedule()
        }
    }

    // MARK: Time registers

    /// BCD or binary per DM.
    func decode(_ b: UInt8) -> Int? {
        if ram[Self.regB] & Self.dm != 0 { return Int(b) }
        let hi = Int(b >> 4), lo = Int(b & 0xF)
        guard hi < 10, lo < 10 else { return nil }
        return hi * 10 + lo
    }

    func encode(_ v: Int) -> UInt8 {
        if ram[Self.regB] & Self.dm != 0 { return UInt8(truncatingIfNeeded: v) }
        return UInt8((v / 10) << 4 | (v % 10))
    }

    /// The registers' date and time as Unix seconds.
    func loadTime() -> Int64 {
        let sec = decode(ram[0x00]) ?? 0
        let min = decode(ram[0x02]) ?? 0
        var hour: Int
        if ram[Self.regB] & Self.h24 != 0 {
            hour = decode(ram[0x04]) ?? 0
        } else {
            let h = (decode(ram[0x04] & 0x7F) ?? 12) % 12
            hour = h + (ram[0x04] & 0x80 != 0 ? 12 : 0)
        }
        let day = max(decode(ram[0x07]) ?? 1, 1)
        let month = max(decode(ram[0x08]) ?? 1, 1)
        let year = (decode(ram[0x32]) ?? 19) * 100 + (decode(ram[0x09]) ?? 0)
        let days = Rtc146818.daysFromCivil(year: year, month: month, day: day)
        return days * 86400 + Int64(hour * 3600 + min * 60 + sec)
    }

    /// Writes Unix seconds `t` into the time registers in the current mode.
    func storeTime(_ t: Int64) {
        let days = t >= 0 ? t / 86400 : (t - 86399) / 86400
        let secs = Int(t - days * 86400)
        let (y, m, d) = Rtc146818.civilFromDays(days)
        ram[0x00] = encode(secs % 60)
        ram[0x02] = encode(secs / 60 % 60)
        let hour = secs / 3600
        if ram[Self.regB] & Self.h24 != 0 {
            ram[0x04] = encode(hour)
        } else {
            let h12 = hour % 12 == 0 ? 12 : hour % 12
            ram[0x04] = encode(h12) | (hour >= 12 ? 0x80 : 0)
        }
        // Day of week: 1 = Sunday; 1970-01-01 was a Thursday.
        let dow = Int(((days % 7) + 7 + 4) % 7) + 1
        ram[0x06] = encode(dow)
        ram[0x07] = encode(d)
        ram[0x08] = encode(m)
        ram[0x09] = encode(y % 100)
        ram[0x32] = encode(y / 100 % 100)
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date.
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int64 {
        // Count from 1 March so the leap day is the year's last.
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let monthFromMarch = (month + 9) % 12
        let dayOfYear = (153 * monthFromMarch + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return Int64(era * 146097 + dayOfEra - 719468)
    }

    /// The inverse of `daysFromCivil`.
    static func civilFromDays(_ z0: Int64) -> (year: Int, month: Int, day: Int) {
        let z = Int(z0) + 719468
        let era = (z >= 0 ? z : z - 146096) / 146097
        let dayOfEra = z - era * 146097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        return (year, month, day)
    }

    // MARK: State

    public func saveState() -> [String: UInt64] {
        var s: [String: UInt64] = [:]
        for i in 0..<128 { s["ram.\(i)"] = UInt64(ram[i]) }
        s["index"] = UInt64(index)
        s["nmiMasked"] = nmiMasked ? 1 : 0
        s["dividerStart"] = dividerStart
        s["firstUpdate"] = firstUpdate
        s["syncedTo"] = syncedTo
        s["irqLevel"] = irqLevel ? 1 : 0
        return s
    }

    /// Restores registers and re-arms the interrupt event (after the scheduler's clock).
    public func restoreState(_ s: [String: UInt64]) {
        for i in 0..<128 { ram[i] = UInt8(truncatingIfNeeded: s["ram.\(i)"] ?? 0) }
        index = UInt8(truncatingIfNeeded: s["index"] ?? 0)
        nmiMasked = (s["nmiMasked"] ?? 0) != 0
        dividerStart = s["dividerStart"] ?? 0
        firstUpdate = s["firstUpdate"] ?? Self.second
        syncedTo = s["syncedTo"] ?? 0
        irqLevel = (s["irqLevel"] ?? 0) != 0
        scheduler.cancel(token)
        token = nil
        schedule()
    }
}
