/// An ATA hard disk (ATA/ATAPI-6 general feature set, 48-bit addressing)
/// on a `BlockDevice`.
///
/// Commands: IDENTIFY DEVICE; READ/WRITE SECTORS (+EXT), READ/WRITE
/// MULTIPLE (+EXT), SET MULTIPLE MODE; READ/WRITE DMA (+EXT); READ VERIFY
/// SECTORS (+EXT); SET FEATURES (transfer mode, write cache, look-ahead,
/// revert to defaults); FLUSH CACHE (+EXT); INITIALIZE DEVICE PARAMETERS;
/// IDLE, IDLE IMMEDIATE, STANDBY, STANDBY IMMEDIATE, SLEEP, CHECK POWER
/// MODE; SEEK, RECALIBRATE; READ NATIVE MAX ADDRESS (+EXT); EXECUTE
/// DEVICE DIAGNOSTIC (the channel runs it on both devices). Addresses are
/// LBA28, LBA48 or CHS with the current translation.
public final class AtaDrive: IdeDevice {
    public let disk: BlockDevice
    public var model: String
    public var serial: String
    public var firmware: String

    /// Sectors moved per DRQ block by READ/WRITE MULTIPLE (0: disabled).
    var multipleCount = 16
    static let maxMultiple = 16
    /// Sectors per bus-master chunk (the buffer the DMA engine drains).
    static let dmaChunkSectors = 128

    /// Default CHS geometry (IDENTIFY words 1, 3, 6).
    let defaultCylinders: Int
    let defaultHeads = 16
    let defaultSectors = 63
    /// Current CHS translation (INITIALIZE DEVICE PARAMETERS).
    var heads = 16
    var sectorsPerTrack = 63
    var writeCacheEnabled = true
    var lookAheadEnabled = true
    /// False after STANDBY/SLEEP until the next media access.
    var active = true

    // The command in progress.
    var xferLBA: UInt64 = 0
    var xferRemaining = 0
    var xferBlockSectors = 0
    var xferCurrentSectors = 0
    var xferWrite = false
    var xferDMA = false
    var xferLBA48 = false

    public init(disk: BlockDevice, model: String = "CAPSULE HARDDISK", serial: String = "", firmware: String = "1.0") {
        self.disk = disk
        self.model = model
        self.serial = serial
        self.firmware = firmware
        defaultCylinders = Int(min(UInt64(16383), disk.sectorCount / UInt64(16 * 63)))
        super.init()
        resetSignature()
    }

    /// Sectors addressable through LBA28 commands.
    var lba28Capacity: UInt64 { min(disk.sectorCount, 0x0FFF_FFFF) }

    /// Sectors reachable through CHS addresses (at most 16383/16/63).
    var chsCapacity: UInt64 { min(disk.sectorCount, 16383 * 16 * 63) }

    /// Cylinders in the current translation.
    var currentCylinders: Int {
        let perCyl = UInt64(heads * sectorsPerTrack)
        guard perCyl > 0 else { return 0 }
        return Int(min(UInt64(65535), chsCapacity / perCyl))
    }

    // MARK: - IDENTIFY DEVICE

