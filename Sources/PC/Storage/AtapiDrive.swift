/// SCSI sense keys and additional sense codes used by the CD-ROM.
public struct AtapiSense: Equatable, CustomStringConvertible {
    public var key: UInt8
    public var asc: UInt8
    public var ascq: UInt8

    public init(key: UInt8, asc: UInt8, ascq: UInt8) {
        self.key = key
        self.asc = asc
        self.ascq = ascq
    }

    public static let none = AtapiSense(key: 0, asc: 0, ascq: 0)
    static let notReadyNoMediumTrayClosed = AtapiSense(key: 0x02, asc: 0x3A, ascq: 0x01)
    static let notReadyNoMediumTrayOpen = AtapiSense(key: 0x02, asc: 0x3A, ascq: 0x02)
    static let unrecoveredReadError = AtapiSense(key: 0x03, asc: 0x11, ascq: 0x00)
    static let invalidOpcode = AtapiSense(key: 0x05, asc: 0x20, ascq: 0x00)
    static let lbaOutOfRange = AtapiSense(key: 0x05, asc: 0x21, ascq: 0x00)
    static let invalidFieldInCDB = AtapiSense(key: 0x05, asc: 0x24, ascq: 0x00)
    static let savingNotSupported = AtapiSense(key: 0x05, asc: 0x39, ascq: 0x00)
    static let removalPrevented = AtapiSense(key: 0x05, asc: 0x53, ascq: 0x02)
    static let mediumMayHaveChanged = AtapiSense(key: 0x06, asc: 0x28, ascq: 0x00)

    public var description: String {
        "sense \(String(key, radix: 16))/\(String(asc, radix: 16))/\(String(ascq, radix: 16))"
    }
}

/// An ATAPI CD-ROM drive (ATA/ATAPI-6 PACKET feature set, MMC-3 commands)
/// reading an ISO image: 2048-byte logical blocks over the 512-byte
/// sectors of a `BlockDevice` (block n is sectors 4n…4n+3).
///
/// PACKET data moves by PIO, in DRQ blocks no larger than the host's byte
/// count limit (LBA mid/high), or by bus-master DMA when the host sets the
/// DMA bit of the features register. Commands: TEST UNIT READY, REQUEST
/// SENSE, INQUIRY (+ VPD 00h/80h), READ CAPACITY, READ(10), READ(12),
/// READ CD (user data), SEEK(10), MODE SENSE(6/10) (pages 01h, 0Eh, 2Ah,
/// 3Fh), GET CONFIGURATION, READ TOC/PMA/ATIP (formats 0, 1, 2), GET EVENT
/// STATUS NOTIFICATION (media class), PREVENT ALLOW MEDIUM REMOVAL, START
/// STOP UNIT (load/eject), READ DISC INFORMATION, READ TRACK INFORMATION,
/// SET CD SPEED. Anything else: CHECK CONDITION, ILLEGAL REQUEST / INVALID
/// COMMAND OPERATION CODE.
public final class AtapiDrive: IdeDevice {
    public static let blockSize = 2048

    /// The image in the drive (kept while the tray is open, so a guest
    /// eject followed by a load gives the same disc back).
    public private(set) var medium: BlockDevice?
    public internal(set) var trayOpen = false
    public internal(set) var locked = false
    public var model = "CAPSULE CD-ROM"
    public var serial: String
    public var firmware = "1.0"
    /// INQUIRY vendor and product identification.
    public var inquiryVendor = "CAPSULE"
    public var inquiryProduct = "VIRTUAL CD-ROM"
    /// Sense data of the last command (REQUEST SENSE reads it).
    public internal(set) var sense = AtapiSense.none
    /// A medium change not yet reported as UNIT ATTENTION.
    var unitAttention = false
    /// Media event not yet reported by GET EVENT STATUS NOTIFICATION
    /// (0 none, 1 eject request, 2 new media, 3 media removal).
    var mediaEvent: UInt8 = 0

