import X86

/// The complete state of a machine apart from RAM and disk contents,
/// which are saved page by page and block by block by the capsule layer.
/// Device tables are keyed by a stable section name per device.
public struct MachineState: Codable, Equatable {
    public static let version = 1
    public var version = MachineState.version
    public var memorySize: Int
    public var cpu: CPUState
    public var devices: [String: [String: UInt64]]
    public var ide: IdeControllerState
    public var idleTime: UInt64
    public var inputLog: [InputEvent]
    public var pendingSerialInput: [UInt8]
    public var pendingKeyEvents: [[UInt8]]
    public var resetRequested: Bool
}

extension Machine {
    /// Device sections by name, in a fixed order (restore order matters:
    /// the PIC before the devices that drive its lines).
    var stateDevices: [(String, () -> [String: UInt64], ([String: UInt64]) -> Void)] {
        var list: [(String, () -> [String: UInt64], ([String: UInt64]) -> Void)] = [
            ("pic", pic.saveState, pic.restoreState),
            ("pit", pit.saveState, pit.restoreState),
            ("portB", portB.saveState, portB.restoreState),
            ("rtc", rtc.saveState, rtc.restoreState),
            ("i8042", keyboard.saveState, keyboard.restoreState),
            ("sysctl", systemControl.saveState, systemControl.restoreState),
            ("pci", pci.saveState, pci.restoreState),
            ("i440fx", northBridge.saveState, northBridge.restoreState),
            ("piix3", southBridge.saveState, southBridge.restoreState),
            ("com1", com1.saveState, com1.restoreState),
            ("com2", com2.saveState, com2.restoreState),
            ("vga", vga.saveState, vga.restoreState),
            ("ferr", fpuError.saveState, fpuError.restoreState),
            ("post", post.saveState, post.restoreState),
        ]
        // Only machines configured with it have the balloon (so older states still load).
        if let b = balloonPCI { list.append(("virtio-balloon", b.saveState, b.restoreState)) }
        return list
    }

    public func saveState() -> MachineState {
        var devices: [String: [String: UInt64]] = [:]
        for (name, save, _) in stateDevices { devices[name] = save() }
        return MachineState(memorySize: memory.ramSize, cpu: cpu.saveState(), devices: devices, ide: ide.saveState(),
                            idleTime: scheduler.idleTime, inputLog: inputLog, pendingSerialInput: pendingSerialInput,
                            pendingKeyEvents: pendingKeyEvents, resetRequested: resetRequested)
    }

    /// Restores into a machine built with the same configuration (memory
    /// size, disks). The clock comes first so devices re-arm their timers
    /// against the restored time.
    public func restoreState(_ s: MachineState) throws {
        guard s.version <= MachineState.version else {
            throw MachineError("machine state version \(s.version) is newer than this build understands (max \(MachineState.version))")
        }
        guard s.memorySize == memory.ramSize else {
            throw MachineError("machine state is for \(s.memorySize >> 20) MiB of RAM, this machine has \(memory.ramSize >> 20) MiB")
        }
        try cpu.restoreState(s.cpu)
        scheduler.restore(idleTime: s.idleTime)
        for (name, _, restore) in stateDevices {
            guard let table = s.devices[name] else { throw MachineError("machine state has no section '\(name)'") }
            restore(table)
        }
        try ide.restoreState(s.ide)
        inputLog = s.inputLog
        pendingSerialInput = s.pendingSerialInput
        pendingKeyEvents = s.pendingKeyEvents
        resetRequested = s.resetRequested
        // The CPU's interrupt line follows the restored PIC.
        cpu.intrLine = s.cpu.intrLine
    }
}
