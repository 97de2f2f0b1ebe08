import X86

/// The register file as gdb sees it: numbering, sizes, the `g` packet layout
/// and the target description (`target.xml`) that tells gdb all of this.
///
/// Numbers 0–31 are gdb's i386 core registers in gdb's order (the
/// `org.gnu.gdb.i386.core` feature must hold exactly these names: the eight
/// general registers, eip, eflags, the six selectors, st0–st7 and the eight
/// x87 control registers). The rest are Capsule's own feature,
/// `org.capsule.x86.system`: control and debug registers, segment bases and
/// the descriptor-table registers. The `g` packet carries every register in
/// number order, little-endian.
public enum GDBRegisters {
    public struct Register {
        public let name: String
        public let bits: Int
        public let type: String
        public let group: String?
        /// Writable through `P`/`G` (the others are read-only views).
        public let writable: Bool
        public var bytes: Int { bits / 8 }
    }

    /// Index of the first register of Capsule's own feature.
    public static let coreCount = 32

    public static let registers: [Register] = {
        var r: [Register] = []
        func add(_ name: String, _ type: String, _ group: String? = nil, bits: Int = 32, writable: Bool = true) {
            r.append(Register(name: name, bits: bits, type: type, group: group, writable: writable))
        }
        for name in ["eax", "ecx", "edx", "ebx"] { add(name, "int32") }
        add("esp", "data_ptr"); add("ebp", "data_ptr")
        add("esi", "int32"); add("edi", "int32")
        add("eip", "code_ptr")
        add("eflags", "i386_eflags")
        for name in ["cs", "ss", "ds", "es", "fs", "gs"] { add(name, "int32") }
        for i in 0..<8 { add("st\(i)", "i387_ext", "float", bits: 80) }
        for name in ["fctrl", "fstat", "ftag", "fiseg", "fioff", "foseg", "fooff", "fop"] { add(name, "int", "float") }
        // Capsule's system feature.
        for name in ["cr0", "cr2", "cr3", "cr4"] { add(name, "uint32", "system") }
        for name in ["dr0", "dr1", "dr2", "dr3", "dr6", "dr7"] { add(name, "uint32", "system", writable: false) }
        for name in ["cs_base", "ss_base", "ds_base", "es_base", "fs_base", "gs_base"] {
            add(name, "uint32", "system", writable: false)
        }
        for name in ["gdtr_base", "gdtr_limit", "idtr_base", "idtr_limit", "ldtr", "tr"] {
            add(name, "uint32", "system", writable: false)
        }
        return r
    }()

    public static func number(of name: String) -> Int? { registers.firstIndex { $0.name == name } }

    /// gdb's selector order (cs ss ds es fs gs) mapped to the CPU's
    /// segment-register index (ES CS SS DS FS GS).
    static let selectorSegment = [1, 2, 3, 0, 4, 5]

    /// Bytes of the whole `g` packet.
    public static var gPacketSize: Int { registers.reduce(0) { $0 + $1.bytes } }

    // MARK: Reading

    /// Register `n` as little-endian bytes, or nil for an unknown number.
    public static func read(_ n: Int, from cpu: CPU) -> [UInt8]? {
        guard n >= 0, n < registers.count else { return nil }
        switch n {
        case 16..<24:
            let phys = (Int(cpu.fpu.status >> 11) + (n - 16)) & 7
            return le(cpu.fpu.registers[phys].significand, 8) + le(UInt64(cpu.fpu.registers[phys].signExp), 2)
        default:
            return le(UInt64(value32(n, cpu)), 4)
        }
    }

    /// The value of a 32-bit register (everything but st0–st7).
    static func value32(_ n: Int, _ cpu: CPU) -> UInt32 {
        switch n {
        case 0..<8: return cpu.gpr(n)
        case 8: return cpu.eip
        case 9: return cpu.eflags
        case 10..<16: return UInt32(cpu.segment(selectorSegment[n - 10]).selector)
        case 24: return UInt32(cpu.fpu.control)
        case 25: return UInt32(cpu.fpu.status)
        case 26: return UInt32(cpu.fpu.tag)
        case 27: return UInt32(cpu.fpu.lastCS)
        case 28: return cpu.fpu.lastIP
        case 29: return UInt32(cpu.fpu.lastDS)
        case 30: return cpu.fpu.lastDP
        case 31: return UInt32(cpu.fpu.lastOpcode)
        case 32: return cpu.cr0
        case 33: return cpu.cr2
        case 34: return cpu.cr3
        case 35: return cpu.cr4
        case 36..<40: return cpu.dr[n - 36]
        case 40: return cpu.dr[6]
        case 41: return cpu.dr[7]
        case 42..<48: return cpu.segment(selectorSegment[n - 42]).base
        case 48: return cpu.gdtrBase
        case 49: return cpu.gdtrLimit
        case 50: return cpu.idtrBase
        case 51: return cpu.idtrLimit
        case 52: return UInt32(cpu.segment(6).selector)
        case 53: return UInt32(cpu.segment(7).selector)
        default: return 0
        }
    }

