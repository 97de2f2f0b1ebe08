/// The i8042 keyboard controller at 0x60 (data) / 0x64 (status, command)
/// with a PS/2 keyboard on its first port and a minimal PS/2 mouse on the
/// auxiliary port.
///
/// The controller executes commands at once (IBF always reads 0). Bytes
/// from the keyboard, the mouse and the controller itself wait in small
/// queues and move into the one-byte output buffer whenever it is empty;
/// IRQ 1 / IRQ 12 follow "output buffer full with keyboard / mouse data"
/// gated by the command byte's interrupt enables. Reading port 0x60 empties
/// the buffer, so the line drops and rises again for the next byte.
public final class I8042: PortDevice {
    /// IRQ 1 level (keyboard data in the output buffer, interrupt enabled).
    public var irq1: ((Bool) -> Void)?
    /// IRQ 12 level (mouse data in the output buffer, interrupt enabled).
    public var irq12: ((Bool) -> Void)?
    /// The output port's reset line went low (command 0xFE or 0xD1 with bit 0 clear).
    public var onReset: (() -> Void)?
    /// The output port's A20 gate changed.
    public var onA20Change: ((Bool) -> Void)?

    // MARK: Controller state

    /// Command byte (internal RAM byte 0): bit 0 keyboard IRQ, bit 1 mouse
    /// IRQ, bit 2 system flag, bit 4 keyboard disabled, bit 5 mouse
    /// disabled, bit 6 translate set 2 → set 1.
    public internal(set) var commandByte: UInt8 = 0x50
    /// The rest of the controller's 32-byte internal RAM (index 0 unused).
    var internalRAM = [UInt8](repeating: 0, count: 32)
    /// Output port: bit 0 reset (high = running), bit 1 A20 gate; bits
    /// 4/5 are computed (output buffer full from keyboard / mouse).
    public internal(set) var outputPort: UInt8 = 0xCD
    var outputBuffer: UInt8 = 0
    var outputFull = false
    var outputFromAux = false
    /// The last write went to port 0x64 (status bit 3).
    var lastWriteWasCommand = false
    /// A controller command waiting for its data byte (0x60–0x7F, 0xD1–0xD4), or 0.
    var pendingCommand: UInt8 = 0
    /// Bytes the controller itself answers with (before any device data).
    var controllerQueue: [UInt8] = []
    /// Translation state: a set-2 0xF0 break prefix was swallowed.
    var translateBreak = false
    var irq1Level = false
    var irq12Level = false

    public let keyboard = PS2Keyboard()
    public let mouse = PS2Mouse()

    public init() {}

    public var a20: Bool { outputPort & 0x02 != 0 }

    // MARK: Host input

    /// A key event as set-2 bytes: make `[0x1C]`, break `[0xF0, 0x1C]`,
    /// extended `[0xE0, 0x75]` / `[0xE0, 0xF0, 0x75]`. Dropped while the
    /// keyboard is not scanning.
    public func keyEvent(set2 bytes: [UInt8]) {
        keyboard.keyEvent(set2: bytes)
        refill()
    }

    /// Presses (`down`) or releases a key given by its set-2 code.
    public func key(_ code: UInt8, extended: Bool = false, down: Bool) {
        var b: [UInt8] = extended ? [0xE0] : []
        if !down { b.append(0xF0) }
        b.append(code)
        keyEvent(set2: b)
    }

    /// Mouse motion and buttons (bit 0 left, 1 right, 2 middle).
    public func mouseEvent(dx: Int, dy: Int, buttons: UInt8) {
        mouse.motion(dx: dx, dy: dy, buttons: buttons)
        refill()
    }

    // MARK: Ports

    public var status: UInt8 {
        var s: UInt8 = 0x10 // keyboard not inhibited
        if outputFull { s |= 0x01 }
        if commandByte & 0x04 != 0 { s |= 0x04 }
        if lastWriteWasCommand { s |= 0x08 }
        if outputFull && outputFromAux { s |= 0x20 }
        return s
    }

