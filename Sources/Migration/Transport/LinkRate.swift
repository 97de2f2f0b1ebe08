/// Parsers for the link-emulation options, in `tc`'s notation so that a
/// value means the same here as in the benchmark's `tc tbf`/`netem` lines:
///
///   --bandwidth: a number with a unit, case-insensitive.
///     bits per second:  bit, kbit, mbit, gbit (×1000), kibit, mibit, gibit (×1024)
///     BYTES per second: bps, kbps, mbps, gbps (×1000), kibps, mibps, gibps (×1024)
///     (as in tc, "kbps" is kilobytes per second: 48kbps = 384kbit)
///   --latency: a number with us, ms or s.
public enum LinkRate {
    private static let bandwidthUnits: [String: Double] = [
        "bit": 1, "kbit": 1e3, "mbit": 1e6, "gbit": 1e9,
        "kibit": 1024, "mibit": 1024 * 1024, "gibit": 1024 * 1024 * 1024,
        "bps": 8, "kbps": 8e3, "mbps": 8e6, "gbps": 8e9,
        "kibps": 8 * 1024, "mibps": 8 * 1024 * 1024, "gibps": 8 * 1024 * 1024 * 1024,
    ]
    private static let latencyUnits: [String: Double] = ["us": 1e-6, "ms": 1e-3, "s": 1]

    /// `--bandwidth` in bits per second.
    public static func parseBandwidth(_ text: String) throws(TransportSetupError) -> Double {
        let (value, unit) = try split(text, option: "--bandwidth")
        guard !unit.isEmpty else {
            throw TransportSetupError("--bandwidth \(text): add a unit, e.g. 384kbit (bits/s) or 48kbps (bytes/s)")
        }
        guard let scale = bandwidthUnits[unit] else {
            throw TransportSetupError("--bandwidth \(text): unknown unit '\(unit)' (use bit, kbit, mbit, gbit, or bps, kbps, mbps, gbps for bytes/s)")
        }
        let bits = value * scale
        guard bits >= 8, bits.isFinite else {
            throw TransportSetupError("--bandwidth \(text): must be at least 8 bit/s")
        }
        return bits
    }

    /// `--latency` in seconds (0 allowed, at most 60 s).
    public static func parseLatency(_ text: String) throws(TransportSetupError) -> Double {
        let (value, unit) = try split(text, option: "--latency")
        if value == 0 && unit.isEmpty { return 0 }
        guard let scale = latencyUnits[unit] else {
            throw TransportSetupError("--latency \(text): give a unit: us, ms or s (e.g. 20ms)")
        }
        let s = value * scale
        guard s <= 60 else { throw TransportSetupError("--latency \(text): more than 60 s") }
        return s
    }

    /// "384kbit" -> (384, "kbit"); the number must be a plain non-negative decimal.
    private static func split(_ text: String, option: String) throws(TransportSetupError) -> (Double, String) {
        let t = text.lowercased()
        let numberPart = t.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
        let unit = String(t.dropFirst(numberPart.count))
        guard !numberPart.isEmpty, numberPart.filter({ $0 == "." }).count <= 1,
              numberPart.first != ".", numberPart.last != ".",
              let v = Double(numberPart), v.isFinite else {
            throw TransportSetupError("\(option) \(text): expected a number with a unit")
        }
        return (v, unit)
    }

    /// "384 kbit/s" style text for reports.
    public static func describe(bitsPerSecond b: Double) -> String {
        if b >= 1e9 { return "\(trim(b / 1e9)) Gbit/s" }
        if b >= 1e6 { return "\(trim(b / 1e6)) Mbit/s" }
        if b >= 1e3 { return "\(trim(b / 1e3)) kbit/s" }
        return "\(trim(b)) bit/s"
    }

    private static func trim(_ v: Double) -> String {
        v == v.rounded() ? String(Int(v)) : String(format3(v))
    }

    private static func format3(_ v: Double) -> String {
        let scaled = (v * 1000).rounded() / 1000
        return String(scaled)
    }
}
