/// The processor: an i686-class integer core (plus the x87, attached
/// separately) interpreted one instruction at a time.
///
/// State lives in stored properties and a few raw buffers (registers, TLB)
/// so that the interpreter's inner loop touches no reference counts and no
/// existentials. Exceptions travel as typed throws (`CPUFault`), which
/// compile to a returned flag rather than an allocation.
public final class CPU {
    // MARK: Architectural registers

    /// EAX ECX EDX EBX ESP EBP ESI EDI, in encoding order, then a ninth
    /// register that is always zero (`zeroRegister`: decoded effective
    /// addresses name it for an absent base or index).
    let regs: UnsafeMutablePointer<UInt32>
    static let zeroRegister: UInt8 = 8
    let rawRegs: UnsafeMutableRawPointer
    public var eip: UInt32 = 0

    /// ES CS SS DS FS GS, then LDTR and TR (index 6 and 7).
    let segs: UnsafeMutablePointer<Segment>

    public var cr0: UInt32 = 0x6000_0010
    public var cr2: UInt32 = 0
    public var cr3: UInt32 = 0
    public var cr4: UInt32 = 0
    public var dr = [UInt32](repeating: 0, count: 8)

    public internal(set) var gdtrBase: UInt32 = 0
    public internal(set) var gdtrLimit: UInt32 = 0xFFFF
    public internal(set) var idtrBase: UInt32 = 0
    public internal(set) var idtrLimit: UInt32 = 0x3FF

    /// Current privilege level (CS.RPL in protected mode, 3 in V86, 0 in real mode).
    public internal(set) var cpl: Int = 0

    // MSRs an i686 Linux touches.
    public var sysenterCS: UInt32 = 0
    public var sysenterESP: UInt32 = 0
    public var sysenterEIP: UInt32 = 0
    var apicBase: UInt64 = 0
    /// TSC offset: RDTSC returns the virtual clock plus this.
    var tscOffset: UInt64 = 0

    // MARK: Flags (lazy: see Flags.swift)

    /// EFLAGS; arithmetic bits listed in `lazyMask` are stale and must be
    /// computed from the last result.
    var flagBits: UInt32 = 0x2
    var lazyMask: UInt32 = 0
    var lzOp: LazyOp = .logic
    var lzSize: Int = 2
    var lzA: UInt32 = 0
    var lzB: UInt32 = 0
    var lzR: UInt32 = 0

    // MARK: Mode caches, derived from CR0 / CS / SS / EFLAGS

    var protectedMode = false
    var v86 = false
    var pagingEnabled = false
    /// CS.D: default operand and address size is 32 bits.
    var codeBig = false
    /// SS.B: the stack pointer is ESP rather than SP.
    var stackBig = false
    var a20Mask: UInt32 = 0xFFFF_FFFF
    /// CR0.AM, EFLAGS.AC and CPL 3: user data accesses skip the TLB so the
    /// slow path can raise #AC on misalignment.
    var alignmentCheckActive = false

    // MARK: Decoder state of the current instruction

    var instrStart: UInt32 = 0
    var eaSeg = 3
    var eaOff: UInt32 = 0
    /// The decoded form of the instruction being executed (Decode/).
    var cur: UnsafeMutablePointer<CachedInstruction>

    // MARK: Execution control

    /// Instructions retired since reset (REP iterations count one each).
    /// This is the machine's clock: nothing reads host time.
    public var instructionCount: UInt64 = 0
    public internal(set) var halted = false { didSet { refreshAttention() } }
    /// Set by MOV SS / POP SS / STI: interrupts (and single-step) wait one instruction.
    var interruptShadow = false { didSet { refreshAttention() } }
    /// Set by MOV SS / POP SS only: the single-step trap waits one instruction too.
    var debugShadow = false { didSet { refreshPostAttention() } }
    /// Stop `run` on the next instruction boundary.
    public var stopRequested = false { didSet { refreshAttention() } }
    /// Whether the last `.breakpoint` outcome came from `requestStop`.
    public internal(set) var stopRequestedByHost = false
    /// When true, exceptions stop `run` instead of being delivered (test harnesses).
    public var stopOnException = false
    public internal(set) var lastException: CPUFault?
    /// Nested exception depth during delivery: #DF and triple-fault detection.
    var deliveryDepth = 0
    public internal(set) var shutdownRequested = false { didSet { refreshAttention() } }
    /// Debug traps collected during an instruction (DR6 B0-B3 bits).
    var pendingDataBreakpoints: UInt32 = 0 { didSet { refreshPostAttention() } }
    var dataBreakpointsActive = false
    var ioBreakpointsActive = false
    /// The new task's TSS had its debug trap (T) bit set.
    var taskSwitchTrap = false { didSet { refreshPostAttention() } }
    var codeBreakpointsActive = false { didSet { refreshAttention() } }
    /// Remaining instruction budget of the current `run` slice; REP string
    /// instructions use it to stop between iterations on time.
    var sliceRemaining = 0
    /// `run(until:)`'s stop address while that run lasts.
    var stopAtEIP: UInt32? { didSet { refreshAttention() } }

