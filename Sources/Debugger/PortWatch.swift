import X86

/// I/O port breakpoints: the debugger puts this in front of the CPU's port
/// space while it is attached. The CPU itself is untouched, so a machine
/// without a debugger pays nothing; with one, each IN/OUT costs one set
/// lookup. A hit stops the CPU after the instruction (a trap, as DR7 I/O
/// breakpoints are).
public final class PortWatch: IOPortHandler {
    public let inner: IOPortHandler
    private weak var cpu: CPU?
    /// Watched ports (an access of `width` bytes at p touches p...p+width-1).
    public var ports = Set<UInt16>()
    /// Off while history is re-run.
    public var active = true

    public init(cpu: CPU) {
        self.cpu = cpu
        self.inner = cpu.io
    }

    public func ioRead(port: UInt16, width: Int) -> UInt32 {
        let v = inner.ioRead(port: port, width: width)
        if active && !ports.isEmpty { check(port, width, write: false, v) }
        return v
    }

    public func ioWrite(port: UInt16, width: Int, value: UInt32) {
        inner.ioWrite(port: port, width: width, value: value)
        if active && !ports.isEmpty { check(port, width, write: true, value) }
    }

    private func check(_ port: UInt16, _ width: Int, write: Bool, _ value: UInt32) {
        for i in 0..<width where ports.contains(port &+ UInt16(i)) {
            cpu?.raiseDebugEvent(.ioPort(port: port, width: width, write: write, value: value))
            return
        }
    }
}