    // PACKET command state.
    /// A PACKET command is running (false: IDENTIFY PACKET DEVICE data).
    var packetActive = false
    var awaitingPacket = false
    var packetDMA = false
    var byteCountLimit = 0xFFFE
    /// The data still to send: `staging[stagingPos..<stagingEnd]`, then
    /// `readBlocksLeft` blocks from `readNextLBA`.
    var staging: [UInt8] = []
    var stagingPos = 0
    var stagingEnd = 0
    var readNextLBA: UInt64 = 0
    var readBlocksLeft = 0
    var streamRemaining = 0
    static let stagingBlocks = 16
    static let dmaChunk = 32768

    init(medium: BlockDevice?, serial: String) {
        self.medium = medium
        self.serial = serial
        super.init()
        resetSignature()
    }

    override var isPacketDevice: Bool { true }

    /// Disc present and readable.
    public var mediumPresent: Bool { medium != nil && !trayOpen }

    /// Capacity of the disc in 2048-byte blocks.
    public var blockCount: UInt64 { (medium?.sectorCount ?? 0) / 4 }

    // MARK: - Host-side media control

    /// Puts a disc in the drive (closing the tray); the guest sees a UNIT
    /// ATTENTION and a new-media event.
    public func insert(_ medium: BlockDevice) {
        self.medium = medium
        trayOpen = false
        unitAttention = true
        mediaEvent = 2
    }

    /// Removes the disc (the host's eject: ignores the guest's lock).
    public func eject() {
        medium = nil
        trayOpen = true
        unitAttention = true
        mediaEvent = 3
    }

    // MARK: - Reset and IDENTIFY PACKET DEVICE

    override func resetSignature() {
        super.resetSignature()
        lbaMid = 0x14
        lbaHigh = 0xEB
        // Packet devices keep DRDY clear after a reset.
        status = 0
    }

    override func powerOnDefaults() {
        super.powerOnDefaults()
        locked = false
        sense = .none
    }

    override func reset() {
        packetActive = false
        awaitingPacket = false
        streamRemaining = 0
        readBlocksLeft = 0
        stagingPos = 0
        stagingEnd = 0
        super.reset()
    }

    func identifyPacketData() -> [UInt8] {
        var id = IdentifyBlock()
        // ATAPI, CD-ROM (05h), removable, DRQ within 50 µs, 12-byte packets.
        id[0] = 0x85C0
        id.setString(serial, word: 10, length: 10)
        id.setString(firmware, word: 23, length: 4)
        id.setString(model, word: 27, length: 20)
        id[49] = 0x0F00 // DMA, LBA, IORDY
        id[50] = 0x4000
        id[53] = 0x0006 // words 64-70 and 88 valid
        let (w63, w88) = dmaModeWords
        id[63] = w63
        id[64] = 0x0003
        id[65] = 120
        id[66] = 120
        id[67] = 120
        id[68] = 120
        id[71] = 30 // typical release times (ns), informative
        id[72] = 30
        id[80] = 0x007E
        id[82] = 0x4214 // NOP, DEVICE RESET, PACKET, removable media
        id[83] = 0x4000
        id[84] = 0x4000
        id[85] = 0x4214
        id[86] = 0x0000
        id[87] = 0x4000
        id[88] = w88
        id[93] = position == 0 ? 0x400B : 0x4B00
        return id.bytes()
    }

    // MARK: - ATA commands

