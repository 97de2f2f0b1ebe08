/// Everything a suspended processor needs to continue exactly where it
/// stopped: architectural registers, hidden segment caches, the x87, the
/// clock, and the few pieces of instruction-boundary state (halt,
/// interrupt shadow, pending debug traps). The software TLB and fetch
/// window are caches and are rebuilt, not saved.
public struct CPUState: Codable, Equatable {
    public var regs: [UInt32]
    public var eip: UInt32
    public var eflags: UInt32
    public var segments: [SegmentState]
    public var cr0, cr2, cr3, cr4: UInt32
    public var dr: [UInt32]
    public var gdtrBase, gdtrLimit, idtrBase, idtrLimit: UInt32
    public var sysenterCS, sysenterESP, sysenterEIP: UInt32
    public var tscOffset: UInt64
    public var instructionCount: UInt64
    public var halted, interruptShadow, debugShadow, shutdownRequested, taskSwitchTrap: Bool
    public var pendingDataBreakpoints: UInt32
    public var a20Enabled: Bool
    public var intrLine, nmiPending: Bool
    public var fpuRegisters: [UInt64]
    public var fpuExponents: [UInt16]
    public var fpuControl, fpuStatus, fpuTag: UInt16
    public var fpuLastIP, fpuLastDP: UInt32
    public var fpuLastCS, fpuLastDS, fpuLastOpcode: UInt16

    /// One segment register with its hidden cache, including the
    /// precomputed valid ranges (real mode keeps cached limits: "unreal").
    public struct SegmentState: Codable, Equatable {
        public var selector: UInt16
        public var base, limit: UInt32
        public var attributes: UInt16
        public var lowRead, highRead, lowWrite, highWrite: UInt32
    }
}

extension CPU {
    public func saveState() -> CPUState {
        CPUState(
            regs: (0..<8).map { regs[$0] }, eip: eip, eflags: materializedFlags(),
            segments: (0..<8).map { i in
                let s = segs[i]
                return CPUState.SegmentState(selector: s.selector, base: s.base, limit: s.limit, attributes: s.attributes.raw,
                                             lowRead: s.lowRead, highRead: s.highRead, lowWrite: s.lowWrite, highWrite: s.highWrite)
            },
            cr0: cr0, cr2: cr2, cr3: cr3, cr4: cr4, dr: dr,
            gdtrBase: gdtrBase, gdtrLimit: gdtrLimit, idtrBase: idtrBase, idtrLimit: idtrLimit,
            sysenterCS: sysenterCS, sysenterESP: sysenterESP, sysenterEIP: sysenterEIP,
            tscOffset: tscOffset, instructionCount: instructionCount,
            halted: halted, interruptShadow: interruptShadow, debugShadow: debugShadow,
            shutdownRequested: shutdownRequested, taskSwitchTrap: taskSwitchTrap,
            pendingDataBreakpoints: pendingDataBreakpoints, a20Enabled: a20Enabled,
            intrLine: intrLine, nmiPending: nmiPending,
            fpuRegisters: fpu.registers.map { $0.significand }, fpuExponents: fpu.registers.map { $0.signExp },
            fpuControl: fpu.control, fpuStatus: fpu.status, fpuTag: fpu.tag,
            fpuLastIP: fpu.lastIP, fpuLastDP: fpu.lastDP, fpuLastCS: fpu.lastCS, fpuLastDS: fpu.lastDS,
            fpuLastOpcode: fpu.lastOpcode)
    }

    /// Restores a saved processor; rejects malformed state instead of
    /// running a silently wrong machine.
    public func restoreState(_ s: CPUState) throws {
        guard s.regs.count == 8, s.segments.count == 8, s.dr.count == 8,
              s.fpuRegisters.count == 8, s.fpuExponents.count == 8 else {
            throw CPUStateError("CPU state has the wrong number of registers")
        }
        for i in 0..<8 { regs[i] = s.regs[i] }
        eip = s.eip
        for i in 0..<8 {
            let g = s.segments[i]
            var seg = Segment()
            seg.selector = g.selector; seg.base = g.base; seg.limit = g.limit
            seg.attributes = DescriptorAttributes(raw: g.attributes)
            seg.lowRead = g.lowRead; seg.highRead = g.highRead; seg.lowWrite = g.lowWrite; seg.highWrite = g.highWrite
            segs[i] = seg
        }
        cr0 = s.cr0; cr2 = s.cr2; cr3 = s.cr3; cr4 = s.cr4
        dr = s.dr
        gdtrBase = s.gdtrBase; gdtrLimit = s.gdtrLimit; idtrBase = s.idtrBase; idtrLimit = s.idtrLimit
        sysenterCS = s.sysenterCS; sysenterESP = s.sysenterESP; sysenterEIP = s.sysenterEIP
        tscOffset = s.tscOffset
        instructionCount = s.instructionCount
        flagBits = (s.eflags & 0x003F_7FD5) | 0x2
        lazyMask = 0
        halted = s.halted; interruptShadow = s.interruptShadow; debugShadow = s.debugShadow
        shutdownRequested = s.shutdownRequested; taskSwitchTrap = s.taskSwitchTrap
        pendingDataBreakpoints = s.pendingDataBreakpoints
        a20Mask = s.a20Enabled ? 0xFFFF_FFFF : 0xFFEF_FFFF
        intrLine = s.intrLine; nmiPending = s.nmiPending
        for i in 0..<8 { fpu.registers[i] = X87Float(signExp: s.fpuExponents[i], significand: s.fpuRegisters[i]) }
        fpu.control = s.fpuControl; fpu.status = s.fpuStatus; fpu.tag = s.fpuTag
        fpu.lastIP = s.fpuLastIP; fpu.lastDP = s.fpuLastDP; fpu.lastCS = s.fpuLastCS; fpu.lastDS = s.fpuLastDS
        fpu.lastOpcode = s.fpuLastOpcode
        alignmentCheckActive = false
        updateModeCaches()
        updateBreakpointState()
        flushTLB(includingGlobal: true)
        // RAM may have been replaced behind the write tracking (a capsule
        // load copies pages straight in): decode everything afresh.
        decodeCache.reset()
    }
}

public struct CPUStateError: Error, CustomStringConvertible {
    public let description: String
    init(_ d: String) { description = d }
}
