import Capsule
import Foundation
import XCTest
@testable import Debugger
import PC
import X86

/// The debugger in-process on small flat 32-bit programs: host input is
/// replayed exactly when going back, the teaching views say what the
/// decoder sees, conditions and page walks, and the TUI renders.
final class MachineDebuggerTests: XCTestCase {
    /// Polls COM1 and stores every byte received at 0x3000 + EBX:
    ///
    ///     1000 66 BA FD 03      mov dx, 0x3fd
    ///     1004 EC               in al, dx
    ///     1005 A8 01            test al, 1
    ///     1007 74 FB            jz 1004
    ///     1009 66 BA F8 03      mov dx, 0x3f8
    ///     100D EC               in al, dx
    ///     100E 88 83 00 30 00 00 mov [ebx+0x3000], al
    ///     1014 43               inc ebx
    ///     1015 EB E9            jmp 1000
    static let serialEcho: [UInt8] = [
        0x66, 0xBA, 0xFD, 0x03, 0xEC, 0xA8, 0x01, 0x74, 0xFB,
        0x66, 0xBA, 0xF8, 0x03, 0xEC, 0x88, 0x83, 0x00, 0x30, 0x00, 0x00, 0x43, 0xEB, 0xE9,
    ]

    func makeMachine(_ code: [UInt8], interval: UInt64 = 50) throws -> (Machine, MachineDebugger, DebugCommands) {
        let machine = try Machine(memorySize: 16 << 20)
        machine.cpu.enterFlat32(cpl: 0)
        machine.memory.write(code, at: 0x1000)
        machine.cpu.eip = 0x1000
        let debugger = MachineDebugger(machine: machine, reverse: ReverseEngine(machine: machine, interval: interval))
        let commands = DebugCommands(debugger: debugger)
        commands.stateHash = { (try? StateHash.of(machine).hex) ?? "?" }
        InstructionText.attach(to: commands)
        return (machine, debugger, commands)
    }

    func hash(_ m: Machine) throws -> String { try StateHash.of(m).hex }

    /// Serial input typed while stopped enters the guest's UART at a
    /// stamped time. Going back before it and running forward again
    /// delivers it at exactly that time again: the same state hash.
    func testSerialInputReplaysExactlyAfterGoingBack() throws {
        let (machine, debugger, _) = try makeMachine(MachineDebuggerTests.serialEcho)
        XCTAssertEqual(debugger.step(20), .stepped)
        debugger.typeSerial(Array("hi!".utf8))
        // Input enters at slice boundaries, one byte at a time into this
        // FIFO-less UART: steps of 10 instructions make boundaries.
        for _ in 0..<30 { XCTAssertEqual(debugger.step(10), .stepped) }
        XCTAssertEqual(machine.memory.read(0x3000, count: 3), Array("hi!".utf8))
        XCTAssertEqual(machine.inputLog.count, 3)
        let at320 = try hash(machine)
        XCTAssertEqual(debugger.step(40), .stepped)
        let at360 = try hash(machine)

        // Back 40: the state at 320, bit for bit.
        XCTAssertEqual(try debugger.reverseStep(40), .stepped)
        XCTAssertEqual(machine.cpu.instructionCount, 320)
        XCTAssertEqual(try hash(machine), at320)

        // Back before the input was queued, then forward again through it.
        XCTAssertEqual(try debugger.reverseStep(310), .stepped)
        XCTAssertEqual(machine.cpu.instructionCount, 10)
        XCTAssertEqual(machine.memory.read(0x3000, count: 3), [0, 0, 0])
        XCTAssertEqual(debugger.step(350), .stepped)
        XCTAssertEqual(machine.memory.read(0x3000, count: 3), Array("hi!".utf8), "the replay delivered at the logged times, not at this step's boundaries")
        XCTAssertEqual(try hash(machine), at360, "re-execution delivered the logged input at its stamped times")
    }

    /// Changing a register in the past gives up the recorded future.
    func testEditingStateInThePastForgetsTheFuture() throws {
        let (machine, debugger, commands) = try makeMachine(ReverseGDBTests.loop)
        XCTAssertEqual(debugger.step(200), .stepped)
        XCTAssertEqual(try debugger.reverseStep(100), .stepped)
        XCTAssertTrue(commands.execute("set ecx 0x1000").output.hasPrefix("ecx = 0x00001000"))
        XCTAssertEqual(debugger.reverse?.frontier, machine.cpu.instructionCount)
        XCTAssertEqual(debugger.step(4), .stepped)
        XCTAssertEqual(machine.cpu.gpr(1), 0x1001)
    }

