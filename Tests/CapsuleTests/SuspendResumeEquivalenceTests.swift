import Capsule
import Foundation
import PC
import X86
import XCTest

/// Determinism: running N+M instructions straight must reach exactly the
/// state of running N, saving the machine, restoring it into a fresh
/// machine and running M more — whatever N interrupts (REP strings, paging
/// faults, task switches, V86, x87).
final class SuspendResumeEquivalenceTests: XCTestCase {
    func rom(_ name: String) throws -> [UInt8] { try testImage("cpu", name) }

    func machine(_ image: [UInt8]) throws -> (Machine, () -> [UInt8]) {
        let m = try Machine(memorySize: 16 << 20)
        var serial = [UInt8]()
        m.com1.transmit = { serial.append($0) }
        try m.loadFirmware(image)
        return (m, { serial })
    }

    func check(_ name: String, splits: [UInt64], total: UInt64) throws {
        let image = try rom(name)
        let (straight, straightSerial) = try machine(image)
        _ = straight.run(instructions: total)
        let expected = try StateHash.of(straight)
        for n in splits {
            let (first, firstSerial) = try machine(image)
            _ = first.run(instructions: n)
            let saved = first.saveState()
            let ram = [UInt8](UnsafeBufferPointer(start: first.memory.ram, count: first.memory.ramSize))
            // Round-trip through JSON as a capsule would.
            let decoded = try JSONDecoder().decode(MachineState.self, from: JSONEncoder().encode(saved))
            let (second, secondSerial) = try machine(image)
            ram.withUnsafeBufferPointer { second.memory.ram.update(from: $0.baseAddress!, count: ram.count) }
            try second.restoreState(decoded)
            _ = second.run(instructions: total - n)
            XCTAssertEqual(try StateHash.of(second), expected, "\(name): split at \(n) diverges")
            XCTAssertEqual(firstSerial() + secondSerial(), straightSerial(), "\(name): serial output differs at split \(n)")
        }
    }

    func testPagingROMSplitsAnywhere() throws {
        try check("t3_paging", splits: [1, 777, 5_003, 20_011, 41_234, 60_000], total: 75_000)
    }

    func testExceptionsROMSplitsInsideHandlersAndREP() throws {
        try check("t4_except", splits: [3_333, 17_777, 50_001, 90_000, 110_000], total: 120_000)
    }

    func testTaskAndV86ROMs() throws {
        try check("t5_tasks", splits: [10_001, 40_000, 70_000], total: 80_000)
        try check("t6_v86", splits: [5_555, 33_333, 66_666], total: 80_000)
    }
}
