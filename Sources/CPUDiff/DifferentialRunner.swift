import Foundation
import X86

/// Names of the general registers in encoding order.
public let gprNames = ["EAX", "ECX", "EDX", "EBX", "ESP", "EBP", "ESI", "EDI"]

/// Names the set EFLAGS bits of `bits`, e.g. "CF ZF".
public func flagNames(_ bits: UInt32) -> String {
    let names: [(UInt32, String)] = [
        (1 << 0, "CF"), (1 << 1, "bit1"), (1 << 2, "PF"), (1 << 3, "bit3"), (1 << 4, "AF"), (1 << 5, "bit5"),
        (1 << 6, "ZF"), (1 << 7, "SF"), (1 << 8, "TF"), (1 << 9, "IF"), (1 << 10, "DF"), (1 << 11, "OF"),
        (3 << 12, "IOPL"), (1 << 14, "NT"), (1 << 15, "bit15"), (1 << 16, "RF"), (1 << 17, "VM"),
        (1 << 18, "AC"), (1 << 19, "VIF"), (1 << 20, "VIP"), (1 << 21, "ID"),
    ]
    var out = [String]()
    for (m, n) in names where bits & m != 0 { out.append(n) }
    if bits & 0xFFC0_0000 != 0 { out.append(String(format: "high:%08x", bits & 0xFFC0_0000)) }
    return out.joined(separator: " ")
}

private func hex32(_ v: UInt32) -> String { String(format: "%08x", v) }

/// One difference between the host's final state and the emulator's.
public enum MismatchItem: Sendable, CustomStringConvertible {
    case outcome(expected: String, got: String)
    case gpr(index: Int, expected: UInt32, got: UInt32)
    case eip(expected: UInt32, got: UInt32)
    case eflags(expected: UInt32, got: UInt32, mask: UInt32)
    case memory(window: String, address: UInt32, expected: UInt8, got: UInt8)

    public var description: String {
        switch self {
        case .outcome(let e, let g): return "outcome: expected \(e), got \(g)"
        case .eip(let e, let g): return "EIP: expected \(hex32(e)) got \(hex32(g))"
        case .gpr(let i, let e, let g): return "\(gprNames[i]): expected \(hex32(e)) got \(hex32(g)) (xor \(hex32(e ^ g)))"
        case .eflags(let e, let g, let m):
            return "EFLAGS: expected \(hex32(e)) got \(hex32(g)) (compared mask \(hex32(m)); differing: \(flagNames((e ^ g) & m)))"
        case .memory(let w, let a, let e, let g):
            return "\(w)[\(hex32(a))]: expected \(String(format: "%02x", e)) got \(String(format: "%02x", g))"
        }
    }
}

/// A case the emulator got wrong, with everything needed to reproduce it.
public struct Mismatch: Sendable {
    public var testCase: DiffCase
    public var items: [MismatchItem]

    /// A readable report: the code bytes, the forms, the initial state and each difference.
    public func report(header: CaseFileHeader) -> String {
        let c = testCase
        var s = "case \(c.index): forms [\(c.forms.map { header.formName($0) }.joined(separator: "] ["))]\n"
        s += "  code @\(hex32(header.codeBase)): \(c.code.map { String(format: "%02x", $0) }.joined(separator: " "))\n"
        s += "  initial:"
        for i in 0..<8 { s += " \(gprNames[i])=\(hex32(c.initialGPRs[i]))" }
        s += " EFLAGS=\(hex32(c.initialEFLAGS)) [\(flagNames(c.initialEFLAGS))]\n"
        if c.expectedVector == nil || c.finalEIP != nil {
            s += c.expectedVector.map { "  at the fault (vector \($0)):" } ?? "  expected:"
            for i in 0..<8 { s += " \(gprNames[i])=\(hex32(c.finalGPRs[i]))" }
            s += " EFLAGS=\(hex32(c.finalEFLAGS))"
            s += c.finalEIP.map { " EIP=\(hex32($0))\n" } ?? "\n"
        }
        for item in items {
            s += "  - \(item)\n"
        }
        return s
    }
}

/// Replays cases on Capsule's CPU and compares the final state with the host's.
///
/// One CPU and one 8 MiB memory are reused between cases: the code, the data
/// window and the stack window are rewritten and the registers reloaded. After
/// a case that ended in anything but reaching the end of the code, the CPU is
/// rebuilt so that no state of a fault can leak into the next case.
public final class DifferentialRunner {
    public let header: CaseFileHeader
    public let memory: PhysicalMemory
    public private(set) var cpu: CPU
    /// Instruction budget per case (REP string instructions count per iteration).
    public var maxInstructions = 10_000
    private var lastCodeLength = 0
    private let ramSize = 8 << 20