    /// Conditional breakpoints stop only when the condition holds;
    /// reverse-continue honours the condition too.
    func testConditionalBreakpointAndReverseContinue() throws {
        let (machine, debugger, commands) = try makeMachine(ReverseGDBTests.loop)
        XCTAssertEqual(commands.execute("break 0x100c if ecx==5").output, "breakpoint 1: break linear 0x0000100c if ecx==0x5\n")
        XCTAssertTrue(commands.execute("continue").output.hasPrefix("stopped: breakpoint 1"))
        XCTAssertEqual(machine.cpu.gpr(1), 5)
        XCTAssertEqual(commands.execute("delete 1").output, "deleted 1\n")
        _ = commands.execute("break 0x100c if ecx!=7")
        XCTAssertTrue(commands.execute("continue").output.hasPrefix("stopped: breakpoint 2"))
        XCTAssertEqual(machine.cpu.gpr(1), 6)
        XCTAssertTrue(commands.execute("continue").output.hasPrefix("stopped: breakpoint 2"))
        XCTAssertEqual(machine.cpu.gpr(1), 8, "ecx==7 was skipped")
        XCTAssertTrue(commands.execute("reverse-continue").output.hasPrefix("stopped: breakpoint 2"))
        XCTAssertEqual(machine.cpu.gpr(1), 6, "reverse-continue skipped ecx==7 too")
        XCTAssertEqual(debugger.breakpoints.count, 1)
        XCTAssertTrue(commands.execute("break 0x100c if foo==1").output.hasPrefix("error: condition: unknown register"))
    }

    /// reverse-continue stops before the latest earlier instruction that
    /// wrote a watched location: the write is undone, the writer is next.
    func testReverseContinueStopsBeforeTheLatestWatchedWrite() throws {
        let (machine, debugger, commands) = try makeMachine(ReverseGDBTests.loop)
        XCTAssertEqual(debugger.step(1 + 4 * 9 + 2), .stepped) // ecx = 10, [0x3000] = 10, about to out
        XCTAssertEqual(machine.cpu.gpr(1), 10)
        XCTAssertEqual(machine.memory.read(0x3000, count: 1), [10])
        XCTAssertTrue(commands.execute("watch 0x3000 4").output.hasPrefix("watchpoint 1"))
        let back = commands.execute("reverse-continue").output
        XCTAssertTrue(back.hasPrefix("stopped: watchpoint 1"), back)
        XCTAssertEqual(machine.cpu.eip, 0x1006, "standing on the mov that wrote")
        XCTAssertEqual(machine.cpu.gpr(1), 10)
        XCTAssertEqual(machine.memory.read(0x3000, count: 1), [9], "the write is undone")
        let again = commands.execute("reverse-continue").output
        XCTAssertTrue(again.hasPrefix("stopped: watchpoint 1"), again)
        XCTAssertEqual(machine.cpu.gpr(1), 9)
        XCTAssertEqual(machine.memory.read(0x3000, count: 1), [8])
        // Forward again: the write happens and the watchpoint reports it.
        let fwd = commands.execute("continue").output
        XCTAssertTrue(fwd.hasPrefix("stopped: watchpoint 1"), fwd)
        XCTAssertEqual(machine.memory.read(0x3000, count: 1), [9])
        XCTAssertEqual(machine.cpu.eip, 0x100C)
    }

    /// The teaching view names every field the decoder found.
    func testDecodeShowsPrefixesModRMSIBDisplacementAndImmediate() throws {
        // 66 C7 84 8B 78 56 34 12 CD AB   mov word [ebx+ecx*4+0x12345678], 0xabcd
        let (_, _, commands) = try makeMachine([0x66, 0xC7, 0x84, 0x8B, 0x78, 0x56, 0x34, 0x12, 0xCD, 0xAB])
        let out = commands.execute("decode").output
        XCTAssertTrue(out.contains("bytes        66 c7 84 8b 78 56 34 12 cd ab (10 bytes)"), out)
        XCTAssertTrue(out.contains("prefixes     66 (operand size)"), out)
        XCTAssertTrue(out.contains("opcode       c7 (one-byte map)"), out)
        XCTAssertTrue(out.contains("ModRM        84 = mod 2 (10) reg 0 (000) rm 4 (100): r/m is memory"), out)
        XCTAssertTrue(out.contains("SIB          8b = scale 4 index ecx base ebx"), out)
        XCTAssertTrue(out.contains("displacement 4 bytes: 0x12345678"), out)
        XCTAssertTrue(out.contains("immediate    2 bytes: 0xabcd"), out)
        XCTAssertTrue(out.contains("sizes        operand 16-bit, address 32-bit"), out)
        XCTAssertTrue(out.contains("text         mov"), out)
        let dis = commands.execute("disasm 1").output
        XCTAssertTrue(dis.hasPrefix("00001000: 66 c7 84 8b 78 56 34 12 cd ab"), dis)
        XCTAssertTrue(dis.contains("WORD PTR [ebx+ecx*4+0x12345678],0xabcd"), dis)
    }