    override func execute(command: UInt8) {
        packetActive = command == 0xA0
        awaitingPacket = false
        streamRemaining = 0
        readBlocksLeft = 0
        switch command {
        case 0xA0: // PACKET
            packetDMA = feature & 0x01 != 0
            var limit = Int(lbaMid) | Int(lbaHigh) << 8
            if limit == 0 || limit == 0xFFFF { limit = 0xFFFE }
            if limit & 1 != 0 { limit -= 1 }
            byteCountLimit = limit
            awaitingPacket = true
            streamRemaining = 0
            ensureBuffer(12)
            bufferPos = 0
            bufferEnd = 12
            phase = .pioOut
            count = 0x01 // interrupt reason: command packet (CoD=1, IO=0)
            error = 0
            status = AtaStatus.drdy | AtaStatus.drq
        case 0xA1: // IDENTIFY PACKET DEVICE
            let data = identifyPacketData()
            ensureBuffer(512)
            buffer.replaceSubrange(0..<512, with: data)
            startPIOIn(bytes: 512)
            status = AtaStatus.drdy | AtaStatus.drq
        case 0xEF: // SET FEATURES
            switch feature {
            case 0x03: setTransferMode(count) ? completeATA() : abortWithSignature(false)
            case 0x02, 0x82, 0x66, 0xCC, 0xAA, 0x55: completeATA()
            default: abortWithSignature(false)
            }
        case 0xE5, 0x98: // CHECK POWER MODE
            completeATA()
            count = 0xFF
        case 0xE0, 0xE1, 0xE2, 0xE3, 0xE6, 0x94, 0x95, 0x96, 0x97, 0x99, 0xE7:
            completeATA() // power management, FLUSH CACHE: nothing to do
        case 0xEC, 0x20, 0x21, 0x24, 0x29, 0xC4, 0x25, 0xC8, 0xC9, 0x40, 0x41, 0x42:
            // Reads of an ATA device: abort with the packet signature so
            // the host learns what it talks to.
            abortWithSignature(true)
        case 0x00:
            abortWithSignature(false)
        default:
            reportUnimplemented(command, packet: false)
            abortWithSignature(false)
        }
    }

    func completeATA() {
        phase = .idle
        error = 0
        status = AtaStatus.drdy
        raiseInterrupt()
    }

    func abortWithSignature(_ signature: Bool) {
        if signature {
            count = 1; lbaLow = 1
            lbaMid = 0x14; lbaHigh = 0xEB
        }
        phase = .idle
        error = AtaError.abrt
        status = AtaStatus.drdy | AtaStatus.err
        raiseInterrupt()
    }

    // MARK: - Data phases

    override func blockDone() {
        guard packetActive else {
            // IDENTIFY PACKET DEVICE: PIO data-in ends without an interrupt.
            phase = .idle
            status = AtaStatus.drdy
            return
        }
        if awaitingPacket {
            awaitingPacket = false
            let packet = Array(buffer[0..<12])
            phase = .idle
            runPacket(packet)
            return
        }
        if streamRemaining > 0 {
            nextChunk()
        } else {
            finishPacket(nil)
        }
    }

    /// Starts the data-in phase for `data` (already cut to the allocation
    /// length), followed by `blocks` disc blocks from `lba`.
    func send(_ data: [UInt8], readFrom lba: UInt64 = 0, blocks: Int = 0) {
        if staging.count < data.count { staging = [UInt8](repeating: 0, count: data.count) }
        staging.replaceSubrange(0..<data.count, with: data)
        stagingPos = 0
        stagingEnd = data.count
        readNextLBA = lba
        readBlocksLeft = blocks
        streamRemaining = data.count + blocks * AtapiDrive.blockSize
        if streamRemaining == 0 {
            finishPacket(nil)
        } else {
            nextChunk()
        }
    }

    /// Moves the next DRQ block (PIO) or DMA chunk into the buffer.
    func nextChunk() {
        let n = min(streamRemaining, packetDMA ? AtapiDrive.dmaChunk : byteCountLimit)
        ensureBuffer(n)
        var filled = 0
        while filled < n {
            if stagingPos == stagingEnd {
                let k = min(readBlocksLeft, AtapiDrive.stagingBlocks)
                let bytes = k * AtapiDrive.blockSize
                if staging.count < bytes { staging = [UInt8](repeating: 0, count: bytes) }
                guard k > 0, let medium, !trayOpen else {
                    finishPacket(.notReadyNoMediumTrayOpen)
                    return
                }
                do {
                    try staging.withUnsafeMutableBytes {
                        try medium.read(sector: readNextLBA * 4, count: k * 4, into: $0)
                    }
                } catch {
                    finishPacket(.unrecoveredReadError)
                    return
                }
                stagingPos = 0
                stagingEnd = bytes
                readNextLBA += UInt64(k)
                readBlocksLeft -= k
            }
            let m = min(n - filled, stagingEnd - stagingPos)
            buffer.withUnsafeMutableBytes { dst in
                staging.withUnsafeBytes { src in
                    (dst.baseAddress! + filled).copyMemory(from: src.baseAddress! + stagingPos, byteCount: m)
                }
            }
            filled += m
            stagingPos += m
        }
        streamRemaining -= n
        if packetDMA {
            startDMA(bytes: n, toMemory: true)
        } else {
            lbaMid = UInt8(n & 0xFF)
            lbaHigh = UInt8(n >> 8)
            count = 0x02 // interrupt reason: data to the host (IO=1, CoD=0)
            startPIOIn(bytes: n)
            status = AtaStatus.drdy | AtaStatus.drq
        }
    }

