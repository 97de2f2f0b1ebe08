/// Parses sizes such as "16M", "512MiB", "1G", "65536".
func parseSize(_ text: String) -> Int? {
    var digits = text.uppercased()
    for suffix in ["IB", "B"] where digits.hasSuffix(suffix) && digits.count > suffix.count {
        digits.removeLast(suffix.count)
    }
    var scale = 1
    if let last = digits.last, let s = ["K": 1 << 10, "M": 1 << 20, "G": 1 << 30][String(last)] {
        scale = s
        digits.removeLast()
    }
    guard let n = Int(digits), n > 0 else { return nil }
    let (r, overflow) = n.multipliedReportingOverflow(by: scale)
    return overflow ? nil : r
}
