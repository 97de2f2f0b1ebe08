/// ATA status register bits (ATA/ATAPI-6 §7.15).
public enum AtaStatus {
    public static let bsy: UInt8 = 0x80
    public static let drdy: UInt8 = 0x40
    public static let df: UInt8 = 0x20
    /// Device seek complete (DSC), "SERV" for packet devices.
    public static let dsc: UInt8 = 0x10
    public static let drq: UInt8 = 0x08
    public static let corr: UInt8 = 0x04
    public static let err: UInt8 = 0x01
}

/// ATA error register bits.
public enum AtaError {
    /// Interface CRC error (Ultra DMA); never reported here.
    public static let icrc: UInt8 = 0x80
    /// Uncorrectable data error: the medium (the host file) failed a read.
    public static let unc: UInt8 = 0x40
    /// The requested address is not on the device.
    public static let idnf: UInt8 = 0x10
    /// Command aborted: unsupported command or parameter, or a failed write.
    public static let abrt: UInt8 = 0x04
}

/// What the device is doing with its data buffer.
enum IdeTransferPhase: Equatable {
    case idle
    /// The host reads the buffer through the data port.
    case pioIn
    /// The host fills the buffer through the data port.
    case pioOut
    /// The bus master empties the buffer into guest memory.
    case dmaIn
    /// The bus master fills the buffer from guest memory.
    case dmaOut
}

/// One device on an IDE channel: the task-file registers it latches, its
/// status, its interrupt request, and the buffer that PIO and DMA data
/// move through. `AtaDrive` and `AtapiDrive` add the command sets.
///
/// Commands complete synchronously: by the time the host's write to the
/// command register returns, the device is either done (status and INTRQ
/// set) or waiting for the host (DRQ for PIO, a started bus master for
/// DMA). Nothing here looks at any clock.
public class IdeDevice {
    /// Set when the device is attached to a channel.
    weak var channel: IdeChannel?
    /// 0 for the master (device 0), 1 for the slave (device 1).
    public internal(set) var position = 0

    // Task file, with the "previous content" halves that 48-bit commands use.
    var feature: UInt8 = 0, featurePrev: UInt8 = 0
    var count: UInt8 = 0, countPrev: UInt8 = 0
    var lbaLow: UInt8 = 0, lbaLowPrev: UInt8 = 0
    var lbaMid: UInt8 = 0, lbaMidPrev: UInt8 = 0
    var lbaHigh: UInt8 = 0, lbaHighPrev: UInt8 = 0
    var device: UInt8 = 0
    var error: UInt8 = 0
    var status: UInt8 = 0
    /// The device's interrupt request (INTRQ before the nIEN gate).
    var intrq = false

    /// Transfer buffer: bytes `[bufferPos, bufferEnd)` remain to be read by
    /// the host (PIO in / DMA in) or written by it (PIO out / DMA out).
    var buffer: [UInt8] = []
    var bufferPos = 0
    var bufferEnd = 0
    var phase: IdeTransferPhase = .idle

    /// The transfer modes selected with SET FEATURES (IDENTIFY words 63/88).
    var multiwordDMAMode: Int? = 2
    var ultraDMAMode: Int? = nil
    var pioMode = 4

    /// Opcodes already reported as unimplemented.
    private var reported = Set<UInt16>()

    init() {}

    /// Reports an unimplemented ATA command (`packet: false`) or SCSI
    /// opcode once through the controller's log.
    func reportUnimplemented(_ opcode: UInt8, packet: Bool) {
        let key = UInt16(opcode) | (packet ? 0x100 : 0)
        guard let log = channel?.log, !reported.contains(key) else { return }
        reported.insert(key)
        let hex = String(opcode, radix: 16, uppercase: true)
        let channelName = channel?.index == 0 ? "primary" : "secondary"
        let what = packet ? "packet command \(hex)h" : "ATA command \(hex)h"
        log("IDE \(channelName) \(position == 0 ? "master" : "slave"): unimplemented \(what), aborted")
    }

    /// True for packet (ATAPI) devices.
    var isPacketDevice: Bool { false }

    // MARK: - Register interface (called by the channel)

