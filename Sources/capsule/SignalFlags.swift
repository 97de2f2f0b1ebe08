#if canImport(Glibc)
import Glibc
#endif

/// SIGTERM asks a running capsule to suspend at the next slice boundary;
/// the handler only sets a flag (the only async-signal-safe thing to do).
enum SignalFlags {
    nonisolated(unsafe) static var terminate: sig_atomic_t = 0

    static func install() {
        signal(SIGTERM) { _ in SignalFlags.terminate = 1 }
    }
}

