import Foundation
import PC

/// The board itself: the RAM size the state was taken with and a reset
/// the chipset has requested but the run loop has not carried out.
struct BoardSection: Stateful {
    static let stateTag = "board"
    static let stateVersion = 1
    var memorySize: Int
    var resetRequested: Bool

    func saveState(into w: inout StateWriter) {
        w.write(memorySize)
        w.write(resetRequested)
    }

    mutating func loadState(from r: inout StateReader, version: Int) throws {
        memorySize = try r.readInt()
        resetRequested = try r.readBool()
    }
}

/// The virtual clock: virtual time is the instruction count plus the time
/// skipped while the CPU halted; the event queue is not saved, devices
/// re-arm their events from their registers against the restored clock.
struct ClockSection: Stateful {
    static let stateTag = "clock"
    static let stateVersion = 1
    var idleTime: UInt64

    func saveState(into w: inout StateWriter) { w.write(idleTime) }
    mutating func loadState(from r: inout StateReader, version: Int) throws { idleTime = try r.readU64() }
}

/// Host input: queued bytes not yet delivered, and (sub-section `log`)
/// every byte delivered so far with the virtual time it entered.
struct InputSection: Stateful {
    static let stateTag = "input"
    static let stateVersion = 1
    var log: [InputEvent]
    var pendingSerial: [UInt8]
    var pendingKeys: [[UInt8]]

    static let targets: [InputEvent.Target] = [.com1, .com2, .keyboard]

    func saveState(into w: inout StateWriter) {
        w.write(bytes: pendingSerial)
        w.write(pendingKeys.count)
        for k in pendingKeys { w.write(bytes: k) }
        w.subsection("log") { w in
            InputSection.write(log, into: &w)
        }
    }

    mutating func loadState(from r: inout StateReader, version: Int) throws {
        pendingSerial = try r.readBytes()
        let n = try r.readInt()
        guard n >= 0, n <= r.remaining else { throw CapsuleError.badSection("\(r.path) version \(version): \(n) pending key events") }
        pendingKeys = try (0..<n).map { _ in try r.readBytes() }
        guard var s = try r.subsection("log") else {
            throw CapsuleError.badSection("\(r.path) version \(version): sub-section 'log' is missing")
        }
        log = try InputSection.read(from: &s)
        try s.finish()
    }

    /// Events as three parallel columns: times, targets, bytes.
    static func write(_ events: [InputEvent], into w: inout StateWriter) {
        w.write(events.map(\.time))
        w.write(bytes: events.map { e in UInt8(targets.firstIndex(of: e.target)!) })
        w.write(bytes: events.map(\.byte))
    }

    static func read(from r: inout StateReader) throws -> [InputEvent] {
        let times = try r.readU64Array(), codes = try r.readBytes(), bytes = try r.readBytes()
        guard times.count == codes.count, codes.count == bytes.count else {
            throw CapsuleError.badSection("\(r.path) version \(r.version): input log columns differ in length (\(times.count), \(codes.count), \(bytes.count))")
        }
        var out: [InputEvent] = []
        out.reserveCapacity(times.count)
        for i in 0..<times.count {
            guard Int(codes[i]) < targets.count else {
                throw CapsuleError.badSection("\(r.path) version \(r.version): input event \(i) has unknown target \(codes[i])")
            }
            out.append(InputEvent(time: times[i], target: targets[Int(codes[i])], byte: bytes[i]))
        }
        return out
    }
}

/// The IDE controller: the PIIX3 IDE function's configuration bytes, and
/// one sub-section per channel (`primary`, `secondary`) with its bus
/// master, selected drive and each drive's registers and transfer in
/// progress (carried as the sorted-key JSON of `IdeChannelState`).
struct IDESection: Stateful {
    static let stateTag = "ide"
    static let stateVersion = 1
    var state: IdeControllerState

    static let channelTags = ["primary", "secondary"]

    func saveState(into w: inout StateWriter) {
        w.write(bytes: state.config)
        for (tag, ch) in zip(IDESection.channelTags, state.channels) {
            w.subsection(tag) { w in
                // Encoding plain integers, booleans and arrays cannot fail.
                try! w.write(json: ch)
            }
        }
    }

    mutating func loadState(from r: inout StateReader, version: Int) throws {
        var s = state
        s.version = IdeControllerState.currentVersion
        s.config = try r.readBytes()
        s.channels = []
        for tag in IDESection.channelTags {
            guard var c = try r.subsection(tag) else {
                throw CapsuleError.badSection("\(r.path) version \(version): sub-section '\(tag)' is missing")
            }
            s.channels.append(try c.readJSON(IdeChannelState.self))
            try c.finish()
        }
        state = s
    }
}
