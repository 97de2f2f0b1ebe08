import COpenSSL

/// OpenSSL's per-thread error queue, read out as (reason code, text) pairs.
/// The queue is drained after every failed call so that the next failure
/// is not blamed on an old one.
struct OpenSSLErrors {
    struct Entry {
        let library: Int32
        let reason: Int32
        let text: String
    }

    var entries: [Entry]

    static func drain() -> OpenSSLErrors {
        var out: [Entry] = []
        while true {
            let e = ERR_get_error()
            if e == 0 { break }
            var buf = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(e, &buf, buf.count)
            let reasonText = ERR_reason_error_string(e).map { String(cString: $0) } ?? String(cString: buf)
            out.append(Entry(library: capsule_ERR_GET_LIB(e), reason: capsule_ERR_GET_REASON(e), text: reasonText))
        }
        return OpenSSLErrors(entries: out)
    }

    func has(_ reason: Int32) -> Bool {
        entries.contains { $0.library == ERR_LIB_SSL && $0.reason == reason }
    }

    var isEmpty: Bool { entries.isEmpty }

    /// "reason; reason" (most specific first as OpenSSL queues them), or
    /// "no OpenSSL error recorded".
    var text: String {
        entries.isEmpty ? "no OpenSSL error recorded" : entries.map(\.text).joined(separator: "; ")
    }
}