    /// Page walk, directory dump and physical breakpoints under paging:
    /// linear 0x40001000 maps to physical 0x5000.
    func testPageWalkAndPhysicalBreakpointThroughPaging() throws {
        let (machine, _, commands) = try makeMachine([0xEB, 0xFE])
        let mem = machine.memory
        // Directory at 0x10000: entry 0 identity-maps the first 4 MiB (PSE),
        // entry 0x100 points to a table at 0x11000 whose entry 1 maps 0x5000.
        mem.write(0x10000, width: 4, value: 0x0000_0083)
        mem.write(0x10000 + 0x100 * 4, width: 4, value: 0x0001_1003)
        mem.write(0x11000 + 4, width: 4, value: 0x0000_5007)
        mem.write([0x90, 0x90, 0xEB, 0xFE], at: 0x5000) // nop nop jmp $
        let cpu = machine.cpu
        cpu.setControlRegister(4, 0x10)
        cpu.setControlRegister(3, 0x10000)
        cpu.setControlRegister(0, cpu.cr0 | 0x8000_0000)
        cpu.eip = 0x4000_1000
        let walk = commands.execute("page 0x40001234").output
        XCTAssertTrue(walk.contains("PDE at 0x00010400 = 0x00011003"), walk)
        XCTAssertTrue(walk.contains("PTE at 0x00011004 = 0x00005007 P W U"), walk)
        XCTAssertTrue(walk.contains("-> physical 0x00005234"), walk)
        let dir = commands.execute("pagedir").output
        XCTAssertTrue(dir.contains("[   0] 0x00000000-0x003fffff 4 MiB page 0x00000000"), dir)
        XCTAssertTrue(dir.contains("[ 256] 0x40000000-0x403fffff table 0x00011000 (1 present)"), dir)
        XCTAssertTrue(dir.contains("2 of 1024 entries present"), dir)
        XCTAssertTrue(commands.execute("page 0x80000000").output.contains("not present"))
        // A physical breakpoint on 0x5002 stops at its linear alias.
        _ = commands.execute("break physical 0x5002")
        let stop = commands.execute("continue").output
        XCTAssertTrue(stop.hasPrefix("stopped: breakpoint 1 (break physical 0x00005002)"), stop)
        XCTAssertTrue(stop.contains("linear 0x40001002 icount 2"), stop)
    }

    /// The TUI draws registers with changes highlighted, the code at EIP,
    /// the stack, memory, and the guest's screen; keys step and go back.
    func testTUIRendersAndKeysStepForwardAndBack() throws {
        let (machine, _, commands) = try makeMachine(ReverseGDBTests.loop)
        machine.memory.write(Array("HELLO".utf8).flatMap { [$0, 0x07] }, at: 0xB_8000)
        let tui = TUIController(commands: commands)
        tui.renderer.ansi = false
        tui.renderer.height = 80
        tui.key(UInt8(ascii: "s"))
        tui.key(UInt8(ascii: "s"))
        var frame = tui.renderer.render(commands)
        XCTAssertTrue(frame.contains("[ecx=00000001]"), "the changed register is highlighted\n" + frame)
        XCTAssertTrue(frame.contains("=> 00001006: 89 0d 00 30 00 00"), frame)
        XCTAssertTrue(frame.contains("mov    DWORD PTR ds:0x3000,ecx"), frame)
        XCTAssertTrue(frame.contains("-- stack"), frame)
        XCTAssertTrue(frame.contains("-- memory 0x00000000"), frame)
        XCTAssertTrue(frame.contains("HELLO"), frame)
        XCTAssertTrue(tui.renderer.status.hasPrefix("stopped: stepped"), tui.renderer.status)
        tui.key(UInt8(ascii: "b"))
        XCTAssertEqual(machine.cpu.eip, 0x1005)
        // ':' enters a command; 'm ADDR' moves the memory pane.
        for b in Array(":m 0x3000".utf8) + [13] { tui.key(b) }
        frame = tui.renderer.render(commands)
        XCTAssertTrue(frame.contains("-- memory 0x00003000"), frame)
        for b in Array(":break 0x100c".utf8) + [13] { tui.key(b) }
        tui.key(UInt8(ascii: "c"))
        XCTAssertEqual(machine.cpu.eip, 0x100C)
        // With ANSI on, a changed value gets the highlight escape.
        tui.renderer.ansi = true
        XCTAssertTrue(tui.renderer.render(commands).contains("\u{1B}[1;30;43m"))
        tui.key(UInt8(ascii: "q"))
        XCTAssertTrue(tui.quit)
    }