    /// Debugger state (DebugAccess.swift): host breakpoints by linear
    /// address, watchpoints, the one-shot skip used to resume from a
    /// breakpoint, and the address of the last watchpoint hit.
    var hostBreakpoints = Set<UInt32>() { didSet { refreshAttention() } }
    var hostWatchpoints: [Watchpoint] = []
    public var skipBreakpointOnce = false
    var watchpointHit: UInt32? { didSet { refreshPostAttention() } }
    /// The host watchpoint that matched last (read and write watchpoints
    /// can share an address).
    public internal(set) var lastWatchpointHit: Watchpoint?
    /// A host debug event (mode change, vector, I/O port) waiting to stop
    /// `run` at the next boundary; see DebugEvents.swift.
    var debugEventPending = false { didSet { refreshAttention() } }
    var hostDebugEvent: HostDebugEvent?
    var breakOnModeChangeFlag = false
    var vectorBreakBits: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
    var vectorBreaksActive = false

    // MARK: External world

    public let memory: PhysicalMemory
    public var io: IOPortHandler
    /// The interrupt controller; the board sets `intrLine` when it wants service.
    public weak var interruptController: InterruptAcknowledging?
    public var intrLine = false { didSet { refreshAttention() } }
    public var nmiPending = false { didSet { refreshAttention() } }

    /// True when the next instruction boundary needs more than "execute":
    /// an interrupt line, a halt, a stop request, a shadow, breakpoints.
    /// Kept up to date by the properties it summarizes, so the common
    /// boundary costs one test.
    var attention = false
    /// True when the instruction that just retired left debug work behind.
    var postAttention = false

    @inline(__always) func refreshAttention() {
        attention = halted || interruptShadow || stopRequested || shutdownRequested || intrLine || nmiPending
            || !hostBreakpoints.isEmpty || codeBreakpointsActive || debugEventPending || stopAtEIP != nil
    }

    @inline(__always) func refreshPostAttention() {
        postAttention = debugShadow || taskSwitchTrap || watchpointHit != nil || pendingDataBreakpoints != 0
    }
    /// Called for a reset request the CPU itself makes (triple fault).
    public var onShutdown: (() -> Void)?
    public var fpu: FPUState
    /// The x87's FERR# output (legacy error reporting with CR0.NE = 0): the
    /// board routes it to IRQ 13.
    public var onFERR: ((Bool) -> Void)?

    // MARK: Software TLB (see Paging.swift)

    let tlbTag: UnsafeMutablePointer<UInt32>
    let tlbHost: UnsafeMutablePointer<UnsafeMutableRawPointer?>
    let tlbGlobal: UnsafeMutablePointer<Bool>
    /// Physical page of each entry: finds the write entries of a page that
    /// starts holding code.
    let tlbPhysPage: UnsafeMutablePointer<UInt32>
    /// 0 for supervisor accesses, `tlbUser` when CPL is 3.
    var tlbUserOffset = 0

    // MARK: Instruction fetch window (see Fetch.swift)

    var fetchBase: UInt32 = 0
    var fetchLen: UInt32 = 0
    var fetchHost: UnsafeMutablePointer<UInt8>
    /// Decode-cache index for the window: entry number of the instruction
    /// starting at window offset d is `codeIndex[d]` (0 = not decoded).
    var codeIndex: UnsafeMutablePointer<UInt32>?
    let decodeCache: DecodeCache
    /// `decodeCache.pool`, one load closer for the per-instruction lookup.
    let codePool: UnsafeMutablePointer<CachedInstruction>
    /// The table-driven decoder (Decode/InstructionDecoder.swift), shared
    /// with the disassembler.
    let decoder = InstructionDecoder()

