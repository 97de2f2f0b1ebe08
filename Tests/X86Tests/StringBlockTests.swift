@testable import X86
import XCTest

/// REP MOVS/STOS run in blocks where the TLB maps both sides
/// (StringBlocks.swift); these pin that the blocks are invisible: the same
/// memory, registers and instruction count as iteration by iteration, however
/// the run is sliced, with overlap, page crossings and the end of RAM.
final class StringBlockTests: XCTestCase {
    func cpu(_ code: [UInt8], ecx: UInt32, esi: UInt32, edi: UInt32, eax: UInt32 = 0) -> CPU {
        let c = flatCPU(code)
        let mem = c.memory
        c.setGPR(0, eax)
        c.setGPR(1, ecx)
        c.setGPR(6, esi)
        c.setGPR(7, edi)
        for i in 0..<0x6000 { mem.write8(0x20000 + UInt32(i), UInt8(truncatingIfNeeded: i * 7 + 3)) }
        return c
    }

    /// Runs to EIP `end` in slices of `slice` instructions.
    func finish(_ c: CPU, at end: UInt32, slice: Int) {
        var guardCount = 0
        while c.eip != end || c.gpr(1) != 0 {
            _ = c.run(until: end, maxInstructions: slice)
            guardCount += 1
            if guardCount > 100_000 { XCTFail("no progress"); return }
        }
    }

    /// Forward REP MOVS one element at a time, as the SDM describes it.
    func modelMovs(_ mem: inout [UInt8], src: Int, dst: Int, size: Int, count: Int) {
        for i in 0..<count {
            for b in 0..<size { mem[dst + i * size + b] = mem[src + i * size + b] }
        }
    }

    func testOverlappingMovsdAcrossPagesMatchesElementOrder() {
        // rep movsd with the destination one dword above the source: each
        // element copies the one just written, across several page boundaries.
        let src: UInt32 = 0x20FF0, dst: UInt32 = 0x20FF4, n = 3000
        var expected = cpu([0xF3, 0xA5], ecx: 0, esi: 0, edi: 0).memory.read(0, count: 0x30000)
        modelMovs(&expected, src: Int(src), dst: Int(dst), size: 4, count: n)
        for slice in [1_000_000, 1, 7, 1025] {
            let c = cpu([0xF3, 0xA5], ecx: UInt32(n), esi: src, edi: dst)
            finish(c, at: 0x1002, slice: slice)
            XCTAssertEqual(c.memory.read(0, count: 0x30000), expected, "slice \(slice)")
            XCTAssertEqual(c.gpr(6), src + UInt32(4 * n))
            XCTAssertEqual(c.gpr(7), dst + UInt32(4 * n))
            XCTAssertEqual(c.instructionCount, UInt64(n), "one instruction per iteration, slice \(slice)")
        }
    }

    func testMovswAndStosbStopExactlyAtTheSliceEnd() {
        let c = cpu([0xF3, 0x66, 0xA5], ecx: 5000, esi: 0x20001, edi: 0x23001)
        XCTAssertEqual(c.run(maxInstructions: 1234), .instructionLimit)
        XCTAssertEqual(c.gpr(1), 5000 - 1234)
        XCTAssertEqual(c.eip, 0x1000, "EIP stays on the REP instruction mid-way")
        XCTAssertEqual(c.instructionCount, 1234)

        let s = cpu([0xF3, 0xAA], ecx: 9000, esi: 0, edi: 0x20FFF, eax: 0x5A)
        XCTAssertEqual(s.run(maxInstructions: 4097), .instructionLimit)
        XCTAssertEqual(s.gpr(1), 9000 - 4097)
        XCTAssertEqual(s.gpr(7), 0x20FFF + 4097)
        XCTAssertEqual(s.memory.read(0x20FFF, count: 4097), [UInt8](repeating: 0x5A, count: 4097))
        XCTAssertEqual(s.memory.read8(0x20FFF + 4097), UInt8(truncatingIfNeeded: (0xFFF + 4097) * 7 + 3))
    }

    func testStosdRunsOnPastTheEndOfRAM() {
        // The last RAM page has a TLB entry, what lies beyond it does not:
        // the block stops at the end of RAM and the rest goes one by one.
        let c = cpu([0xF3, 0xAB], ecx: 16, esi: 0, edi: 0xFFFE0, eax: 0xA1B2_C3D4)
        finish(c, at: 0x1002, slice: 1_000_000)
        XCTAssertEqual(c.gpr(1), 0)
        XCTAssertEqual(c.gpr(7), 0xFFFE0 + 64)
        XCTAssertEqual(c.memory.read(0xFFFE0, count: 32), [UInt8]((0..<8).flatMap { _ in [0xD4, 0xC3, 0xB2, 0xA1] }))
        XCTAssertEqual(c.instructionCount, 16)
    }
}