    public func portRead(_ port: UInt16, width: Int) -> UInt32 {
        if port == 0x64 { return UInt32(status) }
        let v = outputBuffer
        outputFull = false
        updateIRQs()
        refill()
        return UInt32(v)
    }

    public func portWrite(_ port: UInt16, width: Int, value: UInt32) {
        let v = UInt8(truncatingIfNeeded: value)
        if port == 0x64 {
            lastWriteWasCommand = true
            command(v)
        } else {
            lastWriteWasCommand = false
            data(v)
        }
        refill()
    }

    func respond(_ b: UInt8) { controllerQueue.append(b) }

    func command(_ c: UInt8) {
        pendingCommand = 0
        switch c {
        case 0x20: respond(commandByte)
        case 0x21...0x3F: respond(internalRAM[Int(c & 0x1F)])
        case 0x60...0x7F, 0xD1, 0xD2, 0xD3, 0xD4: pendingCommand = c
        case 0xA7: setCommandByte(commandByte | 0x20)
        case 0xA8: setCommandByte(commandByte & ~0x20)
        case 0xA9: respond(0x00) // mouse interface test: no error
        case 0xAA: respond(0x55) // self test passed
        case 0xAB: respond(0x00) // keyboard interface test: no error
        case 0xAD: setCommandByte(commandByte | 0x10)
        case 0xAE: setCommandByte(commandByte & ~0x10)
        case 0xC0: respond(0xA0) // input port: not inhibited, no jumper
        case 0xD0: respond(readOutputPort())
        case 0xDD: writeOutputPort(outputPort & ~0x02)
        case 0xDF: writeOutputPort(outputPort | 0x02)
        case 0xE0: respond(0x00) // test inputs
        case 0xF0...0xFF:
            // Pulse output port bits 0–3 that are 0 in the command's low nibble.
            if c & 0x01 == 0 { onReset?() }
        default: break
        }
    }

    func data(_ v: UInt8) {
        let c = pendingCommand
        pendingCommand = 0
        switch c {
        case 0x60: setCommandByte(v)
        case 0x61...0x7F: internalRAM[Int(c & 0x1F)] = v
        case 0xD1: writeOutputPort(v)
        case 0xD2: respondAs(v, aux: false)
        case 0xD3: respondAs(v, aux: true)
        case 0xD4:
            // The mouse clock is enabled by sending it a byte.
            mouse.receive(v)
        default:
            keyboard.receive(v)
        }
    }

    /// 0xD2/0xD3: a byte that appears as if it came from a device.
    var echoQueue: [(UInt8, Bool)] = []
    func respondAs(_ v: UInt8, aux: Bool) { echoQueue.append((v, aux)) }

    func setCommandByte(_ v: UInt8) {
        commandByte = v & 0x77
        updateIRQs()
    }

    func readOutputPort() -> UInt8 {
        var v = outputPort & 0xCF
        if outputFull && !outputFromAux { v |= 0x10 }
        if outputFull && outputFromAux { v |= 0x20 }
        return v
    }

    func writeOutputPort(_ v: UInt8) {
        let old = outputPort
        outputPort = v | 0x01
        if (old ^ outputPort) & 0x02 != 0 { onA20Change?(a20) }
        if v & 0x01 == 0 { onReset?() }
    }

    /// Moves the next waiting byte into an empty output buffer.
    func refill() {
        guard !outputFull else { return }
        if !controllerQueue.isEmpty {
            load(controllerQueue.removeFirst(), aux: false)
        } else if !echoQueue.isEmpty {
            let (b, aux) = echoQueue.removeFirst()
            load(b, aux: aux)
        } else if commandByte & 0x10 == 0, let b = nextKeyboardByte() {
            load(b, aux: false)
        } else if commandByte & 0x20 == 0, let b = mouse.next() {
            load(b, aux: true)
        }
        updateIRQs()
    }

    func load(_ b: UInt8, aux: Bool) {
        outputBuffer = b
        outputFull = true
        outputFromAux = aux
    }