    public init(memory: PhysicalMemory, io: IOPortHandler = EmptyIOBus()) {
        self.memory = memory
        self.io = io
        regs = .allocate(capacity: 9)
        regs.initialize(repeating: 0, count: 9)
        rawRegs = UnsafeMutableRawPointer(regs)
        segs = .allocate(capacity: 8)
        segs.initialize(repeating: Segment(), count: 8)
        tlbTag = .allocate(capacity: CPU.tlbEntries * 4)
        tlbTag.initialize(repeating: CPU.tlbInvalid, count: CPU.tlbEntries * 4)
        tlbHost = .allocate(capacity: CPU.tlbEntries * 4)
        tlbHost.initialize(repeating: nil, count: CPU.tlbEntries * 4)
        tlbGlobal = .allocate(capacity: CPU.tlbEntries * 4)
        tlbGlobal.initialize(repeating: false, count: CPU.tlbEntries * 4)
        tlbPhysPage = .allocate(capacity: CPU.tlbEntries * 4)
        tlbPhysPage.initialize(repeating: 0, count: CPU.tlbEntries * 4)
        fetchHost = memory.ram
        decodeCache = memory.decodeCache
        codePool = decodeCache.pool
        cur = decodeCache.scratch
        fpu = FPUState()
        memory.writeMappingsInvalidated = { [unowned self] in self.flushWriteTLB() }
        decodeCache.onDrop = { [unowned self] in self.fetchLen = 0 }
        reset()
    }

    deinit {
        regs.deallocate()
        segs.deallocate()
        tlbTag.deallocate()
        tlbHost.deallocate()
        tlbGlobal.deallocate()
        tlbPhysPage.deallocate()
    }

    /// Power-on / RESET state (SDM vol. 3, 9.1.1): real mode at F000:FFF0
    /// with CS.base = 0xFFFF0000 so the first fetch reaches the top of the
    /// 4 GiB space.
    public func reset() {
        for i in 0..<8 { regs[i] = 0 }
        regs[2] = 0x0000_0633 // EDX: family 6, model 3, stepping 3 (matches CPUID)
        flagBits = 0x2
        lazyMask = 0
        eip = 0xFFF0
        cr0 = 0x6000_0010
        cr2 = 0; cr3 = 0; cr4 = 0
        for i in 0..<8 { dr[i] = 0 }
        dr[6] = 0xFFFF_0FF0
        dr[7] = 0x400
        gdtrBase = 0; gdtrLimit = 0xFFFF
        idtrBase = 0; idtrLimit = 0xFFFF
        for i in 0..<6 { segs[i] = Segment.realMode(selector: 0) }
        segs[1] = Segment.realMode(selector: 0xF000)
        segs[1].base = 0xFFFF_0000
        segs[6] = Segment.systemReset(type: 2)
        segs[7] = Segment.systemReset(type: 3)
        sysenterCS = 0; sysenterESP = 0; sysenterEIP = 0
        apicBase = 0
        halted = false
        interruptShadow = false
        shutdownRequested = false
        deliveryDepth = 0
        pendingDataBreakpoints = 0
        a20Mask = 0xFFFF_FFFF
        fpu.reset()
        updateModeCaches()
        flushTLB(includingGlobal: true)
    }

    /// Re-derives the cached mode bits after CR0, CS, SS or EFLAGS.VM change.
    func updateModeCaches() {
        let before = breakOnModeChangeFlag ? executionMode : nil
        defer { if let before { noteModeChange(from: before) } }
        protectedMode = cr0 & CR0.pe != 0
        pagingEnabled = protectedMode && cr0 & CR0.pg != 0
        v86 = protectedMode && flagBits & EFlags.vm != 0
        if !protectedMode {
            cpl = 0
        } else if v86 {
            cpl = 3
        } else {
            cpl = Int(segs[1].attributes.dpl)
        }
        codeBig = protectedMode && !v86 && segs[1].attributes.big
        stackBig = protectedMode && !v86 && segs[2].attributes.big
        tlbUserOffset = cpl == 3 ? CPU.tlbUser : 0
        let ac = cpl == 3 && cr0 & CR0.am != 0 && flagBits & EFlags.ac != 0
        if ac != alignmentCheckActive {
            alignmentCheckActive = ac
            flushTLB(includingGlobal: true)
        }
        fetchLen = 0
    }

