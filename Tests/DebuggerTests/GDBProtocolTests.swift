import XCTest
@testable import Debugger
import X86

/// The protocol packet by packet, over a real socket.
final class GDBProtocolTests: XCTestCase {
    private func connect(
        _ cpu: CPU, reverse: ReverseExecution? = nil, monitorExtension: ((String) -> String?)? = nil
    ) throws -> (BackgroundServer, RawGDBClient) {
        let bg = try BackgroundServer(cpu: cpu, reverse: reverse, monitorExtension: monitorExtension)
        return (bg, try RawGDBClient(port: bg.port))
    }

    func testCtrlCStopsASpinningGuest() throws {
        let cpu = TestGuest.make()
        cpu.eip = 0x101B // jmp $
        let (bg, c) = try connect(cpu)
        c.send("c")
        XCTAssertNil(c.reply(timeoutMs: 300), "the guest spins: no stop reply yet")
        let before = cpu.instructionCount
        c.sendRaw([0x03])
        let stop = c.reply()
        XCTAssertTrue(stop?.hasPrefix("T02") == true, stop ?? "no reply")
        XCTAssertTrue(stop?.contains("thread:1;") == true)
        XCTAssertGreaterThan(before, 1000)
        XCTAssertEqual(cpu.eip, 0x101B)
        // Still serving after the interrupt.
        XCTAssertEqual(c.request("p8"), "1b100000")
        c.send("k")
        XCTAssertEqual(bg.finish(), .killed)
    }

    func testCtrlCInTheSameSegmentAsContinue() throws {
        let cpu = TestGuest.make()
        cpu.eip = 0x101B
        let (bg, c) = try connect(cpu)
        c.sendRaw(GDBPacket.frame("c") + [0x03])
        XCTAssertEqual(c.readByte(), UInt8(ascii: "+"))
        let stop = c.reply() ?? ""
        XCTAssertTrue(stop.hasPrefix("T02"), stop)
        c.send("k")
        XCTAssertEqual(bg.finish(), .killed)
    }

    func testHandshakeAndTargetDescription() throws {
        let cpu = TestGuest.make()
        let (bg, c) = try connect(cpu)
        let features = c.request("qSupported:multiprocess+;swbreak+;hwbreak+;xmlRegisters=i386") ?? ""
        for f in ["PacketSize=", "qXfer:features:read+", "swbreak+", "hwbreak+", "QStartNoAckMode+"] {
            XCTAssertTrue(features.contains(f), features)
        }
        XCTAssertFalse(features.contains("Reverse"), "no reverse provider")
        XCTAssertEqual(c.request("vMustReplyEmpty"), "")
        // Read target.xml in small pieces: m… until l….
        var xml = ""
        var offset = 0
        while true {
            guard let r = c.request("qXfer:features:read:target.xml:\(String(offset, radix: 16)),40"), let kind = r.first else {
                return XCTFail("no reply")
            }
            let body = GDBPacket.unescape(Array(r.utf8).dropFirst())
            xml += String(decoding: body, as: UTF8.self)
            offset += body.count
            if kind == "l" { break }
            XCTAssertEqual(kind, "m")
            XCTAssertEqual(body.count, 0x40)
        }
        XCTAssertEqual(xml, GDBRegisters.targetXML)
        XCTAssertEqual(c.request("qXfer:features:read:other.xml:0,100"), "E00")
        XCTAssertEqual(c.request("?")?.prefix(3), "T05")
        XCTAssertEqual(c.request("qC"), "QC1")
        XCTAssertEqual(c.request("qAttached"), "1")
        XCTAssertEqual(c.request("qfThreadInfo"), "m1")
        XCTAssertEqual(c.request("qsThreadInfo"), "l")
        XCTAssertEqual(c.request("Hg0"), "OK")
        XCTAssertEqual(c.request("vCont?"), "vCont;c;C;s;S;r")
        XCTAssertEqual(c.request("bc"), "", "reverse is unsupported without a provider")
        XCTAssertEqual(c.request("QStartNoAckMode"), "OK")
        c.ackMode = false
        XCTAssertEqual(c.request("qC"), "QC1")
        c.send("D")
        XCTAssertEqual(c.reply(), "OK")
        XCTAssertEqual(bg.finish(), .detached)
    }

    func testBadChecksumIsNackedAndRetransmissionWorks() throws {
        let cpu = TestGuest.make()
        let (bg, c) = try connect(cpu)
        c.sendRaw(Array("$qC#00".utf8))
        XCTAssertEqual(c.readByte(), UInt8(ascii: "-"))
        XCTAssertEqual(c.request("qC"), "QC1")
        // A nack from the client makes the server resend its last packet.
        c.send("qC")
        XCTAssertEqual(c.reply(), "QC1")
        c.sendRaw([UInt8(ascii: "-")])
        XCTAssertEqual(c.reply(), "QC1")
        c.send("k")
        XCTAssertEqual(bg.finish(), .killed)
    }

