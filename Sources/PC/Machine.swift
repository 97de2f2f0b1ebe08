import Foundation
import X86

/// Errors detected before a machine starts: bad images, bad options.
public struct MachineError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// A PC: memory, CPU, port space and the devices on the board.
public final class Machine {
    public let memory: PhysicalMemory
    public let cpu: CPU
    public let ports: IOPortSpace
    public let com1: Uart16550
    public let com2: Uart16550
    public let post: PostCodePort
    public let vga: VgaText
    public let scheduler: EventScheduler
    /// Whether a triple fault resets the machine (true for a PC) or stops it.
    public var resetOnTripleFault = true
    /// Host input waiting for room in its device.
    var pendingSerialInput: [UInt8] = []
    var pendingKeyEvents: [[UInt8]] = []
    /// Every host input delivered so far, stamped with virtual time.
    public internal(set) var inputLog: [InputEvent] = []
    /// Set while re-executing logged history (see `InputReplay`).
    public var inputReplay: InputReplay?
    /// Host input handed to the machine (`queueSerialInput` and friends)
    /// with the virtual time it was queued: what a recorded run must queue
    /// again to end with the same bytes still waiting (see RunReplay.swift).
    public var queuedInputLog: [InputReplay.Queued] = []
    /// Instruction count and virtual time of the last completed slice
    /// boundary (input delivered, due events fired): says whether a run
    /// ended before or after that work at its last instant.
    var boundaryMark: (instructions: UInt64, time: UInt64) = (.max, .max)
    /// Called between slices so the host side can feed input and check stops.
    public var onSliceBoundary: (() -> Void)?

    public let pic: Pic8259Pair
    public let pit: Pit8254
    public let portB: SystemControlPortB
    public let rtc: Rtc146818
    public let keyboard: I8042
    public let systemControl: SystemControl
    public let pci: PCIHost
    public let northBridge: I440FXHostBridge
    public let southBridge: Piix3ISABridge
    public let fpuError: FPUErrorLatch
    public let ide: IdeController
    /// Disks and CD media attached to the IDE controller, in attach order
    /// (primary master, primary slave, secondary master).
    public private(set) var media: [BlockDevice] = []
    /// The virtio-balloon function (PCI 00:02.0) when the machine has one.
    public let balloonPCI: VirtioPCI?
    public var balloon: VirtioBalloon? { balloonPCI?.device as? VirtioBalloon }
    /// Demand paging of RAM (a migration's receiver), once enabled.
    public internal(set) var demandPager: DemandPager? {
        didSet { demandPager?.onResolved = { [unowned self] p in self.pageRecency?.touch(p) } }
    }
    /// Sampled page recency (a migration's sender), once enabled.
    public internal(set) var pageRecency: PageRecency?

    /// Attaches a hard disk to the primary channel (position 0 master, 1 slave).
    public func attachHardDisk(_ disk: BlockDevice, position: Int) {
        _ = ide.attachDisk(disk, channel: 0, position: position)
        media.append(disk)
    }

    /// Attaches an ATAPI CD-ROM with `medium` as the secondary master.
    public func attachCDROM(_ medium: BlockDevice) {
        _ = ide.attachCDROM(medium, channel: 1, position: 0)
        media.append(medium)
    }

    /// Set when the guest asked for a reset (i8042 pulse, port 0x92, 0xCF9).
    public internal(set) var resetRequested = false

    /// Default RTC start (2026-01-01T00:00:00Z): the machine never reads
    /// the host clock, so its calendar starts where its configuration says.
    public static let defaultRTCStart: Int64 = 1_767_225_600

    /// The calendar time the RTC started from (part of the configuration).
    public let rtcStart: Int64

    /// `balloon`: put a virtio-balloon device in PCI slot 2 (part of the
    /// machine's configuration: a capsule records it).
    public init(memorySize: Int, rtcStart: Int64 = Machine.defaultRTCStart, balloon: Bool = false) throws {
        self.rtcStart = rtcStart
        guard memorySize >= 1 << 20, memorySize % 4096 == 0 else {
            throw MachineError("memory size must be at least 1 MiB and a multiple of 4 KiB")
        }
        guard memorySize <= 3 << 30 else { throw MachineError("memory size above 3 GiB is not supported (PCI hole)") }
        memory = PhysicalMemory(ramSize: memorySize)
        ports = IOPortSpace()
        cpu = CPU(memory: memory, io: ports)
        com1 = Uart16550(base: 0x3F8)
        com2 = Uart16550(base: 0x2F8)
        post = PostCodePort()
        vga = VgaText()
        let cpuRef = cpu
        scheduler = EventScheduler(instructions: { cpuRef.instructionCount })
        pic = Pic8259Pair()
        pit = Pit8254(scheduler: scheduler)
        portB = SystemControlPortB(pit: pit)
        rtc = Rtc146818(scheduler: scheduler, startTime: rtcStart)
        keyboard = I8042()
        systemControl = SystemControl()
        pci = PCIHost()
        northBridge = I440FXHostBridge()
        southBridge = Piix3ISABridge()
        fpuError = FPUErrorLatch()
        ide = IdeController(ports: ports, memory: memory)
        balloonPCI = balloon ? VirtioPCI(device: VirtioBalloon(ramPages: memorySize >> 12), ports: ports, memory: memory) : nil
        rtc.setMemorySize(bytes: UInt64(memorySize))
        rtc.setDefaultEquipment()
        wire()
    }

