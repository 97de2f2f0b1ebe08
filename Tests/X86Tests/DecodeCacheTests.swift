import XCTest
@testable import X86

/// Pins the decode cache: once an instruction has been decoded and cached,
/// every way its bytes can change — a CPU store (through a TLB write pointer
/// or not), the instruction just before it rewriting it, a store from
/// another page, a device/DMA write into RAM, a state restore — must make
/// the next execution run the new bytes; and the same bytes under another
/// code size must be decoded anew.
final class DecodeCacheTests: XCTestCase {
    let page1: UInt32 = 0x1000
    let page2: UInt32 = 0x2000
    let page3: UInt32 = 0x3000

    func flatCPU() -> (CPU, PhysicalMemory) {
        let mem = PhysicalMemory(ramSize: 1 << 20)
        let cpu = CPU(memory: mem)
        cpu.stopOnException = true
        cpu.enterFlat32(cpl: 0)
        cpu.setGPR(4, 0x8_0000)
        return (cpu, mem)
    }

    /// Runs from `start` until EIP reaches `stop`.
    func run(_ cpu: CPU, from start: UInt32, to stop: UInt32, file: StaticString = #filePath, line: UInt = #line) {
        cpu.eip = start
        let outcome = cpu.run(until: stop, maxInstructions: 10_000)
        XCTAssertEqual(outcome, .reachedEIP, "stopped at \(String(cpu.eip, radix: 16))", file: file, line: line)
    }

    /// mov eax, imm32 at `page1`, then a jump back to a landing pad at `page2`.
    func movEAX(_ v: UInt32) -> [UInt8] {
        [0xB8] + le32(v)
    }

    func le32(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }

    func testStoreFromAnotherPageThroughTheTLBIsSeen() {
        let (cpu, mem) = flatCPU()
        // page2: mov byte [page1+1], 7 ; jmp page1
        let jump = page1 &- (page2 + 12)
        mem.write([0xC6, 0x05] + le32(page1 + 1) + [0x07] + [0xE9] + le32(jump), at: page2)
        // page1: mov eax, 1 ; nop
        mem.write(movEAX(1) + [0x90], at: page1)
        // A store first, so page1 is dirty and may have a TLB write pointer
        // before it ever holds code.
        mem.write([0xC6, 0x05] + le32(page1 + 0x800) + [0x00], at: page3)
        run(cpu, from: page3, to: page3 + 7)
        run(cpu, from: page1, to: page1 + 5)
        XCTAssertEqual(cpu.gpr(0), 1)
        let decoded = mem.decodeCache.decodedCount
        // Cached now: running it again decodes nothing.
        run(cpu, from: page1, to: page1 + 5)
        XCTAssertEqual(mem.decodeCache.decodedCount, decoded)
        // The store patches the immediate of the cached instruction; the
        // jump enters page1 through its cached index.
        run(cpu, from: page2, to: page1 + 5)
        XCTAssertEqual(cpu.gpr(0), 7)
        // Unchanged code on a page left and re-entered is not decoded again.
        let after = mem.decodeCache.decodedCount
        mem.write([0xEB, 0x00], at: page2 + 7) // jmp +0: stop on page2
        run(cpu, from: page1, to: page1 + 5)
        run(cpu, from: page1, to: page1 + 5)
        XCTAssertEqual(mem.decodeCache.decodedCount, after)
    }

    func testInstructionRewritingTheNextInstructionTakesEffect() {
        let (cpu, mem) = flatCPU()
        // page1: mov byte [page1+8], K ; mov eax, 5 ; nop
        let store: [UInt8] = [0xC6, 0x05] + le32(page1 + 8) + [0x05]
        mem.write(store + movEAX(5) + [0x90], at: page1)
        run(cpu, from: page1, to: page1 + 12)
        XCTAssertEqual(cpu.gpr(0), 5)
        run(cpu, from: page1, to: page1 + 12) // both instructions cached
        // Change the value the store writes (a loader-style write), then run:
        // the store rewrites the cached next instruction, which must run new.
        mem.write([0x09], at: page1 + 6)
        run(cpu, from: page1, to: page1 + 12)
        XCTAssertEqual(cpu.gpr(0), 9)
    }

    func testStoreIntoTheCurrentPageOverwritingAnEarlierInstruction() {
        let (cpu, mem) = flatCPU()
        // page1: mov eax, 1 ; mov byte [page1+1], 3 ; nop
        mem.write(movEAX(1) + [0xC6, 0x05] + le32(page1 + 1) + [0x03] + [0x90], at: page1)
        run(cpu, from: page1, to: page1 + 12)
        XCTAssertEqual(cpu.gpr(0), 1)
        run(cpu, from: page1, to: page1 + 5)
        XCTAssertEqual(cpu.gpr(0), 3)
    }

    func testDMAStylePhysicalWriteIsSeen() {
        let (cpu, mem) = flatCPU()
        mem.write(movEAX(0x1111) + [0x90], at: page1)
        run(cpu, from: page1, to: page1 + 5)
        run(cpu, from: page1, to: page1 + 5)
        XCTAssertEqual(cpu.gpr(0), 0x1111)
        // What the IDE bus master does: PhysicalMemory.write(bytes, at:).
        mem.write(movEAX(0x2222), at: page1)
        run(cpu, from: page1, to: page1 + 5)
        XCTAssertEqual(cpu.gpr(0), 0x2222)
        // And single device writes by value.
        mem.write(page1 + 1, width: 2, value: 0x3333)
        run(cpu, from: page1, to: page1 + 5)
        XCTAssertEqual(cpu.gpr(0), 0x3333)
    }