    /// The keyboard's next byte, translated to set 1 if the command byte asks.
    func nextKeyboardByte() -> UInt8? {
        while let b = keyboard.next() {
            guard commandByte & 0x40 != 0 else { return b }
            if b == 0xF0 {
                translateBreak = true
                continue
            }
            let t = I8042.translate(b)
            let r = translateBreak && (b < 0x80 || b == 0x83 || b == 0x84) ? t | 0x80 : t
            translateBreak = false
            return r
        }
        return nil
    }

    /// The 8042's set-2 → set-1 translation of one byte (no break prefix).
    public static func translate(_ b: UInt8) -> UInt8 {
        if b < 0x80 { return translation[Int(b)] }
        if b == 0x83 { return 0x41 } // F7
        if b == 0x84 { return 0x54 } // Alt+SysRq
        return b
    }

    /// Set 2 code → set 1 code, for codes 0x00–0x7F (IBM PS/2 technical reference).
    static let translation: [UInt8] = [
        0xFF, 0x43, 0x41, 0x3F, 0x3D, 0x3B, 0x3C, 0x58, 0x64, 0x44, 0x42, 0x40, 0x3E, 0x0F, 0x29, 0x59,
        0x65, 0x38, 0x2A, 0x70, 0x1D, 0x10, 0x02, 0x5A, 0x66, 0x71, 0x2C, 0x1F, 0x1E, 0x11, 0x03, 0x5B,
        0x67, 0x2E, 0x2D, 0x20, 0x12, 0x05, 0x04, 0x5C, 0x68, 0x39, 0x2F, 0x21, 0x14, 0x13, 0x06, 0x5D,
        0x69, 0x31, 0x30, 0x23, 0x22, 0x15, 0x07, 0x5E, 0x6A, 0x72, 0x32, 0x24, 0x16, 0x08, 0x09, 0x5F,
        0x6B, 0x33, 0x25, 0x17, 0x18, 0x0B, 0x0A, 0x60, 0x6C, 0x34, 0x35, 0x26, 0x27, 0x19, 0x0C, 0x61,
        0x6D, 0x73, 0x28, 0x74, 0x1A, 0x0D, 0x62, 0x6E, 0x3A, 0x36, 0x1C, 0x1B, 0x75, 0x2B, 0x63, 0x76,
        0x55, 0x56, 0x77, 0x78, 0x79, 0x7A, 0x0E, 0x7B, 0x7C, 0x4F, 0x7D, 0x4B, 0x47, 0x7E, 0x7F, 0x6F,
        0x52, 0x53, 0x50, 0x4C, 0x4D, 0x48, 0x01, 0x45, 0x57, 0x4E, 0x51, 0x4A, 0x37, 0x49, 0x46, 0x54,
    ]

    func updateIRQs() {
        let l1 = outputFull && !outputFromAux && commandByte & 0x01 != 0
        let l12 = outputFull && outputFromAux && commandByte & 0x02 != 0
        if l1 != irq1Level { irq1Level = l1; irq1?(l1) }
        if l12 != irq12Level { irq12Level = l12; irq12?(l12) }
    }

    /// Power-on state of the controller and both devices (A20 gate off;
    /// `onA20Change` is called if it was on).
    public func reset() {
        let wasA20 = a20, l1 = irq1Level, l12 = irq12Level
        restoreState(I8042().saveState())
        irq1Level = l1
        irq12Level = l12
        updateIRQs() // drops the lines that were up
        if wasA20 { onA20Change?(false) }
    }

    // MARK: State

