import Debugger
import X86
import XCTest

/// The disassembler: texts pinned from GNU objdump 2.40's own output, and
/// the comparison with the real objdump on a fixed-seed random suite
/// (docs/disassembler.md).
final class DisassemblerTests: XCTestCase {
    /// (code size, bytes, objdump -Mintel, objdump AT&T), recorded with
    /// `objdump -D -b binary -mi386|-mi8086 [-Mintel]`.
    static let pinned: [(Int, String, String, String)] = [
        (32, "98", "cwde", "cwtl"),
        (32, "66 98", "cbw", "cbtw"),
        (32, "60", "pusha", "pusha"),
        (32, "66 60", "pushaw", "pushaw"),
        (32, "f3 a5", "rep movs DWORD PTR es:[edi],DWORD PTR ds:[esi]", "rep movsl %ds:(%esi),%es:(%edi)"),
        (32, "c8 10 00 01", "enter 0x10,0x1", "enter $0x10,$0x1"),
        (32, "9a 01 02 03 04 05 06", "call 0x605:0x4030201", "lcall $0x605,$0x4030201"),
        (32, "ff 18", "call FWORD PTR [eax]", "lcall *(%eax)"),
        (32, "0f b6 00", "movzx eax,BYTE PTR [eax]", "movzbl (%eax),%eax"),
        (32, "0f 20 c0", "mov eax,cr0", "mov %cr0,%eax"),
        (32, "0f 21 c0", "mov eax,dr0", "mov %db0,%eax"),
        (32, "dc e1", "fsubr st(1),st", "fsub %st,%st(1)"),
        (32, "db 28", "fld TBYTE PTR [eax]", "fldt (%eax)"),
        (32, "8b 04 8d f0 ff ff ff", "mov eax,DWORD PTR [ecx*4-0x10]", "mov -0x10(,%ecx,4),%eax"),
        (32, "f0 0f c7 0c 24", "lock cmpxchg8b QWORD PTR [esp]", "lock cmpxchg8b (%esp)"),
        (32, "66 0f 85 00 01", "jne 0x105", "jne 0x105"),
        (32, "8c d8", "mov eax,ds", "mov %ds,%eax"),
        (32, "0f 01 0d 00 10 00 00", "sidtd ds:0x1000", "sidtl 0x1000"),
        (32, "d1 e0", "shl eax,1", "shl %eax"),
        (32, "a1 78 56 34 12", "mov eax,ds:0x12345678", "mov 0x12345678,%eax"),
        (16, "8b 42 80", "mov ax,WORD PTR [bp+si-0x80]", "mov -0x80(%bp,%si),%ax"),
        (16, "2e 74 00", "cs je 0x3", "je,pn 0x3"),
        (16, "67 e2 00", "addr32 loop 0x3", "loopl 0x3"),
        (16, "66 e8 00 00 00 00", "calld 0x6", "calll 0x6"),
        (16, "26 8a 07", "mov al,BYTE PTR es:[bx]", "mov %es:(%bx),%al"),
        (16, "6a ff", "push 0xffff", "push $0xffff"),
        (16, "df e0", "fnstsw ax", "fnstsw %ax"),
    ]

    static func bytes(_ hex: String) -> [UInt8] { hex.split(separator: " ").map { UInt8($0, radix: 16)! } }

    func testPinnedTexts() {
        let intel = Disassembler(syntax: .intel), att = Disassembler(syntax: .att)
        for (bits, hex, i, a) in DisassemblerTests.pinned {
            let b = DisassemblerTests.bytes(hex)
            let ri = intel.disassemble(bytes: b, address: 0, bits32: bits == 32)
            let ra = att.disassemble(bytes: b, address: 0, bits32: bits == 32)
            XCTAssertEqual(ri.length, b.count, hex)
            XCTAssertEqual(DisasmComparison.normalize(ri.text), i, "\(bits)-bit \(hex) Intel")
            XCTAssertEqual(DisasmComparison.normalize(ra.text), a, "\(bits)-bit \(hex) AT&T")
        }
    }

