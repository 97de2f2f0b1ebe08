/// The legacy (virtio 0.9.5) register block in BAR0:
///
/// | offset | size | register |
/// | --- | --- | --- |
/// | 0x00 | 4 | host features (bits 0–31) |
/// | 0x04 | 4 | guest features |
/// | 0x08 | 4 | queue address: page frame number of the rings |
/// | 0x0C | 2 | queue size (read only) |
/// | 0x0E | 2 | queue select |
/// | 0x10 | 2 | queue notify (write the queue index) |
/// | 0x12 | 1 | device status |
/// | 0x13 | 1 | ISR (read clears) |
/// | 0x14… | | device configuration |
///
/// The legacy rings sit at the PFN: descriptors, then the available ring
/// (with its trailing used_event word), then the used ring at the next
/// 4096-byte boundary. Registers are composed byte by byte so any width
/// and alignment the driver uses reads and writes what the bytes say.
extension VirtioPCI {
    static let legacyAlign: UInt64 = 4096

    func legacyRegisterBytes() -> [UInt8] {
        var r = [UInt8](repeating: 0, count: VirtioPCI.legacyConfigOffset)
        func put(_ o: Int, _ v: UInt32, _ n: Int) { for i in 0..<n { r[o + i] = UInt8(truncatingIfNeeded: v >> (8 * UInt32(i))) } }
        put(0x00, UInt32(truncatingIfNeeded: offeredFeatures), 4)
        put(0x04, UInt32(truncatingIfNeeded: driverFeatures), 4)
        let q = Int(queueSelect)
        let valid = q < queues.count
        put(0x08, valid ? legacyPFN[q] : 0, 4)
        put(0x0C, valid ? UInt32(device.queueMaxSizes[q]) : 0, 2)
        put(0x0E, UInt32(queueSelect), 2)
        put(0x12, UInt32(status), 1)
        put(0x13, UInt32(isr), 1)
        return r
    }

    func legacyRead(_ offset: Int, width: Int) -> UInt32 {
        let regs = legacyRegisterBytes()
        var v: UInt32 = 0
        var touchedISR = false
        for i in 0..<width {
            let o = offset + i
            let b: UInt8
            if o < VirtioPCI.legacyConfigOffset {
                b = regs[o]
                if o == 0x13 { touchedISR = true }
            } else if o - VirtioPCI.legacyConfigOffset < device.configSize {
                b = device.configRead(o - VirtioPCI.legacyConfigOffset)
            } else {
                b = 0xFF
            }
            v |= UInt32(b) << (8 * UInt32(i))
        }
        if touchedISR { _ = readAndClearISR() }
        return v
    }

    func legacyWrite(_ offset: Int, width: Int, value: UInt32) {
        var regs = legacyRegisterBytes()
        var touched = Set<Int>()
        for i in 0..<width {
            let o = offset + i, b = UInt8(truncatingIfNeeded: value >> (8 * UInt32(i)))
            if o < VirtioPCI.legacyConfigOffset {
                regs[o] = b
                touched.insert(o)
            } else if o - VirtioPCI.legacyConfigOffset < device.configSize {
                device.configWrite(o - VirtioPCI.legacyConfigOffset, b)
            }
        }
        func field(_ o: Int, _ n: Int) -> UInt32? {
            guard (o..<(o + n)).contains(where: touched.contains) else { return nil }
            var v: UInt32 = 0
            for i in 0..<n { v |= UInt32(regs[o + i]) << (8 * UInt32(i)) }
            return v
        }
        // Select first, so a wide write that also names a queue register acts on the new queue.
        if let v = field(0x0E, 2) { queueSelect = UInt16(v) }
        if let v = field(0x04, 4) {
            // Legacy drivers see and accept only the low 32 bits (never VERSION_1).
            driverFeatures = UInt64(v) & offeredFeatures & 0xFFFF_FFFF
        }
        if let v = field(0x08, 4) { setLegacyPFN(v) }
        if let v = field(0x12, 1) { writeStatus(UInt8(v), modern: false) }
        if let v = field(0x10, 2) { notify(Int(v)) }
    }

    /// Sets up (PFN ≠ 0) or tears down (0) the selected queue the legacy way.
    func setLegacyPFN(_ pfn: UInt32) {
        let q = Int(queueSelect)
        guard q < queues.count else { return }
        legacyPFN[q] = pfn
        let size = device.queueMaxSizes[q]
        var vq = Virtqueue(size: size)
        if pfn != 0 {
            let n = UInt64(size)
            vq.descAddress = UInt64(pfn) << 12
            vq.availAddress = vq.descAddress + 16 * n
            let availEnd = vq.availAddress + 2 * (3 + n)
            vq.usedAddress = (availEnd + VirtioPCI.legacyAlign - 1) & ~(VirtioPCI.legacyAlign - 1)
        }
        queues[q] = vq
        if pfn != 0 { enableQueue(q) }
    }
}