    public func saveState() -> [String: UInt64] {
        var s: [String: UInt64] = [:]
        s["commandByte"] = UInt64(commandByte)
        for i in 1..<32 { s["ram.\(i)"] = UInt64(internalRAM[i]) }
        s["outputPort"] = UInt64(outputPort)
        s["outputBuffer"] = UInt64(outputBuffer)
        s["outputFull"] = outputFull ? 1 : 0
        s["outputFromAux"] = outputFromAux ? 1 : 0
        s["lastWriteWasCommand"] = lastWriteWasCommand ? 1 : 0
        s["pendingCommand"] = UInt64(pendingCommand)
        saveQueue(controllerQueue, "controllerQueue", into: &s)
        saveQueue(echoQueue.map { $0.0 }, "echoQueue", into: &s)
        saveQueue(echoQueue.map { $0.1 ? 1 : 0 }, "echoQueueAux", into: &s)
        s["translateBreak"] = translateBreak ? 1 : 0
        s["irq1Level"] = irq1Level ? 1 : 0
        s["irq12Level"] = irq12Level ? 1 : 0
        keyboard.save(into: &s)
        mouse.save(into: &s)
        return s
    }

    public func restoreState(_ s: [String: UInt64]) {
        func b(_ k: String) -> UInt8 { UInt8(truncatingIfNeeded: s[k] ?? 0) }
        commandByte = b("commandByte")
        for i in 1..<32 { internalRAM[i] = b("ram.\(i)") }
        outputPort = b("outputPort")
        outputBuffer = b("outputBuffer")
        outputFull = b("outputFull") != 0
        outputFromAux = b("outputFromAux") != 0
        lastWriteWasCommand = b("lastWriteWasCommand") != 0
        pendingCommand = b("pendingCommand")
        controllerQueue = loadQueue("controllerQueue", from: s)
        let eq = loadQueue("echoQueue", from: s), ea = loadQueue("echoQueueAux", from: s)
        echoQueue = zip(eq, ea).map { ($0, $1 != 0) }
        translateBreak = b("translateBreak") != 0
        irq1Level = b("irq1Level") != 0
        irq12Level = b("irq12Level") != 0
        keyboard.restore(from: s)
        mouse.restore(from: s)
    }
}

/// Queues are saved as a count and one entry per byte.
func saveQueue(_ q: [UInt8], _ name: String, into s: inout [String: UInt64]) {
    s[name + ".count"] = UInt64(q.count)
    for (i, b) in q.enumerated() { s[name + ".\(i)"] = UInt64(b) }
}

func loadQueue(_ name: String, from s: [String: UInt64]) -> [UInt8] {
    let n = Int(s[name + ".count"] ?? 0)
    return (0..<n).map { UInt8(truncatingIfNeeded: s[name + ".\($0)"] ?? 0) }
}

/// A PS/2 (MF2) keyboard: the commands of the IBM keyboard technical
/// reference that an OS uses, scan code sets 1 and 2 (set 3 is accepted
/// and reported but keys are still sent in set 2), and a 16-byte buffer.
public final class PS2Keyboard {
    static let ack: UInt8 = 0xFA
    var queue: [UInt8] = []
    public internal(set) var scanning = true
    public internal(set) var scancodeSet: UInt8 = 2
    public internal(set) var leds: UInt8 = 0
    public internal(set) var typematic: UInt8 = 0x2B
    /// The command awaiting its parameter byte (0xED, 0xF0, 0xF3), or 0.
    var pendingCommand: UInt8 = 0
    var lastSent: UInt8 = 0
    static let capacity = 16

    func next() -> UInt8? {
        guard !queue.isEmpty else { return nil }
        let b = queue.removeFirst()
        lastSent = b
        return b
    }

    func send(_ b: UInt8) {
        if queue.count < PS2Keyboard.capacity { queue.append(b) }
    }

    func keyEvent(set2 bytes: [UInt8]) {
        guard scanning, queue.count + bytes.count <= PS2Keyboard.capacity else { return }
        if scancodeSet == 1 {
            // The keyboard sends set 1 itself: translate, folding break prefixes.
            var brk = false
            for b in bytes {
                if b == 0xF0 { brk = true; continue }
                let t = I8042.translate(b)
                send(brk && (b < 0x80 || b == 0x83 || b == 0x84) ? t | 0x80 : t)
                brk = false
            }
        } else {
            for b in bytes { send(b) }
        }
    }