    // MARK: Register access

    @inline(__always) func reg8(_ i: Int) -> UInt8 {
        rawRegs.load(fromByteOffset: (i & 3) << 2 | (i >> 2), as: UInt8.self)
    }
    @inline(__always) func setReg8(_ i: Int, _ v: UInt8) {
        rawRegs.storeBytes(of: v, toByteOffset: (i & 3) << 2 | (i >> 2), as: UInt8.self)
    }
    @inline(__always) func reg16(_ i: Int) -> UInt16 { UInt16(truncatingIfNeeded: regs[i]) }
    @inline(__always) func setReg16(_ i: Int, _ v: UInt16) { regs[i] = (regs[i] & 0xFFFF_0000) | UInt32(v) }

    /// Reads a register of operand size `size` (1, 2 or 4 bytes).
    @inline(__always) func getReg(_ size: Int, _ i: Int) -> UInt32 {
        switch size {
        case 1: return UInt32(reg8(i))
        case 2: return regs[i] & 0xFFFF
        default: return regs[i]
        }
    }
    @inline(__always) func setReg(_ size: Int, _ i: Int, _ v: UInt32) {
        switch size {
        case 1: setReg8(i, UInt8(truncatingIfNeeded: v))
        case 2: setReg16(i, UInt16(truncatingIfNeeded: v))
        default: regs[i] = v
        }
    }

    public func gpr(_ index: Int) -> UInt32 { regs[index] }
    public func setGPR(_ index: Int, _ value: UInt32) { regs[index] = value }

    public var eflags: UInt32 {
        get { materializedFlags() }
        set { setFlagsRaw(newValue) }
    }

    public func segment(_ index: Int) -> Segment { segs[index] }

    /// Operand size of the current instruction in bytes (2 or 4).
    @inline(__always) var osize: Int { opsize32 ? 4 : 2 }
}

/// The board's interrupt controller, as seen from the CPU: when `intrLine`
/// is up and interrupts are enabled the CPU asks it for a vector.
public protocol InterruptAcknowledging: AnyObject {
    func acknowledgeInterrupt() -> UInt8
}

enum CR0 {
    static let pe: UInt32 = 1 << 0
    static let mp: UInt32 = 1 << 1
    static let em: UInt32 = 1 << 2
    static let ts: UInt32 = 1 << 3
    static let et: UInt32 = 1 << 4
    static let ne: UInt32 = 1 << 5
    static let wp: UInt32 = 1 << 16
    static let am: UInt32 = 1 << 18
    static let nw: UInt32 = 1 << 29
    static let cd: UInt32 = 1 << 30
    static let pg: UInt32 = 1 << 31
}

enum CR4 {
    static let vme: UInt32 = 1 << 0
    static let pvi: UInt32 = 1 << 1
    static let tsd: UInt32 = 1 << 2
    static let de: UInt32 = 1 << 3
    static let pse: UInt32 = 1 << 4
    static let pge: UInt32 = 1 << 7
    static let pce: UInt32 = 1 << 8
    /// Bits this CPU lets software set (no PAE, MCE, OSFXSR: not reported).
    static let supported: UInt32 = vme | pvi | tsd | de | pse | pge | pce
}

public enum EFlags {
    public static let cf: UInt32 = 1 << 0
    public static let pf: UInt32 = 1 << 2
    public static let af: UInt32 = 1 << 4
    public static let zf: UInt32 = 1 << 6
    public static let sf: UInt32 = 1 << 7
    public static let tf: UInt32 = 1 << 8
    public static let `if`: UInt32 = 1 << 9
    public static let df: UInt32 = 1 << 10
    public static let of: UInt32 = 1 << 11
    public static let iopl: UInt32 = 3 << 12
    public static let nt: UInt32 = 1 << 14
    public static let rf: UInt32 = 1 << 16
    public static let vm: UInt32 = 1 << 17
    public static let ac: UInt32 = 1 << 18
    public static let vif: UInt32 = 1 << 19
    public static let vip: UInt32 = 1 << 20
    public static let id: UInt32 = 1 << 21
    static let arith: UInt32 = cf | pf | af | zf | sf | of
}