    func testRestoreAfterRAMReplacedBehindTheTrackingIsSeen() throws {
        let (cpu, mem) = flatCPU()
        mem.write(movEAX(0xAAAA) + [0x90], at: page1)
        run(cpu, from: page1, to: page1 + 5)
        let state = cpu.saveState()
        // A capsule load copies RAM straight into `ram`, then restores the CPU.
        mem.ram[Int(page1) + 1] = 0xBB
        try cpu.restoreState(state)
        run(cpu, from: page1, to: page1 + 5)
        XCTAssertEqual(cpu.gpr(0), 0xAABB)
    }

    func testCodeSizeChangeOnTheSamePageDecodesAnew() {
        let mem = PhysicalMemory(ramSize: 1 << 20)
        let cpu = CPU(memory: mem)
        cpu.stopOnException = true
        // B8 34 12 78 56: mov eax, 0x56781234 in 32-bit code; in 16-bit code
        // mov ax, 0x1234 (3 bytes) followed by js.
        mem.write([0xB8, 0x34, 0x12, 0x78, 0x56, 0x90], at: page1)
        cpu.setSegmentSelector(CPU.segCS, 0)
        run(cpu, from: page1, to: page1 + 3)
        XCTAssertEqual(cpu.gpr(0) & 0xFFFF, 0x1234)
        cpu.enterFlat32(cpl: 0)
        cpu.setGPR(0, 0)
        run(cpu, from: page1, to: page1 + 5)
        XCTAssertEqual(cpu.gpr(0), 0x5678_1234)
        // And back to 16-bit: the 16-bit decoding is still right.
        cpu.reset()
        cpu.setSegmentSelector(CPU.segCS, 0)
        cpu.setGPR(0, 0)
        run(cpu, from: page1, to: page1 + 3)
        XCTAssertEqual(cpu.gpr(0), 0x1234)
    }

    func testInstructionCrossingIntoAnUnmappedPageFaultsWithCR2() {
        let mem = PhysicalMemory(ramSize: 1 << 20)
        let cpu = CPU(memory: mem)
        cpu.stopOnException = true
        cpu.enterFlat32(cpl: 0)
        // Identity-map 0-8 KiB only; a mov eax, imm32 starts 2 bytes before
        // the end of the mapped range.
        let pd: UInt32 = 0x10000, pt: UInt32 = 0x11000
        mem.write(le32(pt | 3), at: pd)
        mem.write(le32(0x0000 | 3) + le32(0x1000 | 3), at: pt)
        cpu.setControlRegister(3, pd)
        cpu.setControlRegister(0, cpu.cr0 | 0x8000_0000)
        mem.write([0xB8, 0x01], at: 0x1FFE)
        cpu.eip = 0x1FFE
        for _ in 0..<2 { // the second time must fault exactly the same way
            cpu.eip = 0x1FFE
            let outcome = cpu.run(maxInstructions: 1)
            XCTAssertEqual(outcome, .exception(vector: 14, errorCode: 0))
            XCTAssertEqual(cpu.cr2, 0x2000)
            XCTAssertEqual(cpu.eip, 0x1FFE)
        }
    }

    func testCodePageRepurposedAsDataGetsItsFastWritesBack() {
        let (cpu, mem) = flatCPU()
        mem.write(movEAX(1) + [0x90], at: page1)
        run(cpu, from: page1, to: page1 + 5)
        XCTAssertTrue(mem.decodeCache.hasCode(page: 1))
        // rep stosd over the whole page from page2: many writes hitting no
        // cached instruction beyond the first drop the page's slot.
        mem.write([0xF3, 0xAB, 0x90], at: page2)
        cpu.setGPR(0, 0x9090_9090)
        cpu.setGPR(1, 1024)
        cpu.setGPR(7, page1)
        run(cpu, from: page2, to: page2 + 2)
        XCTAssertFalse(mem.decodeCache.hasCode(page: 1))
        XCTAssertEqual(mem.read(page1, width: 4), 0x9090_9090)
    }

    func testCachedInstructionBeyondAShrunkCSLimitFaults() {
        let (cpu, mem) = flatCPU()
        // nop ; mov eax, 0x1234 ; nop
        mem.write([0x90] + movEAX(0x1234) + [0x90], at: page1)
        run(cpu, from: page1, to: page1 + 6)
        // The cached 5-byte instruction now ends past the CS limit; it is
        // reached from the nop, inside the (now shorter) fetch window.
        cpu.segs[CPU.segCS].limit = page1 + 3
        cpu.updateModeCaches()
        cpu.eip = page1
        XCTAssertEqual(cpu.run(maxInstructions: 2), .exception(vector: 13, errorCode: 0))
        XCTAssertEqual(cpu.eip, page1 + 1)
    }

    func testRunningOutOfPagesStartsTheCacheOverAndStaysCorrect() {
        let mem = PhysicalMemory(ramSize: 8 << 20)
        let cpu = CPU(memory: mem)
        cpu.stopOnException = true
        cpu.enterFlat32(cpl: 0)
        let pages = DecodeCache.maxSlots + 100
        // Page p (from 16) starts with mov eax, p.
        for p in 16..<(16 + pages) { mem.write(movEAX(UInt32(p)), at: UInt32(p) << 12) }
        for round in 0..<2 {
            for p in 16..<(16 + pages) {
                let at = UInt32(p) << 12
                run(cpu, from: at, to: at + 5)
                XCTAssertEqual(cpu.gpr(0), UInt32(p), "round \(round) page \(p)")
            }
        }
        XCTAssertGreaterThan(mem.decodeCache.resetCount, 0)
    }
}
