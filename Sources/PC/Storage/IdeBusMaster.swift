import X86

/// The bus-master IDE DMA engine of one channel (SFF-8038i): eight I/O
/// registers at BAR4 + 0 (primary) or + 8 (secondary).
///
/// - +0 command: bit 0 start/stop, bit 3 direction (1 = the engine writes
///   memory, i.e. a device read).
/// - +2 status: bit 0 active, bit 1 error (write 1 to clear), bit 2
///   interrupt (write 1 to clear), bits 5/6 drive 0/1 DMA capable (plain
///   read/write, set by firmware), bit 7 simplex (always 0 on the PIIX).
/// - +4 physical address of the PRD table (dword aligned).
///
/// Each PRD entry is 8 bytes: a physical base address (bit 0 ignored) and
/// a byte count in bits 15…1 (0 means 64 KiB), bit 31 marking the last
/// entry (EOT). The engine runs whenever the start bit is set and the
/// selected device has a DMA transfer waiting; the data moves at once.
///
/// End of transfer, per SFF-8038i:
/// - the PRD table covers the transfer exactly: active 0, interrupt 1;
/// - the table is longer than the transfer: active stays 1, interrupt 1;
/// - the table ends before the transfer: active 0, interrupt 0, and the
///   device keeps waiting with the rest (the driver times out and resets,
///   or starts the engine again with a new table).
public final class IdeBusMaster {
    weak var channel: IdeChannel?
    let memory: PhysicalMemory?
    /// PCI command bit 2; no DMA happens while it is clear.
    var masterEnabled: () -> Bool = { true }

    public internal(set) var command: UInt8 = 0
    public internal(set) var status: UInt8 = 0
    public internal(set) var prdTable: UInt32 = 0

    // Walk of the PRD table since the last start.
    var prdNext: UInt32 = 0
    var segmentAddress: UInt32 = 0
    var segmentRemaining = 0
    var segmentLast = false
    private var running = false

    init(memory: PhysicalMemory?) {
        self.memory = memory
    }

    var started: Bool { command & 0x01 != 0 }
    var active: Bool { status & 0x01 != 0 }

    func reset() {
        command = 0
        status &= 0x60
        prdTable = 0
        segmentRemaining = 0
        segmentLast = false
    }

    // MARK: - Registers

    func readByte(_ offset: Int) -> UInt8 {
        switch offset {
        case 0: return command & 0x09
        case 2: return status
        case 4...7: return UInt8(truncatingIfNeeded: prdTable >> (8 * UInt32(offset - 4)))
        default: return 0
        }
    }

    func writeByte(_ offset: Int, _ value: UInt8) {
        switch offset {
        case 0:
            let wasStarted = started
            command = value & 0x09
            if started && !wasStarted {
                status |= 0x01
                prdNext = prdTable
                segmentRemaining = 0
                segmentLast = false
                run()
            } else if !started && wasStarted {
                // Stop: the engine drops its position; a device in the
                // middle of a transfer keeps waiting for it.
                status &= ~0x01
                segmentRemaining = 0
                segmentLast = false
            }
        case 2:
            status = (status & ~0x60) | (value & 0x60)
            status &= ~(value & 0x06)
        case 4...7:
            let shift = 8 * UInt32(offset - 4)
            prdTable = (prdTable & ~(0xFF << shift)) | UInt32(value) << shift
            prdTable &= 0xFFFF_FFFC
        default:
            break
        }
    }

    /// The channel's interrupt line rose.
    func interruptRaised() {
        status |= 0x04
    }

    // MARK: - Transfer

    /// Moves data between the waiting device and memory as far as the PRD
    /// table allows.
    func run() {
        guard !running, started, active, masterEnabled(), let memory, let channel else { return }
        running = true
        defer { running = false }
        while let dev = channel.dmaDevice {
            if dev.bufferPos >= dev.bufferEnd {
                dev.blockDone()
                continue
            }
            if segmentRemaining == 0 {
                if segmentLast {
                    // Table exhausted before the device is done.
                    status &= ~0x01
                    return
                }
                let base = memory.read(prdNext, width: 4) & ~1
                let info = memory.read(prdNext &+ 4, width: 4)
                var length = Int(info & 0xFFFE)
                if length == 0 { length = 0x10000 }
                segmentAddress = base
                segmentRemaining = length
                segmentLast = info & 0x8000_0000 != 0
                prdNext = prdNext &+ 8
            }
            let n = min(segmentRemaining, dev.bufferEnd - dev.bufferPos)
            if dev.phase == .dmaIn {
                memory.write(Array(dev.buffer[dev.bufferPos..<dev.bufferPos + n]), at: segmentAddress)
            } else {
                let bytes = memory.read(segmentAddress, count: n)
                dev.buffer.replaceSubrange(dev.bufferPos..<dev.bufferPos + n, with: bytes)
            }
            dev.bufferPos += n
            segmentAddress = segmentAddress &+ UInt32(n)
            segmentRemaining -= n
            if dev.bufferPos >= dev.bufferEnd {
                dev.blockDone()
            }
        }
        if segmentRemaining == 0 && segmentLast {
            status &= ~0x01
        }
    }
}