    func setDefaults() {
        typematic = 0x2B
        scancodeSet = 2
    }

    func receive(_ b: UInt8) {
        let p = pendingCommand
        if p != 0 && b < 0x80 {
            pendingCommand = 0
            switch p {
            case 0xED:
                leds = b & 0x07
                send(PS2Keyboard.ack)
            case 0xF0:
                if b == 0 {
                    send(PS2Keyboard.ack)
                    send(scancodeSet)
                } else if b <= 3 {
                    scancodeSet = b
                    queue.removeAll()
                    send(PS2Keyboard.ack)
                } else {
                    send(0xFE)
                }
            case 0xF3:
                typematic = b & 0x7F
                send(PS2Keyboard.ack)
            default: break
            }
            return
        }
        pendingCommand = 0
        switch b {
        case 0xED, 0xF0, 0xF3:
            pendingCommand = b
            send(PS2Keyboard.ack)
        case 0xEE: send(0xEE)
        case 0xF2:
            send(PS2Keyboard.ack)
            send(0xAB)
            send(0x83)
        case 0xF4:
            queue.removeAll()
            scanning = true
            send(PS2Keyboard.ack)
        case 0xF5:
            setDefaults()
            queue.removeAll()
            scanning = false
            send(PS2Keyboard.ack)
        case 0xF6:
            setDefaults()
            queue.removeAll()
            send(PS2Keyboard.ack)
        case 0xF7...0xFD:
            send(PS2Keyboard.ack) // set 3 key types: accepted, ignored
        case 0xFE:
            send(lastSent)
        case 0xFF:
            queue.removeAll()
            setDefaults()
            leds = 0
            scanning = true
            send(PS2Keyboard.ack)
            send(0xAA) // basic assurance test passed
        default:
            send(0xFE) // resend: unknown command
        }
    }

    func save(into s: inout [String: UInt64]) {
        saveQueue(queue, "kbd.queue", into: &s)
        s["kbd.scanning"] = scanning ? 1 : 0
        s["kbd.set"] = UInt64(scancodeSet)
        s["kbd.leds"] = UInt64(leds)
        s["kbd.typematic"] = UInt64(typematic)
        s["kbd.pendingCommand"] = UInt64(pendingCommand)
        s["kbd.lastSent"] = UInt64(lastSent)
    }

    func restore(from s: [String: UInt64]) {
        func b(_ k: String) -> UInt8 { UInt8(truncatingIfNeeded: s[k] ?? 0) }
        queue = loadQueue("kbd.queue", from: s)
        scanning = b("kbd.scanning") != 0
        scancodeSet = b("kbd.set")
        leds = b("kbd.leds")
        typematic = b("kbd.typematic")
        pendingCommand = b("kbd.pendingCommand")
        lastSent = b("kbd.lastSent")
    }
}

/// A minimal standard PS/2 mouse (ID 0, three buttons, no wheel): reset,
/// identify, sample rate, resolution, scaling, status request, stream and
/// remote mode, enable/disable, defaults, resend; 3-byte movement packets
/// in stream mode while reporting is enabled.
public final class PS2Mouse {
    static let ack: UInt8 = 0xFA
    var queue: [UInt8] = []
    public internal(set) var reporting = false
    public internal(set) var sampleRate: UInt8 = 100
    public internal(set) var resolution: UInt8 = 2
    public internal(set) var scaling21 = false
    public internal(set) var remoteMode = false
    var buttons: UInt8 = 0
    var pendingCommand: UInt8 = 0
    var lastSent: UInt8 = 0
    static let capacity = 48

    func next() -> UInt8? {
        guard !queue.isEmpty else { return nil }
        let b = queue.removeFirst()
        lastSent = b
        return b
    }

    func send(_ b: UInt8) {
        if queue.count < PS2Mouse.capacity { queue.append(b) }
    }