    func testRegistersAndMemory() throws {
        let cpu = TestGuest.make()
        let (bg, c) = try connect(cpu)
        let g = c.request("g") ?? ""
        XCTAssertEqual(g.count, 2 * GDBRegisters.gPacketSize)
        XCTAssertTrue(g.hasPrefix("a0a0a0a0c0c0c0c0d0d0d0d0b0b0b0b000800000"), g)
        XCTAssertEqual(c.request("p8"), "00100000")
        XCTAssertEqual(c.request("p20"), GDBPacket.hexEncode(GDBRegisters.le(UInt64(cpu.cr0), 4)))
        XCTAssertEqual(c.request("p999"), "E01")
        XCTAssertEqual(c.request("P0=78563412"), "OK")
        XCTAssertEqual(cpu.gpr(0), 0x1234_5678)
        XCTAssertEqual(c.request("P2a=01000000"), "E01", "cs_base is read-only")
        XCTAssertEqual(c.request("P22=00500000"), "OK", "cr3")
        XCTAssertEqual(cpu.cr3, 0x5000)
        // G writes back what g read, with eax changed.
        let g2 = "efbeadde" + g.dropFirst(8)
        XCTAssertEqual(c.request("G" + g2), "OK")
        XCTAssertEqual(cpu.gpr(0), 0xDEAD_BEEF)
        XCTAssertEqual(cpu.cr3, 0, "G restored cr3 from the earlier g")

        XCTAssertEqual(c.request("m2000,4"), "44332211")
        XCTAssertEqual(c.request("M2004,2:abcd"), "OK")
        XCTAssertEqual(cpu.memory.read(0x2004, count: 2), [0xAB, 0xCD])
        XCTAssertEqual(c.request("X2000,0:"), "OK")
        // Binary write of bytes that need escaping: # $ } *
        c.send(Array("X2008,4:".utf8) + GDBPacket.escape([0x23, 0x24, 0x7D, 0x2A]))
        XCTAssertEqual(c.reply(), "OK")
        XCTAssertEqual(cpu.memory.read(0x2008, count: 4), [0x23, 0x24, 0x7D, 0x2A])
        // Paging on with an empty page directory: nothing is mapped.
        cpu.setControlRegister(3, 0x10000)
        cpu.setControlRegister(0, cpu.cr0 | 0x8000_0000)
        XCTAssertEqual(c.request("m2000,4"), "E01")
        XCTAssertEqual(c.request("M2000,1:00"), "E01")
        c.send("k")
        XCTAssertEqual(bg.finish(), .killed)
    }

    func testBreakpointsWatchpointsAndSteps() throws {
        let cpu = TestGuest.make()
        let (bg, c) = try connect(cpu)
        XCTAssertEqual(c.request("vCont;s:1")?.prefix(3), "T05")
        XCTAssertEqual(cpu.eip, 0x1005)
        XCTAssertEqual(c.request("s")?.prefix(3), "T05")
        XCTAssertEqual(cpu.eip, 0x100A)
        // Range step across inc ecx and the nops: stops at the first EIP outside.
        XCTAssertEqual(c.request("vCont;r100a,1010:1")?.prefix(3), "T05")
        XCTAssertEqual(cpu.eip, 0x1010)
        // Hardware breakpoint.
        XCTAssertEqual(c.request("Z1,1015,1"), "OK")
        let hw = c.request("c") ?? ""
        XCTAssertTrue(hw.hasPrefix("T05hwbreak:;"), hw)
        XCTAssertEqual(cpu.eip, 0x1015)
        XCTAssertEqual(c.request("z1,1015,1"), "OK")
        XCTAssertTrue(cpu.breakpoints.isEmpty)
        // Read watchpoint on the load from 0x2000, then resume from the start.
        cpu.eip = 0x1010
        XCTAssertEqual(c.request("Z3,2000,4"), "OK")
        let r = c.request("vCont;c") ?? ""
        XCTAssertTrue(r.hasPrefix("T05rwatch:2000;"), r)
        XCTAssertEqual(cpu.eip, 0x1015)
        XCTAssertEqual(c.request("z3,2000,4"), "OK")
        // Write watchpoint.
        XCTAssertEqual(c.request("Z2,3000,4"), "OK")
        let w = c.request("c") ?? ""
        XCTAssertTrue(w.hasPrefix("T05watch:3000;"), w)
        XCTAssertEqual(cpu.eip, 0x101B)
        XCTAssertEqual(c.request("z2,3000,4"), "OK")
        // Software breakpoint: memory keeps its bytes, the stop says swbreak.
        cpu.eip = 0x1000
        XCTAssertEqual(c.request("Z0,1010,1"), "OK")
        XCTAssertEqual(c.request("m1010,1"), "a1")
        let sw = c.request("c") ?? ""
        XCTAssertTrue(sw.hasPrefix("T05swbreak:;"), sw)
        XCTAssertTrue(sw.contains(";08:10100000;"), sw)
        XCTAssertEqual(c.request("?"), sw)
        XCTAssertEqual(c.request("Z9,0,0"), "")
        // Leave it inserted: the session's end removes it.
        c.send("D")
        XCTAssertEqual(c.reply(), "OK")
        XCTAssertEqual(bg.finish(), .detached)
        XCTAssertTrue(cpu.breakpoints.isEmpty)
    }