    func identifyData() -> [UInt8] {
        var id = IdentifyBlock()
        id[0] = 0x0040 // fixed, non-removable ATA device
        id[1] = UInt16(defaultCylinders)
        id[3] = UInt16(defaultHeads)
        id[6] = UInt16(defaultSectors)
        id.setString(serial, word: 10, length: 10)
        id[20] = 3 // obsolete buffer type: dual ported, read cache
        id[21] = 512 // obsolete buffer size
        id.setString(firmware, word: 23, length: 4)
        id.setString(model, word: 27, length: 20)
        id[47] = 0x8000 | UInt16(AtaDrive.maxMultiple)
        id[49] = 0x0F00 // DMA, LBA, IORDY (can be disabled)
        id[50] = 0x4000
        id[51] = 0x0200 // obsolete PIO timing: mode 2
        id[53] = 0x0007 // words 54-58, 64-70 and 88 are valid
        let cyl = currentCylinders
        id[54] = UInt16(cyl)
        id[55] = UInt16(heads)
        id[56] = UInt16(sectorsPerTrack)
        id.set32(57, UInt32(cyl * heads * sectorsPerTrack))
        id[59] = multipleCount > 0 ? 0x0100 | UInt16(multipleCount) : 0
        id.set32(60, UInt32(lba28Capacity))
        let (w63, w88) = dmaModeWords
        id[63] = w63
        id[64] = 0x0003 // PIO modes 3 and 4
        id[65] = 120 // minimum multiword DMA cycle time (ns)
        id[66] = 120 // recommended multiword DMA cycle time
        id[67] = 120 // minimum PIO cycle time without flow control
        id[68] = 120 // minimum PIO cycle time with IORDY
        id[80] = 0x007E // ATA-1 through ATA/ATAPI-6
        id[81] = 0
        // Command sets: NOP, look-ahead, write cache, power management /
        // FLUSH CACHE EXT, FLUSH CACHE, 48-bit address.
        id[82] = 0x4068
        id[83] = 0x7400
        id[84] = 0x4000
        id[85] = 0x4008 | (lookAheadEnabled ? 0x0040 : 0) | (writeCacheEnabled ? 0x0020 : 0)
        id[86] = 0x3400
        id[87] = 0x4000
        id[88] = w88
        // Hardware reset result: device number by jumper, diagnostics passed.
        id[93] = position == 0 ? 0x400B : 0x4B00
        id.set64(100, disk.sectorCount)
        id[106] = 0x4000 // one logical sector per physical sector, 512 bytes
        return id.bytes()
    }

    // MARK: - Addressing

    /// The LBA in the task file for a 28-bit or CHS command; nil for an
    /// invalid CHS address.
    func taskFileAddress28() -> UInt64? {
        if device & 0x40 != 0 {
            return UInt64(lbaLow) | UInt64(lbaMid) << 8 | UInt64(lbaHigh) << 16 | UInt64(device & 0x0F) << 24
        }
        let cyl = Int(lbaMid) | Int(lbaHigh) << 8
        let head = Int(device & 0x0F)
        let sector = Int(lbaLow)
        guard sector >= 1, sector <= sectorsPerTrack, head < heads else { return nil }
        return UInt64((cyl * heads + head) * sectorsPerTrack + sector - 1)
    }

    func taskFileAddress48() -> UInt64 {
        UInt64(lbaLow) | UInt64(lbaMid) << 8 | UInt64(lbaHigh) << 16
            | UInt64(lbaLowPrev) << 24 | UInt64(lbaMidPrev) << 32 | UInt64(lbaHighPrev) << 40
    }

    /// Writes `lba` back to the task file (the address of an error).
    func storeAddress(_ lba: UInt64) {
        if xferLBA48 {
            lbaLow = UInt8(truncatingIfNeeded: lba)
            lbaMid = UInt8(truncatingIfNeeded: lba >> 8)
            lbaHigh = UInt8(truncatingIfNeeded: lba >> 16)
            lbaLowPrev = UInt8(truncatingIfNeeded: lba >> 24)
            lbaMidPrev = UInt8(truncatingIfNeeded: lba >> 32)
            lbaHighPrev = UInt8(truncatingIfNeeded: lba >> 40)
        } else if device & 0x40 != 0 {
            lbaLow = UInt8(truncatingIfNeeded: lba)
            lbaMid = UInt8(truncatingIfNeeded: lba >> 8)
            lbaHigh = UInt8(truncatingIfNeeded: lba >> 16)
            device = (device & 0xF0) | UInt8(truncatingIfNeeded: lba >> 24) & 0x0F
        } else if heads > 0, sectorsPerTrack > 0 {
            let track = Int(lba) / sectorsPerTrack
            let cyl = track / heads
            lbaLow = UInt8(truncatingIfNeeded: Int(lba) % sectorsPerTrack + 1)
            lbaMid = UInt8(truncatingIfNeeded: cyl)
            lbaHigh = UInt8(truncatingIfNeeded: cyl >> 8)
            device = (device & 0xF0) | UInt8(track % heads)
        }
    }

    // MARK: - Commands

