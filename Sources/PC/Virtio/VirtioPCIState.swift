/// Save/restore of a virtio-pci function as one name/value table (the
/// shape every board device uses): configuration space, transport
/// registers, each queue's addresses and indices, then the device's own
/// entries under "dev.". The INTx level is restored without calling the
/// pin: the PIIX3 restores its own view of its PIRQ inputs.
extension VirtioPCI {
    public func saveState() -> [String: UInt64] {
        var s: [String: UInt64] = [:]
        saveConfig(config, into: &s)
        s["status"] = UInt64(status)
        s["deviceFeatureSelect"] = UInt64(deviceFeatureSelect)
        s["driverFeatureSelect"] = UInt64(driverFeatureSelect)
        s["driverFeatures"] = driverFeatures
        s["queueSelect"] = UInt64(queueSelect)
        s["configGeneration"] = UInt64(configGeneration)
        s["isr"] = UInt64(isr)
        s["msixConfig"] = UInt64(msixConfig)
        s["broken"] = broken ? 1 : 0
        s["irqLevel"] = irqLevel ? 1 : 0
        for (i, q) in queues.enumerated() {
            let p = "q\(i)."
            s[p + "size"] = UInt64(q.size)
            s[p + "enabled"] = q.enabled ? 1 : 0
            s[p + "desc"] = q.descAddress
            s[p + "avail"] = q.availAddress
            s[p + "used"] = q.usedAddress
            s[p + "lastAvail"] = UInt64(q.lastAvail)
            s[p + "usedIndex"] = UInt64(q.usedIndex)
            s[p + "msix"] = UInt64(queueMSIX[i])
            s[p + "pfn"] = UInt64(legacyPFN[i])
        }
        var d: [String: UInt64] = [:]
        device.saveState(into: &d)
        for (k, v) in d { s["dev." + k] = v }
        return s
    }

    public func restoreState(_ s: [String: UInt64]) {
        func u(_ k: String) -> UInt64 { s[k] ?? 0 }
        restoreConfig(config, from: s)
        status = UInt8(truncatingIfNeeded: u("status"))
        deviceFeatureSelect = UInt32(truncatingIfNeeded: u("deviceFeatureSelect"))
        driverFeatureSelect = UInt32(truncatingIfNeeded: u("driverFeatureSelect"))
        driverFeatures = u("driverFeatures")
        queueSelect = UInt16(truncatingIfNeeded: u("queueSelect"))
        configGeneration = UInt8(truncatingIfNeeded: u("configGeneration"))
        isr = UInt8(truncatingIfNeeded: u("isr"))
        msixConfig = UInt16(truncatingIfNeeded: s["msixConfig"] ?? 0xFFFF)
        broken = u("broken") == 1
        irqLevel = u("irqLevel") == 1
        for i in queues.indices {
            let p = "q\(i)."
            var q = Virtqueue(size: UInt16(truncatingIfNeeded: s[p + "size"] ?? UInt64(device.queueMaxSizes[i])))
            q.enabled = u(p + "enabled") == 1
            q.descAddress = u(p + "desc")
            q.availAddress = u(p + "avail")
            q.usedAddress = u(p + "used")
            q.lastAvail = UInt16(truncatingIfNeeded: u(p + "lastAvail"))
            q.usedIndex = UInt16(truncatingIfNeeded: u(p + "usedIndex"))
            // An enabled queue passed validation when it was enabled; a
            // doctored state that breaks it makes the device broken, never unsafe.
            if q.enabled, (try? q.validate(maxSize: device.queueMaxSizes[i], memory: guestMemory)) == nil {
                q.enabled = false
                broken = true
            }
            queues[i] = q
            queueMSIX[i] = UInt16(truncatingIfNeeded: s[p + "msix"] ?? 0xFFFF)
            legacyPFN[i] = UInt32(truncatingIfNeeded: u(p + "pfn"))
        }
        var d: [String: UInt64] = [:]
        for (k, v) in s where k.hasPrefix("dev.") { d[String(k.dropFirst(4))] = v }
        device.restoreState(d)
        updateBARs()
    }
}