    func testMonitorCommands() throws {
        let cpu = TestGuest.make()
        let (bg, c) = try connect(cpu, monitorExtension: { $0 == "snapshot" ? "saved\n" : nil })
        func monitor(_ cmd: String) -> String {
            c.send("qRcmd," + GDBPacket.hexEncode(cmd))
            var text = ""
            while let r = c.reply() {
                if r == "OK" { break }
                XCTAssertTrue(r.hasPrefix("O"), r)
                text += String(decoding: GDBPacket.hexDecode(Substring(r.dropFirst())) ?? [], as: UTF8.self)
            }
            return text
        }
        let regs = monitor("info registers")
        XCTAssertTrue(regs.contains("EIP=00001000"), regs)
        XCTAssertTrue(regs.contains("SS =0010 base=00000000 limit=ffffffff attr=c093 (data rw 32-bit 4K-gran, dpl 0)"), regs)
        XCTAssertTrue(regs.contains("protected mode, 32-bit code"), regs)
        XCTAssertTrue(regs.contains("DR7=00000400"), regs)
        let dump = monitor("phys 0x1000 20")
        XCTAssertTrue(dump.hasPrefix("00001000: b8 11 11 11 11 bb 22 22 22 22 41 90 90 90 90 90"), dump)
        XCTAssertTrue(dump.contains("\n00001010: a1 00 20 00"), dump)
        XCTAssertEqual(monitor("translate 0x1234"), "linear 00001234 -> physical 00001234\n")
        XCTAssertTrue(monitor("bogus").contains("unknown monitor command"))
        XCTAssertEqual(monitor("snapshot"), "saved\n", "the owner's extension comes first")
        XCTAssertTrue(monitor("help").contains("phys ADDR"))
        c.send("k")
        XCTAssertEqual(bg.finish(), .killed)
    }

    func testReverseExecutionGoesThroughTheProvider() throws {
        final class FakeReverse: ReverseExecution {
            let cpu: CPU
            var steps = 0
            init(_ cpu: CPU) { self.cpu = cpu }
            func reverseStep() -> Bool {
                steps += 1
                cpu.eip = 0x1005
                return true
            }
            func reverseContinue(breakpoints: Set<UInt32>, watchpoints: [Watchpoint]) -> ReverseStop {
                if let b = breakpoints.first {
                    cpu.eip = b
                    return .breakpoint
                }
                if let w = watchpoints.first {
                    cpu.eip = 0x1003
                    return .watchpoint(address: w.address)
                }
                cpu.eip = 0x1000
                return .historyBegin
            }
        }
        let cpu = TestGuest.make()
        cpu.eip = 0x100A
        let reverse = FakeReverse(cpu)
        let (bg, c) = try connect(cpu, reverse: reverse)
        XCTAssertTrue(c.request("qSupported")?.contains("ReverseStep+;ReverseContinue+") == true)
        XCTAssertEqual(c.request("bs")?.prefix(3), "T05")
        XCTAssertEqual(reverse.steps, 1)
        XCTAssertTrue(c.request("bc")?.hasPrefix("T05replaylog:begin;") == true)
        XCTAssertEqual(cpu.eip, 0x1000)
        XCTAssertEqual(c.request("Z0,1005,1"), "OK")
        XCTAssertTrue(c.request("bc")?.hasPrefix("T05swbreak:;") == true)
        XCTAssertEqual(cpu.eip, 0x1005)
        XCTAssertEqual(c.request("z0,1005,1"), "OK")
        XCTAssertEqual(c.request("Z2,2000,4"), "OK")
        XCTAssertTrue(c.request("bc")?.hasPrefix("T05watch:2000;") == true, "the stub names the watchpoint a reverse-continue stopped at")
        XCTAssertEqual(cpu.eip, 0x1003)
        c.send("k")
        XCTAssertEqual(bg.finish(), .killed)
    }

    func testTripleFaultIsShownThenReportedAsExit() throws {
        let cpu = TestGuest.make()
        // An IDT with limit 0 makes any exception a triple fault: UD2 at 0x1000.
        cpu.memory.write([0x0F, 0x0B], at: 0x1000)
        cpu.memory.write([0x00, 0x00, 0x00, 0x00, 0x00, 0x00], at: 0x4000)
        cpu.memory.write([0x0F, 0x01, 0x1D, 0x00, 0x40, 0x00, 0x00, 0x0F, 0x0B], at: 0x1100) // lidt [0x4000]; ud2
        cpu.eip = 0x1100
        let (bg, c) = try connect(cpu)
        let first = c.request("c") ?? ""
        XCTAssertTrue(first.hasPrefix("T06"), first)
        XCTAssertEqual(c.request("c"), "X06")
        XCTAssertEqual(bg.finish(), .exited)
    }
}