    /// Connects interrupt lines, reset and A20 signals, and the port map.
    private func wire() {
        let cpu = self.cpu, pic = self.pic
        cpu.interruptController = pic
        pic.intr = { cpu.intrLine = $0 }
        pit.irq0 = { pic.setIRQ(0, level: $0) }
        keyboard.irq1 = { pic.setIRQ(1, level: $0) }
        keyboard.irq12 = { pic.setIRQ(12, level: $0) }
        rtc.irq = { pic.setIRQ(8, level: $0) }
        com1.irq = { pic.setIRQ(4, level: $0) }
        com2.irq = { pic.setIRQ(3, level: $0) }
        southBridge.setIRQ = { pic.setIRQ($0, level: $1) }
        let ferr = fpuError
        ferr.irq = { pic.setIRQ(13, level: $0) }
        cpu.onFERR = { ferr.set($0) }
        let kbc = keyboard, sysctl = systemControl
        kbc.onA20Change = { _ in cpu.setA20(kbc.a20 || sysctl.a20) }
        sysctl.onA20Change = { _ in cpu.setA20(kbc.a20 || sysctl.a20) }
        kbc.onReset = { [unowned self] in self.requestReset() }
        sysctl.onReset = { [unowned self] _ in self.requestReset() }
        pci.attach(northBridge, device: 0, function: 0)
        pci.attach(southBridge, device: 1, function: 0)
        pci.attach(ide, device: 1, function: 1)
        ide.irq14 = { pic.setIRQ(14, level: $0) }
        ide.irq15 = { pic.setIRQ(15, level: $0) }
        if let balloonPCI {
            pci.attach(balloonPCI, device: Machine.balloonSlot, function: 0)
            // Slot S pin A reaches PIRQ link (S - 1) mod 4 on this board (see firmware/src/pci.asm).
            let south = southBridge, link = (Machine.balloonSlot - 1) & 3
            balloonPCI.setINTx = { south.setPCIInterrupt(pirq: link, source: Machine.balloonSlot * 8, level: $0) }
        }

        ports.register(com1, ports: 0x3F8...0x3FF)
        ports.register(com2, ports: 0x2F8...0x2FF)
        ports.register(post, ports: 0x80...0x80)
        ports.register(vga, ports: 0x3B4...0x3B5)
        ports.register(vga, ports: 0x3BA...0x3BA)
        ports.register(vga, ports: 0x3C0...0x3CF)
        ports.register(vga, ports: 0x3D4...0x3D5)
        ports.register(vga, ports: 0x3DA...0x3DA)
        ports.register(pic, ports: 0x20...0x21)
        ports.register(pic, ports: 0xA0...0xA1)
        ports.register(pic, ports: 0x4D0...0x4D1)
        ports.register(pit, ports: 0x40...0x43)
        ports.register(portB, ports: 0x61...0x61)
        ports.register(rtc, ports: 0x70...0x71)
        ports.register(kbc, ports: 0x60...0x60)
        ports.register(kbc, ports: 0x64...0x64)
        ports.register(sysctl, ports: 0x92...0x92)
        ports.register(sysctl, ports: 0xCF9...0xCF9)
        ports.register(pci, ports: 0xCF8...0xCF8)
        ports.register(pci, ports: 0xCFC...0xCFF)
        ports.register(fpuError, ports: 0xF0...0xF1)
    }

    /// A guest reset request: the run loop stops the CPU at the next
    /// boundary and restarts the machine from the reset vector.
    func requestReset() {
        resetRequested = true
        cpu.requestStop()
    }

    /// Resets the processor and chipset state a reset line reaches.
    public func reset() {
        resetRequested = false
        cpu.reset()
        pic.reset()
        pit.reset()
        keyboard.reset()
        systemControl.reset()
        pci.reset()
        northBridge.reset()
        southBridge.reset()
        ide.reset()
        balloonPCI?.reset()
        // The RTC keeps running across a reset, as on a PC; A20 follows its sources.
        cpu.setA20(keyboard.a20 || systemControl.a20)
    }

    /// One entry of the BIOS memory map (INT 15h E820 / boot_params).
    public struct E820Entry: Equatable {
        public var base: UInt64
        public var length: UInt64
        /// 1 usable RAM, 2 reserved.
        public var type: UInt32
    }