    /// Going back undoes disk writes made after the checkpoint: the
    /// journal keeps what each write overwrote.
    func testGoingBackRestoresJournaledDiskContents() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("capsule-journal-\(getpid()).img").path
        FileManager.default.createFile(atPath: path, contents: Data(repeating: 0x11, count: 1 << 20))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let machine = try Machine(memorySize: 16 << 20)
        machine.cpu.enterFlat32(cpl: 0)
        machine.memory.write(ReverseGDBTests.loop, at: 0x1000)
        machine.cpu.eip = 0x1000
        let disk = JournaledDisk(try RawFileDisk(path: path))
        machine.attachHardDisk(disk, position: 0)
        let engine = ReverseEngine(machine: machine, disks: [disk], interval: 8)
        XCTAssertTrue(ReverseEngine.disksAreJournaled(machine, [disk]))
        XCTAssertFalse(ReverseEngine.disksAreJournaled(machine, []))
        let debugger = MachineDebugger(machine: machine, reverse: engine)
        func sector(_ n: UInt64) throws -> [UInt8] {
            var b = [UInt8](repeating: 0, count: 512)
            try b.withUnsafeMutableBytes { try disk.read(sector: n, count: 1, into: $0) }
            return b
        }
        XCTAssertEqual(debugger.step(19), .stepped)
        let before = try StateHash.of(machine)
        XCTAssertEqual(debugger.step(1), .stepped)
        try [UInt8](repeating: 0x22, count: 1024).withUnsafeBytes { try disk.write(sector: 3, count: 2, from: $0) }
        XCTAssertEqual(debugger.step(20), .stepped)
        XCTAssertEqual(try sector(4), [UInt8](repeating: 0x22, count: 512))
        XCTAssertEqual(try debugger.reverseStep(21), .stepped)
        XCTAssertEqual(machine.cpu.instructionCount, 19)
        XCTAssertEqual(try sector(3), [UInt8](repeating: 0x11, count: 512))
        XCTAssertEqual(try sector(4), [UInt8](repeating: 0x11, count: 512))
        XCTAssertEqual(try StateHash.of(machine), before)
    }

    /// next runs a REP string instruction to its end and a CALL to its
    /// return; a PUSH of a nearby address is not mistaken for a call.
    func testNextStepsOverRepAndCall() throws {
        let code: [UInt8] = [
            0xB9, 0x64, 0x00, 0x00, 0x00,   // 1000 mov ecx, 100
            0xBF, 0x00, 0x40, 0x00, 0x00,   // 1005 mov edi, 0x4000
            0xF3, 0xAA,                     // 100A rep stosb
            0xE8, 0x0A, 0x00, 0x00, 0x00,   // 100C call 101B
            0x68, 0x16, 0x10, 0x00, 0x00,   // 1011 push 0x1016
            0x5B,                           // 1016 pop ebx
            0xEB, 0xFE,                     // 1017 jmp $
            0x90, 0x90,
            0x40, 0x40, 0xC3,               // 101B inc eax; inc eax; ret
        ]
        let (machine, debugger, _) = try makeMachine(code)
        let cpu = machine.cpu
        cpu.setGPR(4, 0x8000)
        cpu.setGPR(0, 0)
        cpu.setGPR(0, 0xAA)
        XCTAssertEqual(debugger.next(), .stepped)
        XCTAssertEqual(debugger.next(), .stepped)
        XCTAssertEqual(debugger.next(), .stepped)
        XCTAssertEqual(cpu.eip, 0x100C)
        XCTAssertEqual(cpu.gpr(1), 0, "the whole REP ran")
        XCTAssertEqual(machine.memory.read(0x4000 + 99, count: 1), [0xAA])
        XCTAssertEqual(debugger.next(), .stepped)
        XCTAssertEqual(cpu.eip, 0x1011, "the call returned")
        XCTAssertEqual(cpu.gpr(0), 0xAC)
        XCTAssertEqual(cpu.gpr(4), 0x8000)
        XCTAssertEqual(debugger.next(), .stepped)
        XCTAssertEqual(cpu.eip, 0x1016, "a push is one step")
        XCTAssertEqual(debugger.next(), .stepped)
        XCTAssertEqual(cpu.eip, 0x1017)
        XCTAssertEqual(cpu.gpr(3), 0x1016)
    }

    /// Beyond `maxCheckpoints` the oldest are folded into the base copy:
    /// history gets shorter, what remains is still exact.
    func testFoldedHistoryStaysExact() throws {
        let machine = try Machine(memorySize: 16 << 20)
        machine.cpu.enterFlat32(cpl: 0)
        machine.memory.write(ReverseGDBTests.loop, at: 0x1000)
        machine.cpu.eip = 0x1000
        let engine = ReverseEngine(machine: machine, interval: 10, maxCheckpoints: 6)
        let debugger = MachineDebugger(machine: machine, reverse: engine)
        var h160 = ""
        for _ in 0..<20 {
            XCTAssertEqual(debugger.step(10), .stepped)
            if machine.cpu.instructionCount == 160 { h160 = try StateHash.of(machine).hex }
        }
        XCTAssertEqual(engine.checkpointCount, 6)
        let earliest = try XCTUnwrap(engine.earliest)
        XCTAssertGreaterThan(earliest, 100)
        XCTAssertLessThanOrEqual(earliest, 160)
        XCTAssertEqual(try debugger.reverseStep(40), .stepped)
        XCTAssertEqual(try StateHash.of(machine).hex, h160)
        XCTAssertEqual(try debugger.reverseStep(1000), .reverseBegin)
        XCTAssertEqual(machine.cpu.instructionCount, earliest)
    }

    /// `break mode` sees paging turned on and off (MOV CR0), the stop
    /// right after the instruction; `break vector` sees an exception.
    func testModeBreakOnPagingAndVectorBreakOnException() throws {
        let code: [UInt8] = [
            0x0F, 0x20, 0xC0,                   // 1000 mov eax, cr0
            0x0D, 0x00, 0x00, 0x00, 0x80,       // 1003 or eax, 0x80000000
            0x0F, 0x22, 0xC0,                   // 1008 mov cr0, eax   (paging on)
            0x90,                               // 100B nop
            0x25, 0xFF, 0xFF, 0xFF, 0x7F,       // 100C and eax, 0x7fffffff
            0x0F, 0x22, 0xC0,                   // 1011 mov cr0, eax   (paging off)
            0x31, 0xC9,                         // 1014 xor ecx, ecx
            0xF7, 0xF1,                         // 1016 div ecx        (#DE)
        ]
        let (machine, _, commands) = try makeMachine(code)
        let cpu = machine.cpu
        machine.memory.write(0x10000, width: 4, value: 0x0000_0083) // 4 MiB identity page
        cpu.setControlRegister(4, 0x10)
        cpu.setControlRegister(3, 0x10000)
        // An IDT with a #DE gate (vector 0) to 0x2000, where the handler spins.
        machine.memory.write([0, 0, 0, 0, 0, 0, 0, 0,
                              0xFF, 0xFF, 0, 0, 0, 0x9B, 0xCF, 0,
                              0xFF, 0xFF, 0, 0, 0, 0x93, 0xCF, 0], at: 0x7000)
        machine.memory.write([0x00, 0x20, 0x08, 0x00, 0x00, 0x8E, 0x00, 0x00], at: 0x9000)
        cpu.loadDescriptorTables(gdtBase: 0x7000, gdtLimit: 23, idtBase: 0x9000, idtLimit: 7)
        machine.memory.write([0xEB, 0xFE], at: 0x2000)
        cpu.setGPR(4, 0x8000)
        XCTAssertEqual(commands.execute("break mode").output, "breakpoint 1: break mode change\n")
        var out = commands.execute("continue").output
        XCTAssertTrue(out.hasPrefix("stopped: mode change protected -> protected+paging (breakpoint 1) at 0008:0000100b"), out)
        XCTAssertTrue(commands.execute("pagedir").output.contains("1 of 1024 entries present"))
        out = commands.execute("continue").output
        XCTAssertTrue(out.hasPrefix("stopped: mode change protected+paging -> protected (breakpoint 1) at 0008:00001014"), out)
        _ = commands.execute("break vector 0")
        out = commands.execute("continue").output
        XCTAssertTrue(out.hasPrefix("stopped: vector 0x00 delivered (exception or INT) (breakpoint 2) at 0008:00002000"), out)
        // The frame the CPU pushed: EIP of the faulting DIV, CS, EFLAGS.
        XCTAssertTrue(commands.execute("stack 2").output.contains("00001016"), commands.execute("stack 2").output)
        XCTAssertTrue(commands.execute("idt 1").output.contains("32-bit interrupt gate -> 0008:00002000 dpl 0"), commands.execute("idt 1").output)
    }
}
