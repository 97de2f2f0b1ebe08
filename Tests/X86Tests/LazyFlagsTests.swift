@testable import X86
import XCTest

/// Pins the lazy-flag machinery against flags computed by hand.
final class LazyFlagsTests: XCTestCase {
    func cpu(_ code: [UInt8]) -> CPU { flatCPU(code) }

    func testAddOverflowAndCarry() {
        // mov eax, 0x7fffffff ; add eax, 1
        let c = cpu([0xB8, 0xFF, 0xFF, 0xFF, 0x7F, 0x83, 0xC0, 0x01])
        XCTAssertEqual(c.run(until: 0x1008, maxInstructions: 10), .reachedEIP)
        let f = c.eflags
        XCTAssertEqual(f & EFlags.of, EFlags.of)
        XCTAssertEqual(f & EFlags.cf, 0)
        XCTAssertEqual(f & EFlags.sf, EFlags.sf)
        XCTAssertEqual(f & EFlags.af, EFlags.af)
    }

    func testIncPreservesCarry() {
        // stc ; mov al, 0xff ; inc al
        let c = cpu([0xF9, 0xB0, 0xFF, 0xFE, 0xC0])
        XCTAssertEqual(c.run(until: 0x1005, maxInstructions: 10), .reachedEIP)
        XCTAssertEqual(c.gpr(0) & 0xFF, 0)
        XCTAssertEqual(c.eflags & (EFlags.cf | EFlags.zf), EFlags.cf | EFlags.zf)
    }

    func testSbbWithBorrowIn() {
        // stc ; mov eax, 0 ; sbb eax, 0  → eax = -1, CF = 1
        let c = cpu([0xF9, 0xB8, 0, 0, 0, 0, 0x83, 0xD8, 0x00])
        XCTAssertEqual(c.run(until: 0x1009, maxInstructions: 10), .reachedEIP)
        XCTAssertEqual(c.gpr(0), 0xFFFF_FFFF)
        XCTAssertEqual(c.eflags & EFlags.cf, EFlags.cf)
    }

    func testUndefinedOpcodeRaisesUD() {
        let c = cpu([0x0F, 0x0B]) // UD2
        c.stopOnException = true
        XCTAssertEqual(c.run(until: 0x1002, maxInstructions: 10), .exception(vector: 6, errorCode: nil))
        XCTAssertEqual(c.eip, 0x1000, "a fault leaves EIP on the faulting instruction")
    }

    func testRepMovsStopsBetweenIterationsAndResumes() {
        // mov ecx, 100 ; rep movsb — run 10 instructions, then the rest.
        let c = cpu([0xB9, 100, 0, 0, 0, 0xF3, 0xA4])
        c.setGPR(6, 0x2000)
        c.setGPR(7, 0x3000)
        for i in 0..<100 { c.memory.write8(0x2000 + UInt32(i), UInt8(i)) }
        XCTAssertEqual(c.run(maxInstructions: 10), .instructionLimit)
        XCTAssertEqual(c.gpr(1), 91, "one MOV plus nine iterations")
        XCTAssertEqual(c.eip, 0x1005, "EIP stays on the REP instruction mid-way")
        XCTAssertEqual(c.run(until: 0x1007, maxInstructions: 1000), .reachedEIP)
        XCTAssertEqual(c.memory.read(0x3000, count: 100), (0..<100).map { UInt8($0) })
        XCTAssertEqual(c.instructionCount, 101)
    }
}
