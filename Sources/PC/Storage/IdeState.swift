/// The IDE controller's complete register and transfer state as plain
/// values, for capsule snapshots: everything but the disk contents (the
/// block devices are saved by the capsule layer) and the wiring (ports,
/// IRQ callbacks, media objects).
///
/// Restoring into a controller built with the same drives at the same
/// positions resumes exactly where the snapshot was taken, in the middle
/// of a PIO block or with a DMA transfer waiting for the bus master.
public struct IdeControllerState: Codable, Equatable {
    public static let currentVersion = 1
    public var version = IdeControllerState.currentVersion
    public var config: [UInt8]
    public var channels: [IdeChannelState]
}

public struct IdeChannelState: Codable, Equatable {
    public var selected: Int
    public var deviceControl: UInt8
    public var irqLevel: Bool
    public var busMaster: IdeBusMasterState
    /// Index = position (0 master, 1 slave); nil where no device is attached.
    public var devices: [IdeDeviceState?]
}

public struct IdeBusMasterState: Codable, Equatable {
    public var command: UInt8
    public var status: UInt8
    public var prdTable: UInt32
    public var prdNext: UInt32
    public var segmentAddress: UInt32
    public var segmentRemaining: Int
    public var segmentLast: Bool
}

public struct IdeDeviceState: Codable, Equatable {
    public var kind: String // "ata" or "atapi"
    public var taskFile: [UInt8] // feature, count, lba low/mid/high (current, previous), device
    public var error: UInt8
    public var status: UInt8
    public var intrq: Bool
    /// The transfer buffer's live bytes `[0, bufferEnd)`.
    public var buffer: [UInt8]
    public var bufferPos: Int
    public var phase: UInt8
    public var multiwordDMAMode: Int?
    public var ultraDMAMode: Int?
    public var pioMode: Int
    public var ata: AtaDriveState?
    public var atapi: AtapiDriveState?
}

public struct AtaDriveState: Codable, Equatable {
    public var multipleCount: Int
    public var heads: Int
    public var sectorsPerTrack: Int
    public var writeCacheEnabled: Bool
    public var lookAheadEnabled: Bool
    public var active: Bool
    public var xferLBA: UInt64
    public var xferRemaining: Int
    public var xferBlockSectors: Int
    public var xferCurrentSectors: Int
    public var xferWrite: Bool
    public var xferDMA: Bool
    public var xferLBA48: Bool
}

public struct AtapiDriveState: Codable, Equatable {
    public var mediumPresent: Bool
    public var trayOpen: Bool
    public var locked: Bool
    public var sense: [UInt8] // key, asc, ascq
    public var unitAttention: Bool
    public var mediaEvent: UInt8
    public var packetActive: Bool
    public var awaitingPacket: Bool
    public var packetDMA: Bool
    public var byteCountLimit: Int
    /// Staged reply bytes not yet moved to the transfer buffer.
    public var staged: [UInt8]
    public var readNextLBA: UInt64
    public var readBlocksLeft: Int
    public var streamRemaining: Int
}

/// Why a state could not be restored.
public struct IdeStateError: Error, CustomStringConvertible {
    public let description: String
}

extension IdeTransferPhase {
    var code: UInt8 {
        switch self {
        case .idle: return 0
        case .pioIn: return 1
        case .pioOut: return 2
        case .dmaIn: return 3
        case .dmaOut: return 4
        }
    }

    init?(code: UInt8) {
        switch code {
        case 0: self = .idle
        case 1: self = .pioIn
        case 2: self = .pioOut
        case 3: self = .dmaIn
        case 4: self = .dmaOut
        default: return nil
        }
    }
}

extension IdeController {
    /// The controller's state now.
    public func saveState() -> IdeControllerState {
        IdeControllerState(config: config.bytes, channels: [primary.saveState(), secondary.saveState()])
    }

    /// Restores a state saved from a controller with the same drives
    /// attached at the same positions. The IRQ outputs are not called: the
    /// interrupt controller restores its own view of the lines.
    public func restoreState(_ state: IdeControllerState) throws {
        guard state.version == IdeControllerState.currentVersion else {
            throw IdeStateError(description: "IDE state version \(state.version) is not supported (expected \(IdeControllerState.currentVersion))")
        }
        guard state.config.count == 256, state.channels.count == 2 else {
            throw IdeStateError(description: "IDE state is malformed")
        }
        try primary.restoreState(state.channels[0])
        try secondary.restoreState(state.channels[1])
        config.bytes = state.config
        configChanged()
    }
}

extension IdeChannel {
    func saveState() -> IdeChannelState {
        let bm = busMaster
        return IdeChannelState(
            selected: selected, deviceControl: deviceControl, irqLevel: irqLevel,
            busMaster: IdeBusMasterState(
                command: bm.command, status: bm.status, prdTable: bm.prdTable, prdNext: bm.prdNext,
                segmentAddress: bm.segmentAddress, segmentRemaining: bm.segmentRemaining, segmentLast: bm.segmentLast),
            devices: devices.map { $0?.saveState() })
    }

    func restoreState(_ s: IdeChannelState) throws {
        guard s.devices.count == 2, s.selected == 0 || s.selected == 1 else {
            throw IdeStateError(description: "IDE channel \(index) state is malformed")
        }
        for p in 0..<2 {
            switch (devices[p], s.devices[p]) {
            case (nil, nil): break
            case let (d?, ds?): try d.restoreState(ds)
            default:
                throw IdeStateError(description: "IDE channel \(index) position \(p): the saved machine \(s.devices[p] == nil ? "had no device" : "had a device") there")
            }
        }
        selected = s.selected
        deviceControl = s.deviceControl
        irqLevel = s.irqLevel
        let bm = busMaster
        bm.command = s.busMaster.command
        bm.status = s.busMaster.status
        bm.prdTable = s.busMaster.prdTable
        bm.prdNext = s.busMaster.prdNext
        bm.segmentAddress = s.busMaster.segmentAddress
        bm.segmentRemaining = s.busMaster.segmentRemaining
        bm.segmentLast = s.busMaster.segmentLast
    }
}