    func packet(dx: Int, dy: Int) -> [UInt8] {
        let x = max(-256, min(255, dx)), y = max(-256, min(255, dy))
        var b0: UInt8 = 0x08 | (buttons & 0x07)
        if x < 0 { b0 |= 0x10 }
        if y < 0 { b0 |= 0x20 }
        return [b0, UInt8(truncatingIfNeeded: x), UInt8(truncatingIfNeeded: y)]
    }

    func motion(dx: Int, dy: Int, buttons: UInt8) {
        self.buttons = buttons & 0x07
        guard reporting, !remoteMode, queue.count + 3 <= PS2Mouse.capacity else { return }
        for b in packet(dx: dx, dy: dy) { send(b) }
    }

    func setDefaults() {
        sampleRate = 100
        resolution = 2
        scaling21 = false
        remoteMode = false
        reporting = false
    }

    func receive(_ b: UInt8) {
        let p = pendingCommand
        if p != 0 {
            pendingCommand = 0
            if p == 0xF3 { sampleRate = b } else { resolution = b & 3 }
            send(PS2Mouse.ack)
            return
        }
        switch b {
        case 0xE6: scaling21 = false; send(PS2Mouse.ack)
        case 0xE7: scaling21 = true; send(PS2Mouse.ack)
        case 0xE8, 0xF3:
            pendingCommand = b
            send(PS2Mouse.ack)
        case 0xE9:
            send(PS2Mouse.ack)
            var st: UInt8 = buttons & 0x01 != 0 ? 0x04 : 0
            if buttons & 0x02 != 0 { st |= 0x01 }
            if buttons & 0x04 != 0 { st |= 0x02 }
            if scaling21 { st |= 0x10 }
            if reporting { st |= 0x20 }
            if remoteMode { st |= 0x40 }
            send(st)
            send(resolution)
            send(sampleRate)
        case 0xEA: remoteMode = false; send(PS2Mouse.ack)
        case 0xEB:
            send(PS2Mouse.ack)
            for x in packet(dx: 0, dy: 0) { send(x) }
        case 0xEC, 0xEE: send(PS2Mouse.ack) // wrap mode is not emulated
        case 0xF0: remoteMode = true; send(PS2Mouse.ack)
        case 0xF2:
            send(PS2Mouse.ack)
            send(0x00)
        case 0xF4: reporting = true; send(PS2Mouse.ack)
        case 0xF5: reporting = false; send(PS2Mouse.ack)
        case 0xF6: setDefaults(); send(PS2Mouse.ack)
        case 0xFE: send(lastSent)
        case 0xFF:
            queue.removeAll()
            setDefaults()
            send(PS2Mouse.ack)
            send(0xAA)
            send(0x00)
        default: send(0xFE)
        }
    }

    func save(into s: inout [String: UInt64]) {
        saveQueue(queue, "mouse.queue", into: &s)
        s["mouse.reporting"] = reporting ? 1 : 0
        s["mouse.sampleRate"] = UInt64(sampleRate)
        s["mouse.resolution"] = UInt64(resolution)
        s["mouse.scaling21"] = scaling21 ? 1 : 0
        s["mouse.remoteMode"] = remoteMode ? 1 : 0
        s["mouse.buttons"] = UInt64(buttons)
        s["mouse.pendingCommand"] = UInt64(pendingCommand)
        s["mouse.lastSent"] = UInt64(lastSent)
    }

    func restore(from s: [String: UInt64]) {
        func b(_ k: String) -> UInt8 { UInt8(truncatingIfNeeded: s[k] ?? 0) }
        queue = loadQueue("mouse.queue", from: s)
        reporting = b("mouse.reporting") != 0
        sampleRate = b("mouse.sampleRate")
        resolution = b("mouse.resolution")
        scaling21 = b("mouse.scaling21") != 0
        remoteMode = b("mouse.remoteMode") != 0
        buttons = b("mouse.buttons")
        pendingCommand = b("mouse.pendingCommand")
        lastSent = b("mouse.lastSent")
    }
}
