import Capsule
import PC

/// Ballooning before a migration: resume the capsule, have the guest's own
/// virtio_balloon driver give back the memory it can spare, and save the
/// capsule again. Balloon pages are zero (the device zeroes them on
/// inflate), so they are never sent; the saved balloon target is 0 with the
/// configuration-change interrupt pending, so the guest deflates as soon as
/// it runs again — on the receiver, after resume.
public enum MigrationBalloon {
    /// How much to inflate.
    public enum Size: Equatable {
        /// Everything the guest reports available beyond its working set
        /// and a reserve (see `autoTarget`).
        case auto
        /// A balloon of this many bytes (rounded down to pages).
        case bytes(UInt64)
    }

    /// What the balloon step did, for the migration's log and report.
    public struct Outcome: Equatable {
        public var targetPages: UInt32 = 0
        /// Pages the guest put into the balloon (the driver's `actual`).
        public var inflatedPages: UInt32 = 0
        /// Virtual seconds the guest ran while inflating.
        public var virtualSeconds: Double = 0
        /// Why the step ended, in words.
        public var note: String = ""
    }

    /// `auto`, `off` (nil), or a size such as `64M`.
    public static func parse(_ text: String, parseBytes: (String) -> UInt64?) throws -> Size? {
        switch text.lowercased() {
        case "off", "no", "none": return nil
        case "auto": return .auto
        default:
            guard let b = parseBytes(text), b >= 4096 else {
                throw MigrationBalloonError("--balloon must be auto, off or a size such as 64M, not \(String(reflecting: text))")
            }
            return .bytes(b)
        }
    }

    /// The auto target from the guest's statistics: what it reports as
    /// available (free plus reclaimable cache), less a reserve of an eighth
    /// of its memory (at least 16 MiB), so its working set and some room to
    /// run stay with it. Nil without the statistics it needs.
    public static func autoTarget(stats: [UInt16: UInt64]) -> UInt32? {
        guard let total = stats[5], let available = stats[6] ?? stats[4] else { return nil }
        let reserve = max(16 << 20, total / 8)
        guard available > reserve else { return 0 }
        return UInt32((available - reserve) / 4096)
    }

    /// Inflates the balloon of capsule `name` and saves it. The capsule is
    /// left unchanged when the guest runs no balloon driver. `waitSeconds`
    /// is the virtual-time budget for the guest to reach the target; what it
    /// gave by then is kept.
    public static func inflate(capsule name: String, store: Store, size: Size, waitSeconds: Double) throws -> Outcome {
        let capsule = try MachineCapsule(resuming: name, store: store)
        let m = capsule.machine
        var out = Outcome()
        guard m.balloonPCI != nil else { out.note = "the machine has no virtio-balloon device"; return out }
        guard m.balloonDriverReady else { out.note = "the guest runs no virtio_balloon driver"; return out }
        let budget = UInt64(max(0, waitSeconds) * 1e9)
        let start = m.scheduler.now
        let target: UInt32
        switch size {
        case .bytes(let b):
            target = UInt32(min(b / 4096, UInt64(m.memory.ramSize / 4096)))
        case .auto:
            // Fresh numbers: the driver answers from a work queue once it runs.
            let before = m.balloonStats
            m.requestBalloonStats()
            while m.balloonStats == before && m.scheduler.now &- start < min(budget, 2_000_000_000) {
                guard m.run(instructions: 2_000_000) == .instructionLimit else { break }
            }
            guard let t = autoTarget(stats: m.balloonStats) else {
                out.note = "the guest's driver sent no memory statistics"
                return out
            }
            target = t
        }
        out.targetPages = target
        try m.setBalloonTarget(pages: target)
        let used = m.scheduler.now &- start
        let wait = try m.runUntilBalloonSettles(budget: budget > used ? budget - used : 0)
        out.inflatedPages = m.balloonActualPages
        out.virtualSeconds = Double(m.scheduler.now &- start) / 1e9
        switch wait {
        case .reached: out.note = "reached the target"
        case .budgetExhausted: out.note = "the time limit passed first"
        case .stopped(let r): out.note = "the guest stopped (\(r))"
        }
        // Deflate after resume: the target the receiver's guest will see.
        try m.setBalloonTarget(pages: 0)
        try capsule.save()
        return out
    }
}

public struct MigrationBalloonError: Error, CustomStringConvertible {
    public let description: String
    public init(_ d: String) { description = d }
}
