import Foundation
import X86
#if canImport(Glibc)
import Glibc
#endif

/// If the emulator itself dies (a Swift runtime trap, a bad memory access
/// in host code), say where the guest was: CS:EIP, the instruction bytes
/// and the instruction count, so the failure can be reproduced from a
/// capsule. The report is best effort — the process is already dying.
enum CrashReporter {
    nonisolated(unsafe) static var cpu: CPU?

    static func install(_ c: CPU) {
        cpu = c
        for s in [SIGILL, SIGTRAP, SIGSEGV, SIGBUS, SIGFPE] {
            signal(s) { sig in CrashReporter.report(sig) }
        }
    }

    static func report(_ sig: Int32) {
        if let cpu {
            let start = cpu.currentInstructionStart
            let lin = cpu.segment(1).base &+ start
            let bytes = (cpu.debugRead(linear: lin, count: 15) ?? []).map { String(format: "%02x", $0) }.joined(separator: " ")
            let msg = "capsule: emulator internal error (signal \(sig)) while executing guest instruction at "
                + String(format: "%04X:%08X", cpu.segment(1).selector, start)
                + " [\(bytes)] after \(cpu.instructionCount) instructions\n"
            msg.withCString { _ = write(2, $0, strlen($0)) }
        }
        signal(sig, SIG_DFL)
        raise(sig)
    }
}
