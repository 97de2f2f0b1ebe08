/// The modern (virtio 1.x §4.1.4) regions of BAR1.
///
/// Common configuration (offset 0x0000):
///
/// | offset | size | field |
/// | --- | --- | --- |
/// | 0x00 | 4 | device_feature_select |
/// | 0x04 | 4 | device_feature (read only) |
/// | 0x08 | 4 | driver_feature_select |
/// | 0x0C | 4 | driver_feature |
/// | 0x10 | 2 | config_msix_vector |
/// | 0x12 | 2 | num_queues (read only) |
/// | 0x14 | 1 | device_status |
/// | 0x15 | 1 | config_generation (read only) |
/// | 0x16 | 2 | queue_select |
/// | 0x18 | 2 | queue_size |
/// | 0x1A | 2 | queue_msix_vector |
/// | 0x1C | 2 | queue_enable |
/// | 0x1E | 2 | queue_notify_off (read only) |
/// | 0x20, 0x28, 0x30 | 8 each | queue_desc, queue_driver, queue_device |
/// | 0x38, 0x3A | 2 each | queue_notify_data, queue_reset (read 0: not offered) |
///
/// ISR at 0x1000 (read clears), device configuration at 0x2000, queue
/// notifications at 0x3000 + 4 × queue. There is no MSI-X capability, so
/// the vector registers only store what the driver writes (it writes
/// NO_VECTOR, 0xFFFF, with INTx).
extension VirtioPCI {
    static let commonSize = 0x40

    func commonBytes() -> [UInt8] {
        var r = [UInt8](repeating: 0, count: VirtioPCI.commonSize)
        func put(_ o: Int, _ v: UInt64, _ n: Int) { for i in 0..<n { r[o + i] = UInt8(truncatingIfNeeded: v >> (8 * UInt64(i))) } }
        put(0x00, UInt64(deviceFeatureSelect), 4)
        let f = offeredFeatures
        put(0x04, deviceFeatureSelect == 0 ? f : deviceFeatureSelect == 1 ? f >> 32 : 0, 4)
        put(0x08, UInt64(driverFeatureSelect), 4)
        put(0x0C, driverFeatureSelect == 0 ? driverFeatures : driverFeatureSelect == 1 ? driverFeatures >> 32 : 0, 4)
        put(0x10, UInt64(msixConfig), 2)
        put(0x12, UInt64(queues.count), 2)
        put(0x14, UInt64(status), 1)
        put(0x15, UInt64(configGeneration), 1)
        put(0x16, UInt64(queueSelect), 2)
        let q = Int(queueSelect)
        if q < queues.count {
            let vq = queues[q]
            put(0x18, UInt64(vq.size), 2)
            put(0x1A, UInt64(queueMSIX[q]), 2)
            put(0x1C, vq.enabled ? 1 : 0, 2)
            put(0x1E, UInt64(q), 2)
            put(0x20, vq.descAddress, 8)
            put(0x28, vq.availAddress, 8)
            put(0x30, vq.usedAddress, 8)
        }
        return r
    }

    func modernRead(_ offset: UInt32, width: Int) -> UInt32 {
        switch offset {
        case VirtioPCI.commonOffset..<(VirtioPCI.commonOffset + UInt32(VirtioPCI.commonSize)):
            let r = commonBytes(), o = Int(offset - VirtioPCI.commonOffset)
            var v: UInt32 = 0
            for i in 0..<width where o + i < r.count { v |= UInt32(r[o + i]) << (8 * UInt32(i)) }
            return v
        case VirtioPCI.isrOffset..<(VirtioPCI.isrOffset + 4):
            return offset == VirtioPCI.isrOffset ? UInt32(readAndClearISR()) : 0
        case VirtioPCI.deviceConfigOffset..<(VirtioPCI.deviceConfigOffset + 0x1000):
            let o = Int(offset - VirtioPCI.deviceConfigOffset)
            var v: UInt32 = 0
            for i in 0..<width {
                let b = o + i < device.configSize ? device.configRead(o + i) : 0xFF
                v |= UInt32(b) << (8 * UInt32(i))
            }
            return v
        default:
            return 0
        }
    }

    func modernWrite(_ offset: UInt32, width: Int, value: UInt32) {
        switch offset {
        case VirtioPCI.commonOffset..<(VirtioPCI.commonOffset + UInt32(VirtioPCI.commonSize)):
            commonWrite(Int(offset - VirtioPCI.commonOffset), width: width, value: value)
        case VirtioPCI.deviceConfigOffset..<(VirtioPCI.deviceConfigOffset + 0x1000):
            let o = Int(offset - VirtioPCI.deviceConfigOffset)
            for i in 0..<width where o + i < device.configSize {
                device.configWrite(o + i, UInt8(truncatingIfNeeded: value >> (8 * UInt32(i))))
            }
        case VirtioPCI.notifyOffset..<(VirtioPCI.notifyOffset + 0x1000):
            // The offset names the queue (queue_notify_off × multiplier).
            notify(Int((offset - VirtioPCI.notifyOffset) / VirtioPCI.notifyMultiplier))
        default:
            break
        }
    }

    func commonWrite(_ offset: Int, width: Int, value: UInt32) {
        var r = commonBytes()
        var touched = Set<Int>()
        for i in 0..<width where offset + i < r.count {
            r[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt32(i)))
            touched.insert(offset + i)
        }
        func field(_ o: Int, _ n: Int) -> UInt64? {
            guard (o..<(o + n)).contains(where: touched.contains) else { return nil }
            var v: UInt64 = 0
            for i in 0..<n { v |= UInt64(r[o + i]) << (8 * UInt64(i)) }
            return v
        }
        if let v = field(0x00, 4) { deviceFeatureSelect = UInt32(v) }
        if let v = field(0x08, 4) { driverFeatureSelect = UInt32(v) }
        if let v = field(0x0C, 4), status & VirtioStatus.featuresOK == 0 {
            // Features are fixed once FEATURES_OK is set.
            switch driverFeatureSelect {
            case 0: driverFeatures = (driverFeatures & 0xFFFF_FFFF_0000_0000) | v
            case 1: driverFeatures = (driverFeatures & 0xFFFF_FFFF) | v << 32
            default: break
            }
        }
        if let v = field(0x10, 2) { msixConfig = UInt16(v) }
        if let v = field(0x16, 2) { queueSelect = UInt16(v) }
        let q = Int(queueSelect)
        if q < queues.count, !queues[q].enabled {
            // Queue set-up registers are the driver's until it enables the queue.
            if let v = field(0x18, 2) { queues[q].size = UInt16(v) }
            if let v = field(0x1A, 2) { queueMSIX[q] = UInt16(v) }
            if let v = field(0x20, 8) { queues[q].descAddress = v }
            if let v = field(0x28, 8) { queues[q].availAddress = v }
            if let v = field(0x30, 8) { queues[q].usedAddress = v }
            if let v = field(0x1C, 2), v == 1 { enableQueue(q) }
        }
        if let v = field(0x14, 1) { writeStatus(UInt8(v), modern: true) }
    }
}
