import XCTest
@testable import X86

/// The instruction table against the executor that it describes: for every
/// opcode, every ModRM byte and a few prefix mixes, the executor raises #UD
/// exactly when the decoder says `.invalidOpcode`, and an instruction that
/// falls through advances EIP by exactly the decoded length.
final class DecoderMatchesExecutorTests: XCTestCase {
    let decoder = InstructionDecoder()
    let table = InstructionTable.shared
    let codeBase: UInt32 = 0x10000

    /// #UD that depends on machine state rather than on the bytes: the
    /// executor checks these, the table (rightly) calls them defined.
    func stateDependentUD(_ d: DecodedInstruction, realMode: Bool) -> Bool {
        switch d.opcode {
        case 0x120, 0x122: return [1, 5, 6, 7].contains(d.reg) // CR1, CR5–CR7 (after the CPL check)
        case 0x100, 0x102, 0x103, 0x63: return realMode       // protected-mode only
        default: return false
        }
    }

    /// Opcodes whose next EIP is not the next instruction (or that may not
    /// complete in the harness: HLT, interrupts, far transfers...).
    func transfersControl(_ d: DecodedInstruction) -> Bool {
        switch d.opcode {
        case 0x9A, 0xC2, 0xC3, 0xCA, 0xCB, 0xCC, 0xCD, 0xCE, 0xCF, 0xEA, 0xF1, 0xF4, 0x134, 0x135:
            return true
        case 0xFF: return (2...5).contains(d.reg)
        default: return false
        }
    }

    struct Failure: CustomStringConvertible {
        let bytes: [UInt8]; let bits32: Bool; let what: String
        var description: String { "\(bits32 ? 32 : 16)-bit \(bytes.map { String(format: "%02x", $0) }.joined(separator: " ")): \(what)" }
    }

    /// A relative branch with a 16-bit operand size truncates EIP to 16 bits.
    func nextEIPMatches(_ d: DecodedInstruction, start: UInt32, eip: UInt32) -> Bool {
        let next = start &+ UInt32(d.length)
        if eip == next { return true }
        let relative = table.form(of: d).operands.contains { $0 == .Jb || $0 == .Jz }
        return relative && !d.opsize32 && eip == next & 0xFFFF
    }

    /// Every ModRM byte, or (`allModRM` false) every mod and reg with the
    /// r/m values that change the length (0, 4 = SIB, 5 = disp32, 6 = disp16).
    func sweep(bits32: Bool, prefixes: [UInt8], allModRM: Bool, failures: inout [Failure]) -> Int {
        let memory = PhysicalMemory(ramSize: 1 << 20)
        let cpu = CPU(memory: memory)
        cpu.stopOnException = true
        var cases = 0
        for opcode in 0..<0x200 {
            if opcode == 0x0F || table.isPrefix(opcode) { continue }
            let opBytes: [UInt8] = opcode >= 0x100 ? [0x0F, UInt8(opcode & 0xFF)] : [UInt8(opcode)]
            let hasModRM = table.forms[table.formIndex(opcode: opcode, modrm: 0)].operands.contains { $0.usesModRM }
                || decoder.decode(prefixes + opBytes + [UInt8](repeating: 0, count: 14), code32: bits32).1.hasModRM
            for modrm in 0..<(hasModRM ? 256 : 1) {
                if hasModRM && !allModRM && ![0, 4, 5, 6, 7].contains(modrm & 7) { continue }
                let bytes = prefixes + opBytes + (hasModRM ? [UInt8(modrm)] : [])
                let padded = bytes + [UInt8](repeating: 0, count: 12)
                let (result, d) = decoder.decode(padded, code32: bits32)
                if result == .tooLong { continue }
                cases += 1
                cpu.reset()
                if bits32 {
                    cpu.enterFlat32(cpl: 0)
                    cpu.eip = codeBase
                } else {
                    cpu.setSegmentSelector(CPU.segCS, UInt16(codeBase >> 4))
                    cpu.eip = 0
                }
                for r in 0..<8 { cpu.setGPR(r, 0x2000) }
                memory.write(padded, at: codeBase)
                let start = cpu.eip
                let outcome = cpu.step()
                var executorUD = false
                if case .exception(let vector, _) = outcome, vector == 6 { executorUD = true }
                let decoderUD = result == .invalidOpcode
                if executorUD != decoderUD && !(executorUD && stateDependentUD(d, realMode: !bits32)) {
                    failures.append(Failure(bytes: bytes, bits32: bits32,
                                            what: "executor \(executorUD ? "#UD" : "\(outcome)"), decoder \(result) (\(table.form(of: d).source))"))
                    continue
                }
                if outcome == .instructionLimit && !transfersControl(d) && !nextEIPMatches(d, start: start, eip: cpu.eip) {
                    failures.append(Failure(bytes: bytes, bits32: bits32,
                                            what: "executor length \(cpu.eip &- start), decoder \(d.length) (\(table.form(of: d).source))"))
                }
            }
        }
        return cases
    }

    func check(bits32: Bool, prefixes: [UInt8]) {
        var failures: [Failure] = []
        let n = sweep(bits32: bits32, prefixes: prefixes, allModRM: prefixes.isEmpty, failures: &failures)
        XCTAssertGreaterThan(n, prefixes.isEmpty ? 30_000 : 15_000)
        XCTAssertEqual(failures.count, 0, "\(failures.count) of \(n) disagree; first:\n" + failures.prefix(40).map(\.description).joined(separator: "\n"))
    }

    func testProtectedMode32() { check(bits32: true, prefixes: []) }
    func testProtectedMode32WithOperandSizePrefix() { check(bits32: true, prefixes: [0x66]) }
    func testProtectedMode32WithAddressSizePrefix() { check(bits32: true, prefixes: [0x67]) }
    func testProtectedMode32WithLock() { check(bits32: true, prefixes: [0xF0]) }
    func testRealMode16() { check(bits32: false, prefixes: []) }
    func testRealMode16WithBothSizePrefixes() { check(bits32: false, prefixes: [0x66, 0x67]) }
}