    /// Ends the PACKET command: good status, or CHECK CONDITION with
    /// `failure` as the new sense data.
    func finishPacket(_ failure: AtapiSense?) {
        phase = .idle
        packetActive = false
        streamRemaining = 0
        readBlocksLeft = 0
        count = 0x03 // interrupt reason: status (IO=1, CoD=1)
        if let failure {
            sense = failure
            error = failure.key << 4 | (failure.key == 0x05 ? AtaError.abrt : 0)
            status = AtaStatus.drdy | AtaStatus.err
        } else {
            error = 0
            status = AtaStatus.drdy
        }
        raiseInterrupt()
    }

    // MARK: - SCSI / MMC commands

    func runPacket(_ p: [UInt8]) {
        let op = p[0]
        if op != 0x03 { sense = .none }
        // A medium change is reported once, to the first command that is
        // not one of the "always allowed" ones.
        if unitAttention && ![0x03, 0x12, 0x46, 0x4A].contains(op) {
            unitAttention = false
            finishPacket(.mediumMayHaveChanged)
            return
        }
        let needsMedium: Set<UInt8> = [0x00, 0x25, 0x28, 0xA8, 0x2B, 0x43, 0x51, 0x52, 0xBE]
        if needsMedium.contains(op) && !mediumPresent {
            finishPacket(trayOpen ? .notReadyNoMediumTrayOpen : .notReadyNoMediumTrayClosed)
            return
        }
        switch op {
        case 0x00: // TEST UNIT READY
            finishPacket(nil)
        case 0x03: requestSense(p)
        case 0x12: inquiry(p)
        case 0x25: // READ CAPACITY
            var d = be32(UInt32(truncatingIfNeeded: blockCount &- 1))
            d += be32(UInt32(AtapiDrive.blockSize))
            send(d)
        case 0x28: // READ(10)
            read(lba: UInt64(u32(p, 2)), blocks: Int(u16(p, 7)))
        case 0xA8: // READ(12)
            read(lba: UInt64(u32(p, 2)), blocks: Int(u32(p, 6)))
        case 0xBE: readCD(p)
        case 0x2B: // SEEK(10)
            UInt64(u32(p, 2)) < blockCount ? finishPacket(nil) : finishPacket(.lbaOutOfRange)
        case 0x1A: modeSense(p, ten: false)
        case 0x5A: modeSense(p, ten: true)
        case 0x46: getConfiguration(p)
        case 0x43: readTOC(p)
        case 0x4A: getEventStatus(p)
        case 0x1E: // PREVENT ALLOW MEDIUM REMOVAL
            locked = p[4] & 0x01 != 0
            finishPacket(nil)
        case 0x1B: startStopUnit(p)
        case 0x51: readDiscInformation(p)
        case 0x52: readTrackInformation(p)
        case 0xBB: // SET CD SPEED
            finishPacket(nil)
        default:
            reportUnimplemented(op, packet: true)
            finishPacket(.invalidOpcode)
        }
    }

