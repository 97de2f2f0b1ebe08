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
    /// Host input waiting for room in its device.
    var pendingSerialInput: [UInt8] = []
    /// Every host input delivered so far, stamped with virtual time.
    public internal(set) var inputLog: [InputEvent] = []
    /// Called between slices so the host side can feed input and check stops.
    public var onSliceBoundary: (() -> Void)?

    public init(memorySize: Int) throws {
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
        ports.register(com1, ports: 0x3F8...0x3FF)
        ports.register(com2, ports: 0x2F8...0x2FF)
        ports.register(post, ports: 0x80...0x80)
        ports.register(vga, ports: 0x3B4...0x3B5)
        ports.register(vga, ports: 0x3BA...0x3BA)
        ports.register(vga, ports: 0x3C0...0x3CF)
        ports.register(vga, ports: 0x3D4...0x3D5)
        ports.register(vga, ports: 0x3DA...0x3DA)
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
            E820Entry(base: 0xE_0000, length: 0x2_0000, type: 2),
            E820Entry(base: 0x10_0000, length: UInt64(memory.ramSize) - 0x10_0000, type: 1),
            E820Entry(base: 0xFFFC_0000, length: 0x4_0000, type: 2),
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
            deliverHostInput()
            scheduler.runDue()
            var slice = limit - done
            if let due = scheduler.nextDue {
                let now = scheduler.now
                slice = min(slice, due > now ? due - now : 1)
            }
            slice = min(slice, Machine.maxSlice)
            switch cpu.run(maxInstructions: Int(slice)) {
            case .instructionLimit, .reachedEIP, .exception:
                continue
            case .halted:
                if cpu.eflags & EFlags.if == 0 { return .haltedWithInterruptsDisabled }
                let before = scheduler.now
                if !scheduler.skipToNextEvent() { return .haltedForever }
                cpu.addIdleTime(scheduler.now &- before)
            case .shutdown:
                return .shutdown
            case .breakpoint:
                if cpu.stopRequestedByHost { return .stopRequested }
                return .breakpoint
            case .watchpoint(let a):
                return .watchpoint(a)
            }
        }
    }

    /// Longest CPU slice between checks for host input and stop requests.
    public static let maxSlice: UInt64 = 1 << 20
}