    override func execute(command: UInt8) {
        switch command {
        case 0xEC: // IDENTIFY DEVICE
            let data = identifyData()
            ensureBuffer(512)
            buffer.replaceSubrange(0..<512, with: data)
            xferRemaining = 0
            xferBlockSectors = 1
            xferCurrentSectors = 0
            xferWrite = false
            xferDMA = false
            startPIOIn(bytes: 512)
        case 0x20, 0x21: beginTransfer(lba48: false, write: false, dma: false, multiple: false)
        case 0x24: beginTransfer(lba48: true, write: false, dma: false, multiple: false)
        case 0xC4: beginTransfer(lba48: false, write: false, dma: false, multiple: true)
        case 0x29: beginTransfer(lba48: true, write: false, dma: false, multiple: true)
        case 0x30, 0x31: beginTransfer(lba48: false, write: true, dma: false, multiple: false)
        case 0x34: beginTransfer(lba48: true, write: true, dma: false, multiple: false)
        case 0xC5: beginTransfer(lba48: false, write: true, dma: false, multiple: true)
        case 0x39: beginTransfer(lba48: true, write: true, dma: false, multiple: true)
        case 0xC8, 0xC9: beginTransfer(lba48: false, write: false, dma: true, multiple: false)
        case 0x25: beginTransfer(lba48: true, write: false, dma: true, multiple: false)
        case 0xCA, 0xCB: beginTransfer(lba48: false, write: true, dma: true, multiple: false)
        case 0x35: beginTransfer(lba48: true, write: true, dma: true, multiple: false)
        case 0x40, 0x41: verify(lba48: false)
        case 0x42: verify(lba48: true)
        case 0xC6: // SET MULTIPLE MODE
            let n = Int(count)
            if n == 0 {
                multipleCount = 0
                complete()
            } else if n <= AtaDrive.maxMultiple, n & (n - 1) == 0 {
                multipleCount = n
                complete()
            } else {
                abort()
            }
        case 0xEF: setFeatures()
        case 0xE7, 0xEA: // FLUSH CACHE (EXT)
            do {
                try disk.flush()
                complete()
            } catch {
                abort()
            }
        case 0x91: // INITIALIZE DEVICE PARAMETERS
            let h = Int(device & 0x0F) + 1
            let s = Int(count)
            guard s > 0 else { abort(); return }
            heads = h
            sectorsPerTrack = s
            complete()
        case 0xE0, 0x94, 0xE2, 0x96, 0xE6, 0x99: // STANDBY (IMMEDIATE), SLEEP
            active = false
            complete()
        case 0xE1, 0x95, 0xE3, 0x97: // IDLE (IMMEDIATE)
            active = true
            complete()
        case 0xE5, 0x98: // CHECK POWER MODE
            count = active ? 0xFF : 0x00
            complete()
        case 0x70...0x7F: // SEEK
            if let lba = taskFileAddress28(), lba < disk.sectorCount {
                complete()
            } else {
                abort(AtaError.idnf)
            }
        case 0x10...0x1F: // RECALIBRATE
            complete()
        case 0xF8: // READ NATIVE MAX ADDRESS
            let max = lba28Capacity &- 1
            xferLBA48 = false
            device |= 0x40
            storeAddress(max)
            complete()
        case 0x27: // READ NATIVE MAX ADDRESS EXT
            xferLBA48 = true
            storeAddress(disk.sectorCount &- 1)
            complete()
        case 0xA1, 0xA0, 0x08: // packet commands, DEVICE RESET: not an ATAPI device
            abort()
        case 0x00: // NOP: always aborts
            abort()
        default:
            reportUnimplemented(command, packet: false)
            abort()
        }
    }

    func setFeatures() {
        switch feature {
        case 0x03: setTransferMode(count) ? complete() : abort()
        case 0x02: writeCacheEnabled = true; complete()
        case 0x82: writeCacheEnabled = false; complete()
        case 0xAA: lookAheadEnabled = true; complete()
        case 0x55: lookAheadEnabled = false; complete()
        case 0x66, 0xCC: complete() // revert to defaults on/off after reset
        default:
            channel?.log?("IDE: unimplemented SET FEATURES subcommand \(String(feature, radix: 16, uppercase: true))h, aborted")
            abort()
        }
    }