    func u16(_ p: [UInt8], _ i: Int) -> UInt16 { UInt16(p[i]) << 8 | UInt16(p[i + 1]) }
    func u32(_ p: [UInt8], _ i: Int) -> UInt32 {
        UInt32(p[i]) << 24 | UInt32(p[i + 1]) << 16 | UInt32(p[i + 2]) << 8 | UInt32(p[i + 3])
    }
    func be16(_ v: Int) -> [UInt8] { [UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)] }
    func be32(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)] }

    /// Sends `data` cut to the allocation length.
    func reply(_ data: [UInt8], allocation: Int) {
        send(Array(data.prefix(allocation)))
    }

    func read(lba: UInt64, blocks: Int) {
        guard lba <= blockCount, UInt64(blocks) <= blockCount - lba else {
            finishPacket(.lbaOutOfRange)
            return
        }
        send([], readFrom: lba, blocks: blocks)
    }

    func requestSense(_ p: [UInt8]) {
        var s = sense
        if s == .none && unitAttention {
            s = .mediumMayHaveChanged
            unitAttention = false
        }
        var d = [UInt8](repeating: 0, count: 18)
        d[0] = 0x70 // current error, fixed format
        d[2] = s.key
        d[7] = 10 // additional sense length
        d[12] = s.asc
        d[13] = s.ascq
        sense = .none
        reply(d, allocation: Int(p[4]))
    }

    func inquiry(_ p: [UInt8]) {
        let allocation = Int(u16(p, 3))
        if p[1] & 0x01 != 0 {
            switch p[2] {
            case 0x00: reply([0x05, 0x00, 0x00, 2, 0x00, 0x80], allocation: allocation)
            case 0x80:
                let s = Array(serial.utf8.prefix(64))
                reply([0x05, 0x80, 0x00, UInt8(s.count)] + s, allocation: allocation)
            default: finishPacket(.invalidFieldInCDB)
            }
            return
        }
        guard p[2] == 0 else {
            finishPacket(.invalidFieldInCDB)
            return
        }
        var d: [UInt8] = [0x05, 0x80, 0x05, 0x02, 31, 0, 0, 0]
        d += padded(inquiryVendor, 8) + padded(inquiryProduct, 16) + padded(firmware, 4)
        reply(d, allocation: allocation)
    }

    func padded(_ s: String, _ n: Int) -> [UInt8] {
        var b = Array(s.utf8.prefix(n))
        while b.count < n { b.append(0x20) }
        return b
    }

    func readCD(_ p: [UInt8]) {
        let lba = UInt64(u32(p, 2))
        let blocks = Int(p[6]) << 16 | Int(p[7]) << 8 | Int(p[8])
        let sectorType = (p[1] >> 2) & 0x07
        guard sectorType == 0 || sectorType == 2 else {
            finishPacket(.invalidFieldInCDB)
            return
        }
        switch p[9] & 0xF8 {
        case 0x00: // no data
            guard lba <= blockCount, UInt64(blocks) <= blockCount - lba else {
                finishPacket(.lbaOutOfRange)
                return
            }
            finishPacket(nil)
        case 0x10: // user data only
            read(lba: lba, blocks: blocks)
        default: // headers, EDC/ECC, raw sectors: not kept in an ISO image
            finishPacket(.invalidFieldInCDB)
        }
    }

    // MARK: Mode pages

    func modePage(_ code: UInt8, changeable: Bool) -> [UInt8]? {
        var page: [UInt8]
        switch code {
        case 0x01: // read/write error recovery
            page = [0x01, 0x06, 0x00, 0x05, 0x00, 0x00, 0x00, 0x00]
        case 0x0E: // CD audio control
            page = [0x0E, 0x0E, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00,
                    0x01, 0xFF, 0x02, 0xFF, 0x00, 0x00, 0x00, 0x00]
        case 0x2A: // CD/DVD capabilities and mechanical status
            page = [UInt8](repeating: 0, count: 26)
            page[0] = 0x2A
            page[1] = 0x18
            page[4] = 0x70 // mode 2 form 1 and 2, multi-session
            page[6] = 0x29 | (locked ? 0x02 : 0) // tray, eject, lock
            page[8] = 0x0B; page[9] = 0x00 // 2816 kB/s (16x)
            page[10] = 0x01; page[11] = 0x00 // 256 volume levels
            page[12] = 0x02; page[13] = 0x00 // 512 KiB buffer
            page[14] = 0x0B; page[15] = 0x00
        default:
            return nil
        }
        if changeable {
            for i in 2..<page.count { page[i] = 0 }
        }
        return page
    }

    func modeSense(_ p: [UInt8], ten: Bool) {
        let pageCode = p[2] & 0x3F
        let control = p[2] >> 6
        guard control != 3 else {
            finishPacket(.savingNotSupported)
            return
        }
        var pages: [UInt8] = []
        if pageCode == 0x3F {
            for c: UInt8 in [0x01, 0x0E, 0x2A] { pages += modePage(c, changeable: control == 1)! }
        } else if let page = modePage(pageCode, changeable: control == 1) {
            pages = page
        } else {
            finishPacket(.invalidFieldInCDB)
            return
        }
        let mediumType: UInt8 = mediumPresent ? 0x01 : (trayOpen ? 0x71 : 0x70)
        if ten {
            let total = 8 + pages.count
            let d = be16(total - 2) + [mediumType, 0, 0, 0, 0, 0] + pages
            reply(d, allocation: Int(u16(p, 7)))
        } else {
            let total = 4 + pages.count
            let d = [UInt8(total - 1), mediumType, 0, 0] + pages
            reply(d, allocation: Int(p[4]))
        }
    }

    // MARK: GET CONFIGURATION

    func getConfiguration(_ p: [UInt8]) {
        let rt = p[1] & 0x03
        let start = Int(u16(p, 2))
        let present = mediumPresent
        let cur: UInt8 = present ? 0x01 : 0x00
        // (feature number, flags byte: version << 2 | persistent << 1 | current, data)
        let features: [(Int, UInt8, [UInt8])] = [
            (0x0000, 0x03, [0x00, 0x08, cur, 0x00]), // profile list: CD-ROM
            (0x0001, 0x03, [0x00, 0x00, 0x00, 0x02]), // core: ATAPI
            (0x0002, 0x07, [0x02, 0x00, 0x00, 0x00]), // morphing: OCEvent (GESN)
            (0x0003, 0x03, [0x29, 0x00, 0x00, 0x00]), // removable medium: tray, eject, lock
            (0x0010, cur, be32(UInt32(AtapiDrive.blockSize)) + [0x00, 0x01, 0x00, 0x00]), // random readable
            (0x001E, cur, [0x00, 0x00, 0x00, 0x00]), // CD read
        ]
        var body: [UInt8] = []
        for (number, flags, data) in features {
            switch rt {
            case 0: if number < start { continue }
            case 1: if number < start || flags & 0x01 == 0 { continue }
            case 2: if number != start { continue }
            default:
                finishPacket(.invalidFieldInCDB)
                return
            }
            body += be16(number) + [flags, UInt8(data.count)] + data
        }
        let profile = present ? 0x0008 : 0x0000
        let d = be32(UInt32(4 + body.count)) + [0, 0] + be16(profile) + body
        reply(d, allocation: Int(u16(p, 7)))
    }

    // MARK: TOC and disc information

    /// A TOC address: LBA, or MSF (minute/second/frame, 150-frame lead-in).
    func address(_ lba: UInt64, msf: Bool) -> [UInt8] {
        guard msf else { return be32(UInt32(truncatingIfNeeded: lba)) }
        let (m, s, f) = msfParts(lba)
        return [0, m, s, f]
    }

    func msfParts(_ lba: UInt64) -> (UInt8, UInt8, UInt8) {
        let frames = lba + 150
        let m = min(frames / (75 * 60), 255)
        return (UInt8(m), UInt8((frames / 75) % 60), UInt8(frames % 75))
    }

    func readTOC(_ p: [UInt8]) {
        let msf = p[1] & 0x02 != 0
        var format = p[2] & 0x0F
        if format == 0 { format = p[9] >> 6 } // older drives: format in the control byte
        let track = p[6]
        let allocation = Int(u16(p, 7))
        let leadOut = blockCount
        var d: [UInt8]
        switch format {
        case 0:
            guard track <= 1 || track == 0xAA else {
                finishPacket(.invalidFieldInCDB)
                return
            }
            var body: [UInt8] = []
            if track <= 1 { body += [0, 0x14, 1, 0] + address(0, msf: msf) }
            body += [0, 0x14, 0xAA, 0] + address(leadOut, msf: msf)
            d = be16(body.count + 2) + [1, 1] + body
        case 1: // session information
            let body: [UInt8] = [0, 0x14, 1, 0] + address(0, msf: msf)
            d = be16(body.count + 2) + [1, 1] + body
        case 2: // full TOC (always MSF)
            let (lm, ls, lf) = msfParts(leadOut)
            var body: [UInt8] = []
            body += [1, 0x14, 0, 0xA0, 0, 0, 0, 0, 1, 0x00, 0] // first track 1, CD-ROM disc
            body += [1, 0x14, 0, 0xA1, 0, 0, 0, 0, 1, 0, 0] // last track 1
            body += [1, 0x14, 0, 0xA2, 0, 0, 0, 0, lm, ls, lf] // lead-out
            body += [1, 0x14, 0, 0x01, 0, 0, 0, 0, 0, 2, 0] // track 1 at 00:02:00
            d = be16(body.count + 2) + [1, 1] + body
        default:
            finishPacket(.invalidFieldInCDB)
            return
        }
        reply(d, allocation: allocation)
    }

    func readDiscInformation(_ p: [UInt8]) {
        guard p[1] & 0x07 == 0 else {
            finishPacket(.invalidFieldInCDB)
            return
        }
        var d = [UInt8](repeating: 0, count: 34)
        d[1] = 32
        d[2] = 0x0E // last session complete, disc complete (not erasable)
        d[3] = 1 // first track
        d[4] = 1 // sessions
        d[5] = 1 // first track in last session
        d[6] = 1 // last track in last session
        d[8] = 0x00 // CD-DA or CD-ROM disc
        for i in 16..<24 { d[i] = 0xFF } // no next session, no lead-out limit
        reply(d, allocation: Int(u16(p, 7)))
    }

    func readTrackInformation(_ p: [UInt8]) {
        let type = p[1] & 0x03
        let number = u32(p, 2)
        let allocation = Int(u16(p, 7))
        switch type {
        case 0: // by LBA
            guard UInt64(number) < blockCount else { finishPacket(.lbaOutOfRange); return }
        case 1: // by track number (track 1, or session 1's track via 0)
            guard number == 1 else { finishPacket(.invalidFieldInCDB); return }
        case 2: // by session number
            guard number == 1 else { finishPacket(.invalidFieldInCDB); return }
        default:
            finishPacket(.invalidFieldInCDB)
            return
        }
        var d = [UInt8](repeating: 0, count: 36)
        d[1] = 34
        d[2] = 1 // track number LSB
        d[3] = 1 // session number LSB
        d[5] = 0x04 // track mode: data, uninterrupted
        d[6] = 0x01 // data mode 1
        d.replaceSubrange(8..<12, with: [0, 0, 0, 0]) // track start
        d.replaceSubrange(24..<28, with: be32(UInt32(truncatingIfNeeded: blockCount))) // track size
        reply(d, allocation: allocation)
    }

    // MARK: Media events and the tray

    func getEventStatus(_ p: [UInt8]) {
        guard p[1] & 0x01 != 0 else {
            // Asynchronous notification is not supported.
            finishPacket(.invalidFieldInCDB)
            return
        }
        let classes = p[4]
        let allocation = Int(u16(p, 7))
        if classes & 0x10 != 0 {
            let event = mediaEvent
            mediaEvent = 0
            let mediaStatus: UInt8 = (mediumPresent ? 0x02 : 0) | (trayOpen ? 0x01 : 0)
            reply([0, 6, 0x04, 0x10, event, mediaStatus, 0, 0], allocation: allocation)
        } else {
            // No event of a requested class: "no event available".
            reply([0, 2, 0x80, 0x10], allocation: allocation)
        }
    }

    func startStopUnit(_ p: [UInt8]) {
        let loej = p[4] & 0x02 != 0
        let start = p[4] & 0x01 != 0
        guard loej else {
            finishPacket(nil)
            return
        }
        if start {
            if trayOpen {
                trayOpen = false
                if medium != nil {
                    mediaEvent = 2
                    unitAttention = true
                }
            }
            finishPacket(nil)
        } else {
            guard !locked else {
                finishPacket(.removalPrevented)
                return
            }
            if !trayOpen {
                trayOpen = true
                mediaEvent = 3
            }
            finishPacket(nil)
        }
    }
}
