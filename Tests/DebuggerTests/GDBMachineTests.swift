import Foundation
import XCTest
@testable import Debugger
import PC
import X86

/// The server on a whole PC, attached the way the CLI's run loop does it.
final class GDBMachineTests: XCTestCase {
    func testListenAddressParsing() {
        XCTAssertTrue(GDBServer.listenAddress("1234")! == ("127.0.0.1", 1234))
        XCTAssertTrue(GDBServer.listenAddress(":1234")! == ("127.0.0.1", 1234))
        XCTAssertTrue(GDBServer.listenAddress("0.0.0.0:99")! == ("0.0.0.0", 99))
        XCTAssertTrue(GDBServer.listenAddress("[::1]:5")! == ("::1", 5))
        XCTAssertNil(GDBServer.listenAddress("host:"))
        XCTAssertNil(GDBServer.listenAddress("70000"))
    }

    /// A guest running in the machine's own loop; gdb connects, the
    /// slice-boundary hook stops the machine, `poll()` serves the session,
    /// and after the detach the loop runs on.
    func testAttachToRunningMachineThenDetach() throws {
        let machine = try Machine(memorySize: 16 << 20)
        let cpu = machine.cpu
        cpu.enterFlat32(cpl: 0)
        machine.memory.write(TestGuest.code, at: 0x1000)
        cpu.eip = 0x101B // jmp $
        let gdb = try GDBServer(machine: machine, port: 0)
        machine.onSliceBoundary = { if gdb.hasPendingConnection { cpu.requestStop() } }
        let done = DispatchSemaphore(value: 0)
        let ends = Box<[GDBSession.End]>([])
        let ranAfterDetach = Box(false)
        Thread {
            var detached = false
            for _ in 0..<100_000 {
                let reason = machine.run(instructions: 50_000)
                if detached { ranAfterDetach.value = reason == .instructionLimit; break }
                if reason == .stopRequested, let end = gdb.poll() {
                    ends.value.append(end)
                    if end == .killed || end == .exited { break }
                    detached = true
                }
            }
            done.signal()
        }.start()

        let c = try RawGDBClient(port: gdb.port)
        let stop = c.request("?") ?? ""
        XCTAssertTrue(stop.hasPrefix("T05"), stop)
        XCTAssertEqual(c.request("p8"), "1b100000")
        XCTAssertEqual(c.request("s")?.prefix(3), "T05")
        XCTAssertEqual(cpu.eip, 0x101B)
        c.send("D")
        XCTAssertEqual(c.reply(), "OK")
        XCTAssertEqual(done.wait(timeout: .now() + 60), .success)
        XCTAssertEqual(ends.value, [.detached])
        XCTAssertTrue(ranAfterDetach.value)
        gdb.close()
    }

    /// HLT with interrupts on and nothing to wake the CPU: continue waits
    /// (polling) until Ctrl-C.
    func testCtrlCWhileHaltedForever() throws {
        let machine = try Machine(memorySize: 16 << 20)
        let cpu = machine.cpu
        cpu.enterFlat32(cpl: 0)
        machine.memory.write([0xFB, 0xF4, 0xEB, 0xFD], at: 0x1000) // sti; hlt; jmp back to hlt
        cpu.eip = 0x1000
        let gdb = try GDBServer(machine: machine, port: 0)
        let done = DispatchSemaphore(value: 0)
        let end = Box<GDBSession.End?>(nil)
        Thread {
            end.value = gdb.waitForDebugger(timeoutMs: 30_000)
            done.signal()
        }.start()
        let c = try RawGDBClient(port: gdb.port)
        c.send("c")
        XCTAssertNil(c.reply(timeoutMs: 300))
        c.sendRaw([0x03])
        let stop = c.reply() ?? ""
        XCTAssertTrue(stop.hasPrefix("T02"), stop)
        XCTAssertEqual(cpu.eip, 0x1002)
        c.send("k")
        XCTAssertEqual(done.wait(timeout: .now() + 30), .success)
        XCTAssertEqual(end.value, .killed)
    }
}