    /// Validates the address and starts a read or write.
    func beginTransfer(lba48: Bool, write: Bool, dma: Bool, multiple: Bool) {
        let lba: UInt64
        var sectors: Int
        if lba48 {
            lba = taskFileAddress48()
            sectors = Int(countPrev) << 8 | Int(count)
            if sectors == 0 { sectors = 65536 }
        } else {
            guard let a = taskFileAddress28() else { abort(AtaError.idnf); return }
            lba = a
            sectors = Int(count)
            if sectors == 0 { sectors = 256 }
        }
        xferLBA48 = lba48
        if multiple && multipleCount == 0 {
            abort()
            return
        }
        let limit = lba48 ? disk.sectorCount : (device & 0x40 != 0 ? lba28Capacity : UInt64(currentCylinders * heads * sectorsPerTrack))
        guard lba < limit, UInt64(sectors) <= limit - lba else {
            storeAddress(min(lba, limit))
            abort(AtaError.idnf)
            return
        }
        active = true
        xferLBA = lba
        xferRemaining = sectors
        xferWrite = write
        xferDMA = dma
        xferBlockSectors = dma ? AtaDrive.dmaChunkSectors : (multiple ? multipleCount : 1)
        if write {
            if disk.readOnly {
                abort()
                return
            }
            nextWriteBlock(first: true)
        } else {
            nextReadBlock()
        }
    }

    func nextReadBlock() {
        let n = min(xferRemaining, xferBlockSectors)
        ensureBuffer(n * blockSectorSize)
        do {
            try buffer.withUnsafeMutableBytes { try disk.read(sector: xferLBA, count: n, into: $0) }
        } catch {
            storeAddress(xferLBA)
            abort(AtaError.unc)
            return
        }
        xferCurrentSectors = n
        if xferDMA {
            startDMA(bytes: n * blockSectorSize, toMemory: true)
        } else {
            startPIOIn(bytes: n * blockSectorSize)
        }
    }

    func nextWriteBlock(first: Bool) {
        let n = min(xferRemaining, xferBlockSectors)
        xferCurrentSectors = n
        if xferDMA {
            startDMA(bytes: n * blockSectorSize, toMemory: false)
        } else {
            // The first DRQ block of a PIO write comes without an interrupt.
            startPIOOut(bytes: n * blockSectorSize, interrupt: !first)
        }
    }

    override func blockDone() {
        let n = xferCurrentSectors
        if xferWrite {
            do {
                try buffer.withUnsafeBytes { try disk.write(sector: xferLBA, count: n, from: $0) }
            } catch {
                storeAddress(xferLBA)
                abort()
                return
            }
        }
        xferLBA += UInt64(n)
        xferRemaining -= n
        if xferRemaining > 0 {
            if xferWrite { nextWriteBlock(first: false) } else { nextReadBlock() }
            return
        }
        // PIO data-in ends without an interrupt: the host has read the
        // last block. Writes and DMA end with one.
        complete(interrupt: xferWrite || xferDMA)
    }

    func verify(lba48: Bool) {
        let lba: UInt64
        var sectors: Int
        if lba48 {
            lba = taskFileAddress48()
            sectors = Int(countPrev) << 8 | Int(count)
            if sectors == 0 { sectors = 65536 }
        } else {
            guard let a = taskFileAddress28() else { abort(AtaError.idnf); return }
            lba = a
            sectors = Int(count)
            if sectors == 0 { sectors = 256 }
        }
        xferLBA48 = lba48
        let limit = lba48 ? disk.sectorCount : lba28Capacity
        guard lba < limit, UInt64(sectors) <= limit - lba else {
            storeAddress(min(lba, limit))
            abort(AtaError.idnf)
            return
        }
        // Read the range back so a host I/O error shows as UNC.
        var at = lba
        var left = sectors
        let chunk = 128
        ensureBuffer(chunk * blockSectorSize)
        while left > 0 {
            let n = min(left, chunk)
            do {
                try buffer.withUnsafeMutableBytes { try disk.read(sector: at, count: n, into: $0) }
            } catch {
                storeAddress(at)
                abort(AtaError.unc)
                return
            }
            at += UInt64(n)
            left -= n
        }
        complete()
    }

    override func powerOnDefaults() {
        super.powerOnDefaults()
        multipleCount = AtaDrive.maxMultiple
        heads = defaultHeads
        sectorsPerTrack = defaultSectors
        writeCacheEnabled = true
        lookAheadEnabled = true
        active = true
    }

    override func reset() {
        super.reset()
        // Soft reset keeps SET FEATURES and SET MULTIPLE settings (the
        // "revert to power-on defaults" feature is disabled).
    }
}
