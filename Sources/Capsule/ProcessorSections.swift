import X86

/// The processor's state sections: `cpu` (integer unit, segmentation,
/// paging and system registers, the instruction count and
/// instruction-boundary state) and `fpu` (the x87), as typed values. Both
/// wrap a `CPUState` that starts as the freshly built machine's, so a
/// section only overwrites what it carries.
struct CPUSection: Stateful {
    static let stateTag = "cpu"
    static let stateVersion = 1
    var state: CPUState

    func saveState(into w: inout StateWriter) {
        let s = state
        w.write(s.regs)
        w.write(s.eip)
        w.write(s.eflags)
        // One sub-section per segment register (ES CS SS DS FS GS, LDTR, TR).
        w.subsection("segments") { w in
            w.write(s.segments.count)
            for g in s.segments {
                w.write(g.selector); w.write(g.base); w.write(g.limit); w.write(g.attributes)
                w.write([g.lowRead, g.highRead, g.lowWrite, g.highWrite])
            }
        }
        w.write([s.cr0, s.cr2, s.cr3, s.cr4])
        w.write(s.dr)
        w.write([s.gdtrBase, s.gdtrLimit, s.idtrBase, s.idtrLimit])
        w.write([s.sysenterCS, s.sysenterESP, s.sysenterEIP])
        w.write(s.tscOffset)
        w.write(s.instructionCount)
        for b in [s.halted, s.interruptShadow, s.debugShadow, s.shutdownRequested, s.taskSwitchTrap] { w.write(b) }
        w.write(s.pendingDataBreakpoints)
        w.write(s.a20Enabled)
        w.write(s.intrLine)
        w.write(s.nmiPending)
    }

    mutating func loadState(from r: inout StateReader, version: Int) throws {
        func words(_ n: Int, _ what: String) throws -> [UInt32] {
            let a = try r.readU32Array()
            guard a.count == n else { throw CapsuleError.badSection("\(r.path) version \(version): \(what) has \(a.count) entries, not \(n)") }
            return a
        }
        var s = state
        s.regs = try words(8, "the general registers")
        s.eip = try r.readU32()
        s.eflags = try r.readU32()
        guard var g = try r.subsection("segments") else {
            throw CapsuleError.badSection("\(r.path) version \(version): sub-section 'segments' is missing")
        }
        let n = try g.readInt()
        guard n == 8 else { throw CapsuleError.badSection("\(g.path) version \(g.version): \(n) segment registers, not 8") }
        var segments: [CPUState.SegmentState] = []
        for i in 0..<n {
            var seg = s.segments[i]
            seg.selector = try g.readU16(); seg.base = try g.readU32(); seg.limit = try g.readU32(); seg.attributes = try g.readU16()
            let ranges = try g.readU32Array()
            guard ranges.count == 4 else { throw CapsuleError.badSection("\(g.path) version \(g.version): segment \(i) has \(ranges.count) range bounds, not 4") }
            seg.lowRead = ranges[0]; seg.highRead = ranges[1]; seg.lowWrite = ranges[2]; seg.highWrite = ranges[3]
            segments.append(seg)
        }
        try g.finish()
        s.segments = segments
        let cr = try words(4, "CR0/CR2/CR3/CR4")
        s.cr0 = cr[0]; s.cr2 = cr[1]; s.cr3 = cr[2]; s.cr4 = cr[3]
        s.dr = try words(8, "the debug registers")
        let dt = try words(4, "GDTR/IDTR")
        s.gdtrBase = dt[0]; s.gdtrLimit = dt[1]; s.idtrBase = dt[2]; s.idtrLimit = dt[3]
        let se = try words(3, "the SYSENTER MSRs")
        s.sysenterCS = se[0]; s.sysenterESP = se[1]; s.sysenterEIP = se[2]
        s.tscOffset = try r.readU64()
        s.instructionCount = try r.readU64()
        s.halted = try r.readBool(); s.interruptShadow = try r.readBool(); s.debugShadow = try r.readBool()
        s.shutdownRequested = try r.readBool(); s.taskSwitchTrap = try r.readBool()
        s.pendingDataBreakpoints = try r.readU32()
        s.a20Enabled = try r.readBool()
        s.intrLine = try r.readBool()
        s.nmiPending = try r.readBool()
        state = s
    }
}

/// The x87: the eight 80-bit registers (significand and sign/exponent by
/// physical register), control, status (with TOP), the tag word and the
/// last-instruction pointers.
struct FPUSection: Stateful {
    static let stateTag = "fpu"
    static let stateVersion = 1
    var state: CPUState

    func saveState(into w: inout StateWriter) {
        w.write(state.fpuRegisters)
        w.write(state.fpuExponents)
        w.write([state.fpuControl, state.fpuStatus, state.fpuTag])
        w.write(state.fpuLastIP); w.write(state.fpuLastCS)
        w.write(state.fpuLastDP); w.write(state.fpuLastDS)
        w.write(state.fpuLastOpcode)
    }

    mutating func loadState(from r: inout StateReader, version: Int) throws {
        let sig = try r.readU64Array(), exp = try r.readU16Array(), words = try r.readU16Array()
        guard sig.count == 8, exp.count == 8, words.count == 3 else {
            throw CapsuleError.badSection("\(r.path) version \(version): wrong register count (\(sig.count) significands, \(exp.count) exponents, \(words.count) control words)")
        }
        state.fpuRegisters = sig
        state.fpuExponents = exp
        state.fpuControl = words[0]; state.fpuStatus = words[1]; state.fpuTag = words[2]
        state.fpuLastIP = try r.readU32(); state.fpuLastCS = try r.readU16()
        state.fpuLastDP = try r.readU32(); state.fpuLastDS = try r.readU16()
        state.fpuLastOpcode = try r.readU16()
    }
}