    func writeRegister(_ reg: Int, _ v: UInt8) {
        switch reg {
        case 1: featurePrev = feature; feature = v
        case 2: countPrev = count; count = v
        case 3: lbaLowPrev = lbaLow; lbaLow = v
        case 4: lbaMidPrev = lbaMid; lbaMid = v
        case 5: lbaHighPrev = lbaHigh; lbaHigh = v
        case 6: device = v
        default: break
        }
    }

    func readRegister(_ reg: Int, hob: Bool) -> UInt8 {
        switch reg {
        case 1: return error
        case 2: return hob ? countPrev : count
        case 3: return hob ? lbaLowPrev : lbaLow
        case 4: return hob ? lbaMidPrev : lbaMid
        case 5: return hob ? lbaHighPrev : lbaHigh
        case 6: return device
        default: return status
        }
    }

    /// Reads from the data port: 1, 2 or 4 bytes, little-endian.
    func readData(width: Int) -> UInt32 {
        guard phase == .pioIn else { return width == 4 ? 0xFFFF_FFFF : (width == 2 ? 0xFFFF : 0xFF) }
        var v: UInt32 = 0
        for i in 0..<width where bufferPos < bufferEnd {
            v |= UInt32(buffer[bufferPos]) << (8 * UInt32(i))
            bufferPos += 1
        }
        if bufferPos >= bufferEnd { blockDone() }
        return v
    }

    func writeData(width: Int, value: UInt32) {
        guard phase == .pioOut else { return }
        for i in 0..<width where bufferPos < bufferEnd {
            buffer[bufferPos] = UInt8(truncatingIfNeeded: value >> (8 * UInt32(i)))
            bufferPos += 1
        }
        if bufferPos >= bufferEnd { blockDone() }
    }

    // MARK: - Behaviour the command sets provide

    /// Executes a command written to the command register.
    func execute(command: UInt8) {
        abort()
    }

    /// The buffer has been drained (in) or filled (out): continue or finish.
    func blockDone() {
        phase = .idle
    }

    /// Puts the reset signature in the task file and the post-reset status.
    func resetSignature() {
        count = 1; lbaLow = 1
        lbaMid = 0; lbaHigh = 0
        countPrev = 0; lbaLowPrev = 0; lbaMidPrev = 0; lbaHighPrev = 0
        device = 0
        error = 0x01 // diagnostic code: passed (device 1 passed or absent)
        status = AtaStatus.drdy | AtaStatus.dsc
    }

    /// Power-on / hardware reset: settings that survive a software reset
    /// go back to their defaults too.
    func powerOnDefaults() {
        multiwordDMAMode = 2
        ultraDMAMode = nil
        pioMode = 4
    }

    /// Hardware or software reset: the transfer in progress is dropped.
    func reset() {
        phase = .idle
        bufferPos = 0
        bufferEnd = 0
        intrq = false
        resetSignature()
    }

    // MARK: - Helpers for the command sets

    /// Ends the command: status ready, no DRQ, optional error bits, INTRQ.
    func complete(interrupt: Bool = true) {
        phase = .idle
        error = 0
        status = AtaStatus.drdy | AtaStatus.dsc
        if interrupt { raiseInterrupt() }
    }

    /// Ends the command with ERR set and `errorBits` in the error register.
    func abort(_ errorBits: UInt8 = AtaError.abrt) {
        phase = .idle
        error = errorBits
        status = AtaStatus.drdy | AtaStatus.dsc | AtaStatus.err
        raiseInterrupt()
    }

    /// Offers `bytes` of `buffer` to the host through the data port.
    func startPIOIn(bytes: Int, interrupt: Bool = true) {
        bufferPos = 0
        bufferEnd = bytes
        phase = .pioIn
        status = AtaStatus.drdy | AtaStatus.dsc | AtaStatus.drq
        if interrupt { raiseInterrupt() }
    }

    /// Asks the host for `bytes` through the data port.
    func startPIOOut(bytes: Int, interrupt: Bool) {
        ensureBuffer(bytes)
        bufferPos = 0
        bufferEnd = bytes
        phase = .pioOut
        status = AtaStatus.drdy | AtaStatus.dsc | AtaStatus.drq
        if interrupt { raiseInterrupt() }
    }