    public init(header: CaseFileHeader) throws {
        self.header = header
        for (name, base, size) in [("code", header.codeBase, 256), ("data", header.dataBase, header.dataSize),
                                   ("stack", header.stackBase, header.stackSize)] {
            guard UInt64(base) + UInt64(size) <= UInt64(ramSize) else {
                throw CaseFileError.invalid("\(name) window at \(hex32(base)) is outside the emulator's \(ramSize >> 20) MiB of RAM")
            }
        }
        memory = PhysicalMemory(ramSize: ramSize)
        cpu = DifferentialRunner.makeCPU(memory)
    }

    private static func makeCPU(_ memory: PhysicalMemory) -> CPU {
        let cpu = CPU(memory: memory)
        cpu.stopOnException = true
        return cpu
    }

    /// Runs one case; nil when the emulator matches the host.
    public func run(_ c: DiffCase) -> Mismatch? {
        if lastCodeLength > c.code.count {
            memory.write([UInt8](repeating: 0, count: lastCodeLength - c.code.count),
                         at: header.codeBase &+ UInt32(c.code.count))
        }
        memory.write(c.code, at: header.codeBase)
        lastCodeLength = c.code.count
        memory.write(c.initialData, at: header.dataBase)
        memory.write(c.initialStack, at: header.stackBase)
        cpu.enterFlat32(cpl: 3)
        for i in 0..<8 { cpu.setGPR(i, c.initialGPRs[i]) }
        cpu.eflags = c.initialEFLAGS
        cpu.eip = header.codeBase
        let end = header.codeBase &+ UInt32(c.code.count)
        let outcome = cpu.run(until: end, maxInstructions: maxInstructions)
        defer { if outcome != .reachedEIP { cpu = DifferentialRunner.makeCPU(memory) } }

        var items = [MismatchItem]()
        let expected = c.expectedVector.map { "exception vector \($0)" } ?? "reaching the end of the code"
        switch outcome {
        case .reachedEIP:
            if c.expectedVector != nil { items.append(.outcome(expected: expected, got: "no exception")) }
        case .exception(let vector, let code):
            if c.expectedVector != vector {
                let ec = code.map { String(format: " (error code %x)", $0) } ?? ""
                items.append(.outcome(expected: expected, got: "exception vector \(vector)\(ec) at EIP \(hex32(cpu.eip))"))
            }
            // Version 2 files hold the state at the fault: a fault must leave
            // everything as it was before the faulting instruction.
            if !items.isEmpty || c.finalEIP == nil { return items.isEmpty ? nil : Mismatch(testCase: c, items: items) }
        default:
            items.append(.outcome(expected: expected, got: "\(outcome) at EIP \(hex32(cpu.eip))"))
            return Mismatch(testCase: c, items: items)
        }
        if c.expectedVector != nil && !items.isEmpty { return Mismatch(testCase: c, items: items) }

        if let e = c.finalEIP, cpu.eip != e { items.append(.eip(expected: e, got: cpu.eip)) }
        for i in 0..<8 where cpu.gpr(i) != c.finalGPRs[i] {
            items.append(.gpr(index: i, expected: c.finalGPRs[i], got: cpu.gpr(i)))
        }
        let flags = cpu.eflags
        if (flags ^ c.finalEFLAGS) & c.flagsMask != 0 {
            items.append(.eflags(expected: c.finalEFLAGS, got: flags, mask: c.flagsMask))
        }
        compareWindow("data", base: header.dataBase, expected: c.finalData, into: &items)
        compareWindow("stack", base: header.stackBase, expected: c.finalStack, into: &items)
        return items.isEmpty ? nil : Mismatch(testCase: c, items: items)
    }

    private func compareWindow(_ name: String, base: UInt32, expected: [UInt8], into items: inout [MismatchItem]) {
        let got = memory.read(base, count: expected.count)
        var shown = 0
        for i in 0..<expected.count where got[i] != expected[i] {
            if shown < 16 {
                items.append(.memory(window: name, address: base &+ UInt32(i), expected: expected[i], got: got[i]))
            }
            shown += 1
        }
        if shown > 16 {
            items.append(.outcome(expected: "\(name) window equal", got: "\(shown) differing bytes (first 16 shown)"))
        }
    }
}
