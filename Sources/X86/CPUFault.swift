/// An exception raised while executing an instruction. Thrown with typed
/// throws so the error path costs a branch, not an allocation.
public struct CPUFault: Error, Equatable {
    public var vector: UInt8
    public var errorCode: UInt32
    public var hasErrorCode: Bool

    @inline(__always) init(_ vector: Vector, _ errorCode: UInt32) {
        self.vector = vector.rawValue
        self.errorCode = errorCode
        self.hasErrorCode = true
    }

    @inline(__always) init(_ vector: Vector) {
        self.vector = vector.rawValue
        self.errorCode = 0
        self.hasErrorCode = false
    }

    /// The architectural exception vectors (Intel SDM vol. 3, table 6-1).
    public enum Vector: UInt8 {
        case divideError = 0, debug = 1, nmi = 2, breakpoint = 3, overflow = 4
        case boundRange = 5, invalidOpcode = 6, deviceNotAvailable = 7
        case doubleFault = 8, invalidTSS = 10, segmentNotPresent = 11
        case stackFault = 12, generalProtection = 13, pageFault = 14
        case floatingPoint = 16, alignmentCheck = 17, machineCheck = 18
    }

    static var ud: CPUFault { CPUFault(.invalidOpcode) }
    static var de: CPUFault { CPUFault(.divideError) }
    static func gp(_ code: UInt32 = 0) -> CPUFault { CPUFault(.generalProtection, code) }
    static func ss(_ code: UInt32 = 0) -> CPUFault { CPUFault(.stackFault, code) }
    static func np(_ code: UInt32) -> CPUFault { CPUFault(.segmentNotPresent, code) }
    static func ts(_ code: UInt32) -> CPUFault { CPUFault(.invalidTSS, code) }
    static func nm() -> CPUFault { CPUFault(.deviceNotAvailable) }

    /// Whether the saved EIP points at the faulting instruction (fault) or
    /// after it (trap), SDM 6.5.
    var isTrap: Bool { vector == 3 || vector == 4 }
}

/// Why `CPU.run` returned.
public enum RunOutcome: Equatable {
    case reachedEIP
    case exception(vector: UInt8, errorCode: UInt32?)
    case instructionLimit
    case halted
    case shutdown
    /// A host (debugger) breakpoint at CS:EIP; the instruction has not run.
    case breakpoint
    /// A debugger watchpoint was hit by the instruction that just retired.
    case watchpoint(address: UInt32)
}
