/// Input from the host (serial bytes, later keys and packets) enters the
/// machine only at slice boundaries and is stamped with the virtual time at
/// which the guest first sees it. The stamped log is part of a capsule:
/// replaying it at the same virtual times reproduces the run bit for bit.
public struct InputEvent: Equatable, Codable, Sendable {
    public enum Target: String, Codable, Sendable { case com1, com2, keyboard }
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
        queuedInputLog.append(InputReplay.Queued(time: scheduler.now, serial: bytes))
        pendingSerialInput.append(contentsOf: bytes)
    }

    /// Queues characters typed on the host as PS/2 key events.
    public func queueKeyboardInput(_ bytes: [UInt8]) {
        queuedInputLog.append(InputReplay.Queued(time: scheduler.now, keyboard: bytes))
        pendingKeyEvents.append(contentsOf: KeyboardLayout.events(for: bytes))
    }

    /// Moves queued host input into devices and records when it did.
    func deliverHostInput() {
        if inputReplay != nil, deliverReplayedInput() { return }
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

/// Re-execution of a stretch the machine already ran (reverse execution):
/// host input is delivered from the stamped log at exactly the virtual
/// times it was first delivered, not whenever a slice boundary happens to
/// find room, so the replay computes the same bits as the original run.
public struct InputReplay: Equatable {
    /// Host input handed to the machine (`queueSerialInput` and friends)
    /// at a virtual time: it is queued again at that time.
    public struct Queued: Equatable, Sendable {
        public var time: UInt64
        public var serial: [UInt8]
        public var keyboard: [UInt8]

        public init(time: UInt64, serial: [UInt8] = [], keyboard: [UInt8] = []) {
            self.time = time
            self.serial = serial
            self.keyboard = keyboard
        }
    }

    /// Events still to deliver, in log order.
    public var events: ArraySlice<InputEvent>
    /// Input to queue again, in order.
    public var queued: ArraySlice<Queued>
    /// Virtual time up to which the original run went: until then only
    /// logged input may enter; afterwards normal delivery resumes.
    public var until: UInt64

    public init(events: ArraySlice<InputEvent>, queued: ArraySlice<Queued> = [], until: UInt64) {
        self.events = events
        self.queued = queued
        self.until = until
    }
}

extension Machine {
    /// Delivers the logged events due now. True while the replay governs
    /// input; false once it is over (the caller then delivers normally).
    func deliverReplayedInput() -> Bool {
        applyReplayedQueues()
        guard var r = inputReplay else { return false }
        let now = scheduler.now
        var keyBytes: [UInt8] = []
        while let e = r.events.first, e.time <= now {
            r.events.removeFirst()
            switch e.target {
            case .com1:
                com1.receive(e.byte)
                if !pendingSerialInput.isEmpty { pendingSerialInput.removeFirst() }
            case .com2:
                com2.receive(e.byte)
            case .keyboard:
                keyBytes.append(e.byte)
            }
            inputLog.append(e)
        }
        if !keyBytes.isEmpty {
            keyboard.keyEvent(set2: keyBytes)
            if !pendingKeyEvents.isEmpty { pendingKeyEvents.removeFirst() }
        }
        if r.events.isEmpty && r.queued.isEmpty && now >= r.until {
            inputReplay = nil
            return false
        }
        inputReplay = r
        return true
    }

    /// Queues again the host input that was queued at or before now.
    public func applyReplayedQueues() {
        guard var r = inputReplay else { return }
        let now = scheduler.now
        while let q = r.queued.first, q.time <= now {
            r.queued.removeFirst()
            pendingSerialInput.append(contentsOf: q.serial)
            if !q.keyboard.isEmpty { pendingKeyEvents.append(contentsOf: KeyboardLayout.events(for: q.keyboard)) }
        }
        inputReplay = r
    }

    /// The next virtual time a replayed event is due (slices end there).
    var nextReplayedInputTime: UInt64? {
        guard let r = inputReplay else { return nil }
        switch (r.events.first?.time, r.queued.first?.time) {
        case let (a?, b?): return min(a, b)
        case let (a?, nil): return a
        case let (nil, b?): return b
        case (nil, nil): return nil
        }
    }
}
