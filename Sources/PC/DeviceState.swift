/// Save/restore for the small devices that keep their registers in plain
/// properties: name/value tables, the same shape the chipset devices use.
extension Uart16550 {
    public func saveState() -> [String: UInt64] {
        var s: [String: UInt64] = [
            "ier": UInt64(ier), "lcr": UInt64(lcr), "mcr": UInt64(mcr), "scr": UInt64(scr),
            "dll": UInt64(dll), "dlm": UInt64(dlm), "fifoEnabled": fifoEnabled ? 1 : 0,
            "overrun": overrun ? 1 : 0, "threInterrupt": threInterrupt ? 1 : 0, "irqLevel": irqLevel ? 1 : 0,
            "rx.count": UInt64(rbrFIFO.count),
        ]
        for (i, b) in rbrFIFO.enumerated() { s["rx.\(i)"] = UInt64(b) }
        return s
    }

    public func restoreState(_ s: [String: UInt64]) {
        func u8(_ k: String) -> UInt8 { UInt8(truncatingIfNeeded: s[k] ?? 0) }
        ier = u8("ier"); lcr = u8("lcr"); mcr = u8("mcr"); scr = u8("scr"); dll = u8("dll"); dlm = u8("dlm")
        fifoEnabled = s["fifoEnabled"] == 1
        overrun = s["overrun"] == 1
        threInterrupt = s["threInterrupt"] == 1
        irqLevel = s["irqLevel"] == 1
        let n = min(Int(s["rx.count"] ?? 0), 16)
        rbrFIFO = (0..<n).map { u8("rx.\($0)") }
    }
}

extension VgaText {
    public func saveState() -> [String: UInt64] {
        var s: [String: UInt64] = [
            "misc": UInt64(miscOutput), "seqIndex": UInt64(sequencerIndex), "gcIndex": UInt64(graphicsIndex),
            "attrIndex": UInt64(attributeIndex), "attrFlipFlop": attributeFlipFlop ? 1 : 0, "crtcIndex": UInt64(crtcIndex),
            "dacRead": UInt64(dacReadIndex), "dacWrite": UInt64(dacWriteIndex), "dacComponent": UInt64(dacComponent),
            "feature": UInt64(featureControl), "retrace": UInt64(retraceToggle),
        ]
        func put(_ name: String, _ a: [UInt8]) { for (i, b) in a.enumerated() { s["\(name).\(i)"] = UInt64(b) } }
        put("seq", sequencer); put("gc", graphics); put("attr", attribute); put("crtc", crtc); put("dac", dac)
        return s
    }

    public func restoreState(_ s: [String: UInt64]) {
        func u8(_ k: String) -> UInt8 { UInt8(truncatingIfNeeded: s[k] ?? 0) }
        func get(_ name: String, _ count: Int) -> [UInt8] { (0..<count).map { u8("\(name).\($0)") } }
        miscOutput = u8("misc"); sequencerIndex = u8("seqIndex"); graphicsIndex = u8("gcIndex")
        attributeIndex = u8("attrIndex"); attributeFlipFlop = s["attrFlipFlop"] == 1; crtcIndex = u8("crtcIndex")
        dacReadIndex = u8("dacRead"); dacWriteIndex = u8("dacWrite"); dacComponent = u8("dacComponent")
        featureControl = u8("feature"); retraceToggle = u8("retrace")
        sequencer = get("seq", sequencer.count); graphics = get("gc", graphics.count)
        attribute = get("attr", attribute.count); crtc = get("crtc", crtc.count); dac = get("dac", dac.count)
    }
}

extension FPUErrorLatch {
    public func saveState() -> [String: UInt64] { ["asserted": asserted ? 1 : 0] }
    public func restoreState(_ s: [String: UInt64]) { asserted = s["asserted"] == 1 }
}

extension PostCodePort {
    public func saveState() -> [String: UInt64] { ["last": UInt64(lastCode)] }
    public func restoreState(_ s: [String: UInt64]) { lastCode = UInt8(truncatingIfNeeded: s["last"] ?? 0) }
}