    /// The physical memory map as the firmware reports it: conventional
    /// memory below the EBDA, the legacy hole, extended memory above 1 MiB.
    public var e820Map: [E820Entry] {
        [
            E820Entry(base: 0, length: 0x9_FC00, type: 1),
            E820Entry(base: 0x9_FC00, length: 0x400, type: 2),
            E820Entry(base: 0xF_0000, length: 0x1_0000, type: 2),
            E820Entry(base: 0x10_0000, length: UInt64(memory.ramSize) - 0x10_0000, type: 1),
            E820Entry(base: 0xFFFF_0000, length: 0x1_0000, type: 2),
        ]
    }

    /// The 80x25 text screen as (character, attribute) cells, read from
    /// video memory at 0xB8000 from the CRTC start address.
    public func textScreen(rows: Int = 25) -> [UInt16] {
        let cols = vga.columns
        let base = 0xB_8000 + vga.startAddress * 2
        var cells = [UInt16](repeating: 0x0720, count: cols * rows)
        for i in 0..<(cols * rows) {
            let a = base + i * 2
            guard a + 1 < 0xC_0000 else { break }
            cells[i] = UInt16(memory.ram[a]) | UInt16(memory.ram[a + 1]) << 8
        }
        return cells
    }

    /// Capsule's own BIOS (firmware/, built with NASM; the committed image
    /// is checked against its source by the test suite).
    public static func embeddedBIOS() throws -> [UInt8] {
        guard let url = Bundle.module.url(forResource: "bios", withExtension: "bin"),
              let data = try? Data(contentsOf: url) else {
            throw MachineError("the embedded BIOS image is missing from this build (Capsule_PC resources)")
        }
        return [UInt8](data)
    }

    /// Maps a 64 KiB or 128 KiB firmware image so it ends at 0xFFFFF and at
    /// 0xFFFFFFFF; the CPU starts at its reset vector F000:FFF0.
    public func loadFirmware(_ image: [UInt8]) throws {
        guard image.count == 0x10000 || image.count == 0x20000 else {
            throw MachineError("firmware image must be 64 KiB or 128 KiB, got \(image.count) bytes")
        }
        memory.mapROM(image, at: UInt32(0x10_0000 - image.count))
        memory.mapROM(image, at: UInt32(truncatingIfNeeded: 0x1_0000_0000 - image.count))
        cpu.reset()
    }

    /// Why `run` returned.
    public enum StopReason: Equatable {
        case instructionLimit
        /// HLT with interrupts disabled: nothing can wake the CPU.
        case haltedWithInterruptsDisabled
        /// HLT with interrupts enabled but no event pending that could wake it.
        case haltedForever
        /// Triple fault (the board does not reset on its own here).
        case shutdown
        case breakpoint
        case watchpoint(UInt32)
        /// The host asked to stop (signal, console escape).
        case stopRequested
    }

    /// Runs the machine for up to `limit` instructions: the CPU in slices
    /// that end at the next timer event, due events fired between slices,
    /// and virtual time skipped forward while the CPU halts.
    public func run(instructions limit: UInt64) -> StopReason {
        let start = cpu.instructionCount
        while true {
            let done = cpu.instructionCount &- start
            if done >= limit { return .instructionLimit }
            onSliceBoundary?()
            pageRecency?.sampleIfDue(cpu)
            doBoundaryWork()
            var slice = limit - done
            if let due = scheduler.nextDue {
                let now = scheduler.now
                slice = min(slice, due > now ? due - now : 1)
            }
            slice = min(slice, Machine.maxSlice)
            if let t = nextReplayedInputTime {
                let now = scheduler.now
                slice = min(slice, t > now ? t - now : 1)
            }
            switch cpu.run(maxInstructions: Int(slice)) {
            case .instructionLimit, .reachedEIP, .exception:
                continue
            case .halted:
                if cpu.eflags & EFlags.if == 0 { return .haltedWithInterruptsDisabled }
                if !idleUntilNextEvent() { return .haltedForever }
            case .shutdown:
                // A triple fault resets a PC (the chipset sees the shutdown cycle).
                if resetOnTripleFault {
                    reset()
                    continue
                }
                return .shutdown
            case .breakpoint:
                if resetRequested {
                    reset()
                    continue
                }
                if cpu.stopRequestedByHost { return .stopRequested }
                return .breakpoint
            case .watchpoint(let a):
                return .watchpoint(a)
            }
        }
    }

    /// The work at a slice boundary: host input delivered, due events
    /// fired; marks the instant as done (see `RunEnd.boundaryDone`).
    func doBoundaryWork() {
        deliverHostInput()
        scheduler.runDue()
        boundaryMark = (cpu.instructionCount, scheduler.now)
    }

    /// A halted CPU waits: virtual time jumps to the next event and counts
    /// as idle time. False when no event is pending that could wake it.
    func idleUntilNextEvent() -> Bool {
        let before = scheduler.now
        guard scheduler.skipToNextEvent() else { return false }
        cpu.addIdleTime(scheduler.now &- before)
        return true
    }

    /// Longest CPU slice between checks for host input and stop requests.
    public static let maxSlice: UInt64 = 1 << 20
}