    /// Hands `bytes` of buffer to the bus master (in: the buffer holds
    /// data for memory; out: the bus master fills it).
    func startDMA(bytes: Int, toMemory: Bool) {
        if !toMemory { ensureBuffer(bytes) }
        bufferPos = 0
        bufferEnd = bytes
        phase = toMemory ? .dmaIn : .dmaOut
        status = AtaStatus.drdy | AtaStatus.dsc | AtaStatus.drq
        channel?.dmaRequest()
    }

    func ensureBuffer(_ bytes: Int) {
        if buffer.count < bytes { buffer = [UInt8](repeating: 0, count: bytes) }
    }

    func raiseInterrupt() {
        intrq = true
        channel?.interruptChanged(from: self)
    }

    func clearInterrupt() {
        if intrq {
            intrq = false
            channel?.interruptChanged(from: self)
        }
    }

    /// SET FEATURES subcommand 03h: transfer mode in the sector count.
    /// Returns false for a mode this device does not offer.
    func setTransferMode(_ value: UInt8) -> Bool {
        let mode = Int(value & 0x07)
        switch value >> 3 {
        case 0: // PIO default mode (0: default, 1: default, IORDY disabled)
            pioMode = 4
            return mode <= 1
        case 1: // PIO flow control mode
            guard mode <= 4 else { return false }
            pioMode = mode
            return true
        case 4: // multiword DMA
            guard mode <= 2 else { return false }
            multiwordDMAMode = mode
            ultraDMAMode = nil
            return true
        case 8: // Ultra DMA
            guard mode <= 5 else { return false }
            ultraDMAMode = mode
            multiwordDMAMode = nil
            return true
        default:
            return false
        }
    }

    /// IDENTIFY words 63 and 88 for the advertised DMA modes (MWDMA 0-2,
    /// UDMA 0-5) with the selected one marked.
    var dmaModeWords: (UInt16, UInt16) {
        var w63: UInt16 = 0x0007
        if let m = multiwordDMAMode { w63 |= 0x0100 << UInt16(m) }
        var w88: UInt16 = 0x003F
        if let m = ultraDMAMode { w88 |= 0x0100 << UInt16(m) }
        return (w63, w88)
    }
}

/// Builds a 256-word IDENTIFY block.
struct IdentifyBlock {
    var words = [UInt16](repeating: 0, count: 256)

    subscript(_ i: Int) -> UInt16 {
        get { words[i] }
        set { words[i] = newValue }
    }

    /// Stores an ATA string: space padded, two characters per word with
    /// the first in the high byte.
    mutating func setString(_ s: String, word: Int, length: Int) {
        var chars = Array(s.utf8.prefix(length * 2))
        while chars.count < length * 2 { chars.append(0x20) }
        for i in 0..<length {
            words[word + i] = UInt16(chars[2 * i]) << 8 | UInt16(chars[2 * i + 1])
        }
    }

    mutating func set32(_ word: Int, _ v: UInt32) {
        words[word] = UInt16(v & 0xFFFF)
        words[word + 1] = UInt16(v >> 16)
    }

    mutating func set64(_ word: Int, _ v: UInt64) {
        for i in 0..<4 { words[word + i] = UInt16(truncatingIfNeeded: v >> (16 * UInt64(i))) }
    }

    /// Little-endian bytes with the integrity word (255: A5h signature and
    /// a checksum making all 512 bytes sum to zero).
    func bytes() -> [UInt8] {
        var w = words
        w[255] = 0x00A5
        var sum: UInt8 = 0
        for i in 0..<255 {
            sum = sum &+ UInt8(w[i] & 0xFF) &+ UInt8(w[i] >> 8)
        }
        sum = sum &+ 0xA5
        w[255] = UInt16(0 &- sum) << 8 | 0x00A5
        var out = [UInt8](repeating: 0, count: 512)
        for i in 0..<256 {
            out[2 * i] = UInt8(w[i] & 0xFF)
            out[2 * i + 1] = UInt8(w[i] >> 8)
        }
        return out
    }
}
