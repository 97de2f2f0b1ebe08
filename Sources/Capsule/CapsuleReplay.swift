import Foundation
import PC

/// `capsule replay NAME`: executes a capsule's last run again, from the
/// capsule it resumed from (its replay base), with the recorded host input
/// entering at exactly the recorded virtual times, and checks that it ends
/// in exactly the state the capsule holds. Neither the capsule nor its
/// working disks are touched: disks are read from their sealed layers
/// with writes kept in memory.
public enum CapsuleReplay {
    public struct Outcome {
        public var record: RunRecord
        public var replayedHash: BlockName
        public var capsuleHash: BlockName
        /// Why the re-execution could not reach the recorded end (nil: it did).
        public var divergence: String?
        /// What differs between the replayed and the saved machine: state
        /// sections by tag, RAM pages, disks. Empty when the hashes agree.
        public var differences: [String]
        public var matches: Bool { divergence == nil && replayedHash == capsuleHash }
    }

    public static func run(_ name: String, store: Store) throws -> Outcome {
        let loaded = try store.loadCapsule(name)
        guard let record = try store.runRecord(of: loaded) else {
            throw CapsuleError.other("capsule \(name) has no recorded run: it was created and never run, or last suspended by a build that did not record runs")
        }
        guard !record.debugged else {
            throw CapsuleError.other("capsule \(name)'s last run was under gdb, which can change registers and memory outside the input log: it cannot be replayed")
        }
        guard let base = try store.replayBase(of: name, record: record) else {
            throw CapsuleError.other("the replay base of capsule \(name) (manifest \(record.base.hex.prefix(16))…) is not in this store: a capsule received by migration or saved by a build without replay bases carries its input log but not the capsule its last run began from")
        }
        let replayed = try scratchMachine(base, store: store)
        guard replayed.cpu.instructionCount == record.baseInstructions, replayed.inputLog.count == record.baseEventCount else {
            throw CapsuleError.other("capsule \(name): the replay base is at instruction \(replayed.cpu.instructionCount) with \(replayed.inputLog.count) input events; the run record says it started at \(record.baseInstructions) with \(record.baseEventCount)")
        }
        replayed.inputReplay = InputReplay(events: record.events[...], queued: record.queued[...], until: .max)
        var divergence = replayed.replay(to: record.end)
        if divergence == nil, let left = replayed.inputReplay, !left.events.isEmpty || !left.queued.isEmpty {
            divergence = "\(left.events.count) recorded input events and \(left.queued.count) queued inputs were left over at the recorded end (the first event is stamped \(left.events.first.map { "\($0.time)" } ?? "-"))"
        }
        replayed.inputReplay = nil
        let saved = try scratchMachine(loaded, store: store)
        let a = try StateHash.of(replayed), b = try StateHash.of(saved)
        let differences = a == b ? [] : try compare(replayed, saved)
        return Outcome(record: record, replayedHash: a, capsuleHash: b, divergence: divergence, differences: differences)
    }

    /// The machine a loaded capsule describes, on scratch overlays of its disks.
    static func scratchMachine(_ loaded: Store.Loaded, store: Store) throws -> Machine {
        try MachineCapsule.machine(for: loaded, store: store) { part in
            ScratchOverlay(try LayeredDisk.view(store: store, size: part.size, layers: part.layers))
        }.0
    }

    /// Where two machines differ, for the divergence report.
    static func compare(_ a: Machine, _ b: Machine) throws -> [String] {
        var out: [String] = []
        let sa = MachineSections.sections(of: a.saveState()), sb = Dictionary(uniqueKeysWithValues: MachineSections.sections(of: b.saveState()).map { ($0.tag, $0) })
        for s in sa where sb[s.tag] != s {
            let subs = s.subsections.filter { sub in sb[s.tag]?.subsection(sub.tag) != sub }.map(\.tag)
            let detail = s.payload != sb[s.tag]?.payload ? "registers" : ""
            out.append("state section \(s.tag) differs" + ((subs.isEmpty && detail.isEmpty) ? "" : " (" + ([detail].filter { !$0.isEmpty } + subs.map { "sub-section \($0)" }).joined(separator: ", ") + ")"))
        }
        if a.cpu.instructionCount != b.cpu.instructionCount || a.scheduler.now != b.scheduler.now {
            out.append("replayed to instruction \(a.cpu.instructionCount) / virtual time \(a.scheduler.now); the capsule is at \(b.cpu.instructionCount) / \(b.scheduler.now)")
        }
        let ps = BlockName.blockSize
        var pages: [Int] = []
        for p in 0..<(min(a.memory.ramSize, b.memory.ramSize) / ps) where memcmp(a.memory.ram + p * ps, b.memory.ram + p * ps, ps) != 0 {
            pages.append(p)
        }
        if !pages.isEmpty {
            out.append("\(pages.count) RAM pages differ, the first at 0x\(String(pages[0] * ps, radix: 16))")
        }
        for (i, (da, db)) in zip(a.media, b.media).enumerated() {
            var x = [UInt8](repeating: 0, count: 512 * 64), y = x
            var sector: UInt64 = 0
            while sector < da.sectorCount {
                let n = Int(min(64, da.sectorCount - sector))
                try x.withUnsafeMutableBytes { try da.read(sector: sector, count: n, into: $0) }
                try y.withUnsafeMutableBytes { try db.read(sector: sector, count: n, into: $0) }
                if x != y { out.append("disk \(i) differs from sector \(sector) on"); break }
                sector += UInt64(n)
            }
        }
        return out
    }
}
