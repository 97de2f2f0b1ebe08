import Foundation

/// What one migration moved and skipped, gathered over every connection
/// attempt; the CLI prints it as a table or JSON.
public final class TransferStatistics {
    public var capsule = ""
    public var role = ""
    public var peer = ""
    public var manifestHash = ""
    public var bytesSent = [UInt64](repeating: 0, count: TrafficKind.allCases.count)
    public var bytesReceived = [UInt64](repeating: 0, count: TrafficKind.allCases.count)
    public var blocksOffered = 0
    public var blocksTransferred = 0
    /// Uncompressed and on-the-wire payload bytes of the blocks transferred.
    public var blockRawBytes: UInt64 = 0
    public var blockWireBytes: UInt64 = 0
    public var skippedZero = 0
    public var skippedBalloon = 0
    /// Blocks the receiver's store already held (any capsule or layer).
    public var skippedPresent = 0
    /// Of those, blocks of layers the receiver already had whole (copy-on-write).
    public var skippedInPresentLayers = 0
    public var layersOffered = 0
    public var layersTransferred = 0
    public var corruptBlocks = 0
    /// Blocks that arrived although the receiver had verified them before (must stay 0).
    public var duplicateArrivals = 0
    public var rounds = 0
    public var connections = 0
    /// Blocks sent ahead of their turn because the receiver asked (demand fetch).
    public var priorityBlocks = 0
    /// Blocks a guest resumed before the end asked for (receiver, --demand).
    public var demandRequests = 0
    /// Seconds that guest spent waiting for blocks.
    public var demandWaitSeconds = 0.0
    public var start = Date()
    /// Seconds from the start until the capsule was committed on the receiver (it could run).
    public var timeToRunnable: Double?
    public var totalTime: Double = 0
    /// Whether the sender dropped its copy after the commit.
    public var droppedSource = false
    var skipCountsSet = false

    public init() {}

    func add(_ c: FramedConnection) {
        for k in TrafficKind.allCases {
            bytesSent[k.rawValue] += c.sent[k.rawValue]
            bytesReceived[k.rawValue] += c.received[k.rawValue]
        }
    }

    /// Bytes on the wire (both directions) by kind.
    public func wireBytes(_ k: TrafficKind) -> UInt64 { bytesSent[k.rawValue] + bytesReceived[k.rawValue] }
    public var totalWireBytes: UInt64 { TrafficKind.allCases.reduce(0) { $0 + wireBytes($1) } }
    public var compressionRatio: Double { blockWireBytes == 0 ? 1 : Double(blockRawBytes) / Double(blockWireBytes) }

    public struct Report: Codable, Sendable {
        public var capsule, role, peer, manifestHash: String
        public var wireBytes: [String: UInt64]
        public var totalWireBytes: UInt64
        public var blocksOffered, blocksTransferred: Int
        public var skipped: [String: Int]
        public var layersOffered, layersTransferred: Int
        public var corruptBlocksResent, duplicateArrivals: Int
        public var compressionRatio: Double
        public var blockRawBytes, blockWireBytes: UInt64
        public var rounds, connections, priorityBlocks: Int
        public var demandRequests: Int
        public var demandWaitSeconds: Double
        public var secondsUntilRunnable: Double?
        public var totalSeconds: Double
        public var droppedSource: Bool
    }

    public var report: Report {
        var wire: [String: UInt64] = [:]
        for k in TrafficKind.allCases { wire[k.label] = wireBytes(k) }
        return Report(capsule: capsule, role: role, peer: peer, manifestHash: manifestHash, wireBytes: wire, totalWireBytes: totalWireBytes,
                      blocksOffered: blocksOffered, blocksTransferred: blocksTransferred,
                      skipped: ["zero": skippedZero, "balloon": skippedBalloon, "present": skippedPresent, "presentInLayers": skippedInPresentLayers],
                      layersOffered: layersOffered, layersTransferred: layersTransferred,
                      corruptBlocksResent: corruptBlocks, duplicateArrivals: duplicateArrivals,
                      compressionRatio: (compressionRatio * 1000).rounded() / 1000,
                      blockRawBytes: blockRawBytes, blockWireBytes: blockWireBytes,
                      rounds: rounds, connections: connections, priorityBlocks: priorityBlocks,
                      demandRequests: demandRequests, demandWaitSeconds: (demandWaitSeconds * 1000).rounded() / 1000,
                      secondsUntilRunnable: timeToRunnable.map { ($0 * 1000).rounded() / 1000 },
                      totalSeconds: (totalTime * 1000).rounded() / 1000, droppedSource: droppedSource)
    }

    public func json() -> String {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys]
        return String(decoding: (try? e.encode(report)) ?? Data(), as: UTF8.self)
    }

    /// The human-readable table.
    public func table() -> String {
        func row(_ a: String, _ b: String) -> String { a.padding(toLength: 34, withPad: " ", startingAt: 0) + b }
        var lines = ["\(role) of capsule \(capsule) \(role == "fetch" || role == "receive" ? "from" : "to") \(peer)"]
        lines.append(row("bytes on the wire", "\(totalWireBytes) (\(formatBytes(totalWireBytes)))"))
        for k in TrafficKind.allCases { lines.append(row("  \(k.label)", "\(wireBytes(k))")) }
        lines.append(row("blocks offered / transferred", "\(blocksOffered) / \(blocksTransferred)"))
        lines.append(row("blocks skipped: zero", "\(skippedZero)"))
        lines.append(row("blocks skipped: balloon", "\(skippedBalloon)"))
        lines.append(row("blocks skipped: already present", "\(skippedPresent) (\(skippedInPresentLayers) in layers the receiver had)"))
        lines.append(row("layers offered / transferred", "\(layersOffered) / \(layersTransferred)"))
        lines.append(row("corrupt blocks resent", "\(corruptBlocks)"))
        lines.append(row("compression ratio (blocks)", String(format: "%.2f (%d -> %d bytes)", compressionRatio, blockRawBytes, blockWireBytes)))
        if priorityBlocks > 0 { lines.append(row("blocks sent on demand", "\(priorityBlocks)")) }
        if demandRequests > 0 || demandWaitSeconds > 0 {
            lines.append(row("guest's demand requests / wait", String(format: "%d / %.3f s", demandRequests, demandWaitSeconds)))
        }
        lines.append(row("connections / rounds", "\(connections) / \(rounds)"))
        lines.append(row("time until runnable (guest runs)", timeToRunnable.map { String(format: "%.3f s", $0) } ?? "-"))
        lines.append(row("total time", String(format: "%.3f s", totalTime)))
        if role == "migrate" { lines.append(row("source copy", droppedSource ? "dropped" : "kept")) }
        return lines.joined(separator: "\n")
    }
}

func formatBytes(_ n: UInt64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"]
    var v = Double(n), u = 0
    while v >= 1024 && u < units.count - 1 { v /= 1024; u += 1 }
    return u == 0 ? "\(n) B" : String(format: "%.1f ", v) + units[u]
}