    func testObjdumpLayoutAndUndefinedBytes() {
        let intel = Disassembler()
        XCTAssertEqual(intel.disassemble(bytes: [0x8B, 0x45, 0x08], address: 0, bits32: true).text, "mov    eax,DWORD PTR [ebp+0x8]")
        XCTAssertEqual(intel.disassemble(bytes: [0xC3], address: 0, bits32: true).text, "ret")
        XCTAssertEqual(intel.disassemble(bytes: [0xEB, 0xFE], address: 0x1000, bits32: true).text, "jmp    0x1000")
        // The CPU's #UD encodings are (bad), with the length the CPU decodes.
        XCTAssertEqual(intel.disassemble(bytes: [0x0F, 0x0B], address: 0, bits32: true).text, "(bad)")
        XCTAssertEqual(intel.disassemble(bytes: [0x0F, 0x0B], address: 0, bits32: true).length, 2)
        XCTAssertEqual(intel.disassemble(bytes: [0x8D, 0xC0], address: 0, bits32: true).text, "(bad)")
        // Truncated input.
        XCTAssertEqual(intel.disassemble(bytes: [0xB8, 0x01], address: 0, bits32: true).text, "(bad)")
        XCTAssertEqual(intel.disassemble(bytes: [], address: 0, bits32: true).length, 0)
        // SALC: executed by the CPU, named here though objdump has no name.
        XCTAssertEqual(intel.disassemble(bytes: [0xD6], address: 0, bits32: true).text, "salc")
    }

    /// Any bytes give a text and a length within the bytes (never a crash).
    func testRandomBytesNeverCrash() {
        var state: UInt64 = 42
        let dis = [Disassembler(syntax: .intel), Disassembler(syntax: .att)]
        for i in 0..<20_000 {
            let n = 1 + i % 16
            let bytes = (0..<n).map { _ -> UInt8 in
                state = state &* 6_364_136_223_846_793_005 &+ 1
                return UInt8(truncatingIfNeeded: state >> 33)
            }
            let r = dis[i & 1].disassemble(bytes: bytes, address: UInt32(i), bits32: i & 2 == 0)
            XCTAssertTrue((1...n).contains(r.length))
            XCTAssertFalse(r.text.isEmpty)
        }
    }

    func testSixteenBitBranchTargetsWrapLikeIP() {
        let intel = Disassembler()
        // jmp rel16 at IP 0xFFF0 to 0xFFF3 + 0x20 wraps to 0x0013.
        XCTAssertEqual(DisasmComparison.normalize(intel.disassemble(bytes: [0xE9, 0x20, 0x00], address: 0xFFF0, bits32: false).text), "jmp 0x13")
        // 66 in 32-bit code: EIP is masked to 16 bits.
        XCTAssertEqual(DisasmComparison.normalize(intel.disassemble(bytes: [0x66, 0xE9, 0x00, 0x80], address: 0, bits32: true).text), "jmpw 0x8004")
    }

    func objdumpOrSkip() throws -> ObjdumpRunner {
        do { return try ObjdumpRunner() } catch { throw XCTSkip("\(error)") }
    }

    /// The comparison resynchronizes after a length mismatch: objdump folds
    /// FWAIT into the following FNSTCW (one 3-byte FSTCW), which is one
    /// mismatch; the FNSTCW it swallowed is retried, and the NOP after it
    /// still compares.
    func testComparisonCountsOneMismatchAndResynchronizes() throws {
        let check = DisasmComparison(runner: try objdumpOrSkip())
        var summary = DisasmComparison.Summary()
        var retry: [[UInt8]] = []
        let decided = try check.compareBatch([[0x9B], [0xD9, 0x38], [0x90]], bits32: true, syntax: .intel,
                                             into: &summary, retry: &retry)
        XCTAssertEqual(decided, 2)
        XCTAssertEqual(summary.mismatches, 1)
        XCTAssertEqual(retry, [[0xD9, 0x38]])
        XCTAssertEqual(summary.examples.first?.objdump, "fstcw WORD PTR [eax]")
    }

    /// ≥ 20,000 random instructions over every implemented opcode, in both
    /// syntaxes and both code sizes, against the real objdump.
    func testFixedSeedSuiteMatchesObjdump() throws {
        let check = DisasmComparison(runner: try objdumpOrSkip())
        let summary = try check.run(cases: 40_000, seed: 20_261_207, batchSize: 10_000)
        print("disasm-check: \(summary.report)")
        XCTAssertEqual(summary.cases, 40_000)
        for k in ["16-bit att", "16-bit intel", "32-bit att", "32-bit intel"] {
            XCTAssertEqual(summary.perConfiguration[k]?.cases, 10_000, k)
        }
        XCTAssertEqual(summary.formsSeen.count, summary.formsDefined, "every defined form is compared")
        XCTAssertEqual(summary.mismatches, 0, summary.report)
    }
}
