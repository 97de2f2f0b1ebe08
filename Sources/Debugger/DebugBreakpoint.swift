import X86

/// One stop condition of `capsule debug`, numbered as the user sees it.
public struct DebugBreakpoint: Equatable {
    public enum Kind: Equatable {
        /// Before the instruction at this linear address runs.
        case linear(UInt32)
        /// Before an instruction fetched from this physical address runs.
        case physical(UInt32)
        /// After an IN/OUT that touches this port.
        case ioPort(UInt16)
        /// At the first handler instruction after this vector is delivered.
        case vector(UInt8)
        /// After an instruction that changes real/protected/V86 mode or paging.
        case modeChange
        /// After an instruction that reads/writes these linear bytes.
        case watch(Watchpoint)
    }

    /// `REG==VALUE` or `REG!=VALUE`, checked when an address breakpoint is
    /// reached (e.g. only the kernel's entry, CS 0x10, not other code there).
    public struct Condition: Equatable {
        public var register: String
        public var equal: Bool
        public var value: UInt32

        public init(register: String, equal: Bool, value: UInt32) {
            self.register = register
            self.equal = equal
            self.value = value
        }

        public func holds(_ cpu: CPU) -> Bool {
            guard let v = RegisterSnapshot(cpu).value(register) else { return false }
            return (v == value) == equal
        }

        public var description: String { "\(register)\(equal ? "==" : "!=")\(hex(value))" }
    }

    public var id: Int
    public var kind: Kind
    public var condition: Condition?

    public var description: String {
        guard let condition else { return kindDescription }
        return kindDescription + " if " + condition.description
    }

    var kindDescription: String {
        switch kind {
        case .linear(let a): return "break linear \(hex32(a))"
        case .physical(let a): return "break physical \(hex32(a))"
        case .ioPort(let p): return "break io port \(hex16(p))"
        case .vector(let v): return "break vector \(hex8(v))"
        case .modeChange: return "break mode change"
        case .watch(let w):
            let k = w.kind == .write ? "write" : w.kind == .read ? "read" : "access"
            return "watch \(k) \(hex32(w.address)) length \(w.length)"
        }
    }
}

/// Zero-padded lower-case hex without a prefix.
func hexPad<T: BinaryInteger>(_ v: T, _ digits: Int) -> String {
    let s = String(v, radix: 16)
    return s.count >= digits ? s : String(repeating: "0", count: digits - s.count) + s
}
func hex32(_ v: UInt32) -> String { "0x" + hexPad(v, 8) }
func hex16(_ v: UInt16) -> String { "0x" + hexPad(v, 4) }
func hex8(_ v: UInt8) -> String { "0x" + hexPad(v, 2) }