extension IdeDevice {
    func saveState() -> IdeDeviceState {
        IdeDeviceState(
            kind: isPacketDevice ? "atapi" : "ata",
            taskFile: [feature, featurePrev, count, countPrev, lbaLow, lbaLowPrev, lbaMid, lbaMidPrev, lbaHigh, lbaHighPrev, device],
            error: error, status: status, intrq: intrq,
            buffer: Array(buffer[0..<min(bufferEnd, buffer.count)]), bufferPos: bufferPos, phase: phase.code,
            multiwordDMAMode: multiwordDMAMode, ultraDMAMode: ultraDMAMode, pioMode: pioMode,
            ata: (self as? AtaDrive)?.saveDriveState(),
            atapi: (self as? AtapiDrive)?.saveDriveState())
    }

    func restoreState(_ s: IdeDeviceState) throws {
        guard s.kind == (isPacketDevice ? "atapi" : "ata") else {
            throw IdeStateError(description: "IDE device kind mismatch: saved \(s.kind)")
        }
        guard s.taskFile.count == 11, let phase = IdeTransferPhase(code: s.phase),
              s.bufferPos >= 0, s.bufferPos <= s.buffer.count else {
            throw IdeStateError(description: "IDE device state is malformed")
        }
        let t = s.taskFile
        feature = t[0]; featurePrev = t[1]; count = t[2]; countPrev = t[3]
        lbaLow = t[4]; lbaLowPrev = t[5]; lbaMid = t[6]; lbaMidPrev = t[7]
        lbaHigh = t[8]; lbaHighPrev = t[9]; device = t[10]
        error = s.error
        status = s.status
        intrq = s.intrq
        ensureBuffer(s.buffer.count)
        buffer.replaceSubrange(0..<s.buffer.count, with: s.buffer)
        bufferPos = s.bufferPos
        bufferEnd = s.buffer.count
        self.phase = phase
        multiwordDMAMode = s.multiwordDMAMode
        ultraDMAMode = s.ultraDMAMode
        pioMode = s.pioMode
        if let d = self as? AtaDrive, let a = s.ata { d.restoreDriveState(a) }
        if let d = self as? AtapiDrive, let a = s.atapi { try d.restoreDriveState(a) }
    }
}

extension AtaDrive {
    func saveDriveState() -> AtaDriveState {
        AtaDriveState(
            multipleCount: multipleCount, heads: heads, sectorsPerTrack: sectorsPerTrack,
            writeCacheEnabled: writeCacheEnabled, lookAheadEnabled: lookAheadEnabled, active: active,
            xferLBA: xferLBA, xferRemaining: xferRemaining, xferBlockSectors: xferBlockSectors,
            xferCurrentSectors: xferCurrentSectors, xferWrite: xferWrite, xferDMA: xferDMA, xferLBA48: xferLBA48)
    }

    func restoreDriveState(_ s: AtaDriveState) {
        multipleCount = s.multipleCount
        heads = s.heads
        sectorsPerTrack = s.sectorsPerTrack
        writeCacheEnabled = s.writeCacheEnabled
        lookAheadEnabled = s.lookAheadEnabled
        active = s.active
        xferLBA = s.xferLBA
        xferRemaining = s.xferRemaining
        xferBlockSectors = s.xferBlockSectors
        xferCurrentSectors = s.xferCurrentSectors
        xferWrite = s.xferWrite
        xferDMA = s.xferDMA
        xferLBA48 = s.xferLBA48
    }
}

extension AtapiDrive {
    func saveDriveState() -> AtapiDriveState {
        AtapiDriveState(
            mediumPresent: medium != nil, trayOpen: trayOpen, locked: locked,
            sense: [sense.key, sense.asc, sense.ascq], unitAttention: unitAttention, mediaEvent: mediaEvent,
            packetActive: packetActive, awaitingPacket: awaitingPacket, packetDMA: packetDMA, byteCountLimit: byteCountLimit,
            staged: Array(staging[stagingPos..<stagingEnd]), readNextLBA: readNextLBA,
            readBlocksLeft: readBlocksLeft, streamRemaining: streamRemaining)
    }

    func restoreDriveState(_ s: AtapiDriveState) throws {
        guard s.sense.count == 3 else { throw IdeStateError(description: "ATAPI state is malformed") }
        guard s.mediumPresent == (medium != nil) else {
            throw IdeStateError(description: "ATAPI drive: the saved machine \(s.mediumPresent ? "had" : "had no") disc in the drive")
        }
        trayOpen = s.trayOpen
        locked = s.locked
        sense = AtapiSense(key: s.sense[0], asc: s.sense[1], ascq: s.sense[2])
        unitAttention = s.unitAttention
        mediaEvent = s.mediaEvent
        packetActive = s.packetActive
        awaitingPacket = s.awaitingPacket
        packetDMA = s.packetDMA
        byteCountLimit = s.byteCountLimit
        if staging.count < s.staged.count { staging = [UInt8](repeating: 0, count: s.staged.count) }
        staging.replaceSubrange(0..<s.staged.count, with: s.staged)
        stagingPos = 0
        stagingEnd = s.staged.count
        readNextLBA = s.readNextLBA
        readBlocksLeft = s.readBlocksLeft
        streamRemaining = s.streamRemaining
    }
}