    /// All registers in number order: the `g` packet's contents.
    public static func readAll(from cpu: CPU) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(gPacketSize)
        for n in 0..<registers.count { out += read(n, from: cpu)! }
        return out
    }

    // MARK: Writing

    /// Writes register `n` from little-endian bytes. A read-only register
    /// accepts only its current value. False for an unknown number, a wrong
    /// size, or a change to a read-only register.
    @discardableResult
    public static func write(_ n: Int, _ bytes: [UInt8], to cpu: CPU) -> Bool {
        guard n >= 0, n < registers.count, bytes.count == registers[n].bytes else { return false }
        if n >= 16 && n < 24 {
            let phys = (Int(cpu.fpu.status >> 11) + (n - 16)) & 7
            cpu.fpu.registers[phys] = X87Float(signExp: UInt16(UInt64(fromLE: bytes, 8, 2)), significand: UInt64(fromLE: bytes, 0, 8))
            return true
        }
        let v = UInt32(UInt64(fromLE: bytes, 0, 4))
        if v == value32(n, cpu) { return true } // nothing to do, and no side effects
        guard registers[n].writable else { return false }
        switch n {
        case 0..<8: cpu.setGPR(n, v)
        case 8: cpu.eip = v
        case 9: cpu.setEflagsForDebugger(v)
        case 10..<16:
            let seg = selectorSegment[n - 10]
            cpu.setSegmentSelector(seg, UInt16(truncatingIfNeeded: v))
            return cpu.segment(seg).selector == UInt16(truncatingIfNeeded: v)
        case 24: cpu.fpu.control = UInt16(truncatingIfNeeded: v)
        case 25: cpu.fpu.status = UInt16(truncatingIfNeeded: v)
        case 26: cpu.fpu.tag = UInt16(truncatingIfNeeded: v)
        case 27: cpu.fpu.lastCS = UInt16(truncatingIfNeeded: v)
        case 28: cpu.fpu.lastIP = v
        case 29: cpu.fpu.lastDS = UInt16(truncatingIfNeeded: v)
        case 30: cpu.fpu.lastDP = v
        case 31: cpu.fpu.lastOpcode = UInt16(truncatingIfNeeded: v & 0x7FF)
        case 32: cpu.setControlRegister(0, v)
        case 33: cpu.setControlRegister(2, v)
        case 34: cpu.setControlRegister(3, v)
        case 35: cpu.setControlRegister(4, v)
        default: return false
        }
        return true
    }

    /// Writes the whole `g` layout (a `G` packet). Registers whose bytes are
    /// unchanged are left alone, so read-only registers pass through.
    @discardableResult
    public static func writeAll(_ bytes: [UInt8], to cpu: CPU) -> Bool {
        guard bytes.count == gPacketSize else { return false }
        var offset = 0
        var ok = true
        for n in 0..<registers.count {
            let size = registers[n].bytes
            let chunk = Array(bytes[offset..<offset + size])
            offset += size
            if chunk != read(n, from: cpu)! { ok = write(n, chunk, to: cpu) && ok }
        }
        return ok
    }

    static func le(_ v: UInt64, _ count: Int) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: v >> (8 * UInt64($0))) }
    }

    // MARK: Target description

    static let eflagsFields: [(String, Int)] = [
        ("CF", 0), ("PF", 2), ("AF", 4), ("ZF", 6), ("SF", 7), ("TF", 8), ("IF", 9),
        ("DF", 10), ("OF", 11), ("NT", 14), ("RF", 16), ("VM", 17), ("AC", 18), ("VIF", 19),
        ("VIP", 20), ("ID", 21),
    ]

    /// The target description gdb reads with `qXfer:features:read:target.xml`.
    public static let targetXML: String = {
        var x = """
        <?xml version="1.0"?>
        <!DOCTYPE target SYSTEM "gdb-target.dtd">
        <target version="1.0">
          <architecture>i386</architecture>
          <feature name="org.gnu.gdb.i386.core">
            <flags id="i386_eflags" size="4">

        """
        for (name, bit) in eflagsFields {
            x += "      <field name=\"\(name)\" start=\"\(bit)\" end=\"\(bit)\"/>\n"
        }
        x += "    </flags>\n"
        for (n, r) in registers.enumerated() {
            if n == coreCount {
                x += "  </feature>\n  <feature name=\"org.capsule.x86.system\">\n"
            }
            x += "    <reg name=\"\(r.name)\" bitsize=\"\(r.bits)\" type=\"\(r.type)\" regnum=\"\(n)\""
            if let g = r.group { x += " group=\"\(g)\"" }
            x += "/>\n"
        }
        x += "  </feature>\n</target>\n"
        return x
    }()
}

extension UInt64 {
    /// Little-endian value of `count` bytes of `bytes` from `start`.
    init(fromLE bytes: [UInt8], _ start: Int, _ count: Int) {
        var v: UInt64 = 0
        for i in 0..<count { v |= UInt64(bytes[start + i]) << (8 * UInt64(i)) }
        self = v
    }
}
