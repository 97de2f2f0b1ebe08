/// Input from the host (serial bytes, later keys and packets) enters the
/// machine only at slice boundaries and is stamped with the virtual time at
/// which the guest first sees it. The stamped log is part of a capsule:
/// replaying it at the same virtual times reproduces the run bit for bit.
public struct InputEvent: Equatable, Codable {
    public enum Target: String, Codable { case com1, com2, keyboard }
    public var time: UInt64
    public var target: Target
    public var byte: UInt8

    public init(time: UInt64, target: Target, byte: UInt8) {
        self.time = time
        self.target = target
        self.byte = byte
    }
}

extension Machine {
    /// Queues bytes typed on the host for COM1; they reach the UART as its
    /// receive FIFO has room.
    public func queueSerialInput(_ bytes: [UInt8]) {
        pendingSerialInput.append(contentsOf: bytes)
    }

    /// Queues characters typed on the host as PS/2 key events.
    public func queueKeyboardInput(_ bytes: [UInt8]) {
        pendingKeyEvents.append(contentsOf: KeyboardLayout.events(for: bytes))
    }

    /// Moves queued host input into devices and records when it did.
    func deliverHostInput() {
        // One key event per boundary keeps the controller's queue short,
        // as a typist (or a typematic repeat) would.
        if !pendingKeyEvents.isEmpty {
            let e = pendingKeyEvents.removeFirst()
            keyboard.keyEvent(set2: e)
            for b in e { inputLog.append(InputEvent(time: scheduler.now, target: .keyboard, byte: b)) }
        }
        while !pendingSerialInput.isEmpty && com1.canReceive {
            let b = pendingSerialInput.removeFirst()
            com1.receive(b)
            inputLog.append(InputEvent(time: scheduler.now, target: .com1, byte: b))
        }
    }
}
