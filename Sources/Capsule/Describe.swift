import Foundation

/// Human-readable forms for the CLI (`capsule ls/inspect/gc/disk info`),
/// so the command layer stays thin.

/// "4.0 KiB", "1.5 MiB", "12 B".
public func formatBytes(_ n: UInt64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"]
    var v = Double(n)
    var u = 0
    while v >= 1024 && u < units.count - 1 { v /= 1024; u += 1 }
    return u == 0 ? "\(n) B" : String(format: "%.1f %@", v, units[u])
}

extension Store.Summary: CustomStringConvertible {
    /// One line of `capsule ls`.
    public var description: String {
        if let p = problem { return "\(name)  DAMAGED: \(p)" }
        var s = "\(name)  \(created ?? "?")  \(formatBytes(UInt64(memoryPages) * 4096)) RAM (\(storedPages) pages stored)"
        if !disks.isEmpty { s += "  disks: \(disks.joined(separator: ", "))" }
        if let p = parent { s += "  parent: \(p)" }
        return s
    }
}

extension Store.Inspection: CustomStringConvertible {
    /// `capsule inspect NAME`.
    public var description: String {
        var lines = ["capsule \(name)",
                     "  manifest hash  \(manifestHash)",
                     "  created        \(created)"]
        if let p = parent { lines.append("  parent         \(p.name) (\(p.manifestHash.hex.prefix(16))…)") }
        for (k, v) in machine.sorted(by: { $0.key < $1.key }) { lines.append("  machine.\(k) = \(v)") }
        lines.append("  state          \(formatBytes(stateBytes)) in \(stateSections.count) sections")
        for s in stateSections {
            lines.append("    \(s.tag) v\(s.version)  \(formatBytes(UInt64(s.bytes)))" + (s.subsections.isEmpty ? "" : "  (\(s.subsections.joined(separator: ", ")))"))
        }
        lines.append("  memory         \(formatBytes(UInt64(memoryPages) * 4096)), \(memoryStoredPages) of \(memoryPages) pages not zero")
        for d in disks { lines.append("  disk \(d.name)  \(formatBytes(d.size)), \(d.layers) layers, \(d.blocks) blocks") }
        if inputLogEvents > 0 { lines.append("  input log      \(inputLogEvents) events") }
        if let line = replayLine { lines.append("  " + line) }
        lines.append("  blocks         \(distinctBlocks) distinct")
        lines.append("  store bytes    \(formatBytes(uniqueBytes)) only this capsule, \(formatBytes(sharedBytes)) shared with others")
        return lines.joined(separator: "\n")
    }
}

extension Store.Inspection {
    /// What `capsule replay` would re-execute, or why it cannot.
    public var replayLine: String? {
        guard let r = run else { return nil }
        var s = "replay: last run \(r.instructions) instructions from base \(r.base.hex.prefix(16))…, \(r.events.count) input events"
        if r.debugged { s += " (under gdb: not replayable)" } else if !replayBaseKept { s += " (base not kept here: not replayable)" }
        return s
    }
}

extension LayeredDisk.Info: CustomStringConvertible {
    /// `capsule disk info`.
    public var description: String {
        var lines = ["size \(formatBytes(size)), \(layers.count) sealed layers, top layer \(topBlocks) blocks"]
        for (i, l) in layers.enumerated() {
            lines.append("  layer \(i)  \(l.name.hex.prefix(16))…  \(l.blocks) blocks\(l.zeroBlocks > 0 ? " (\(l.zeroBlocks) zeroed)" : "")")
        }
        lines.append("  \(visibleBlocks) blocks hold data; \(formatBytes(referencedBytes)) referenced by the layers")
        lines.append("  unique \(formatBytes(uniqueBytes)), shared \(formatBytes(sharedBytes)), stored \(formatBytes(storedBytes)) (compressed)")
        return lines.joined(separator: "\n")
    }
}
