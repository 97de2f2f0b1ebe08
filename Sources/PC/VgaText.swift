/// A VGA adapter in its text modes: the register files the BIOS and
/// Linux's vgacon program (miscellaneous output, sequencer, graphics
/// controller, attribute controller, CRTC, DAC, input status), with the
/// text buffer kept in ordinary RAM at 0xB8000 so guest writes cost
/// nothing and a renderer reads the screen straight from memory.
///
/// Planar graphics modes are not emulated: their registers are stored and
/// read back, but nothing draws pixels.
public final class VgaText: PortDevice {
    public var miscOutput: UInt8 = 0x67
    public var sequencerIndex: UInt8 = 0
    public var sequencer = [UInt8](repeating: 0, count: 8)
    public var graphicsIndex: UInt8 = 0
    public var graphics = [UInt8](repeating: 0, count: 16)
    public var attributeIndex: UInt8 = 0
    public var attribute = [UInt8](repeating: 0, count: 32)
    /// The attribute controller's address/data flip-flop (reset by reading input status 1).
    public var attributeFlipFlop = false
    public var crtcIndex: UInt8 = 0
    public var crtc = [UInt8](repeating: 0, count: 32)
    public var dacReadIndex: UInt8 = 0
    public var dacWriteIndex: UInt8 = 0
    public var dacComponent: UInt8 = 0
    public var dac = [UInt8](repeating: 0, count: 768)
    public var featureControl: UInt8 = 0
    /// Input status 1 toggles its retrace bits on every read: software that
    /// waits for retrace progresses, and the sequence is deterministic.
    var retraceToggle: UInt8 = 0

    public init() {
        // Power-on text mode 3: 80x25, cursor lines 14–15, start at 0.
        crtc[0x09] = 0x0F
        crtc[0x0A] = 0x0E
        crtc[0x0B] = 0x0F
        crtc[0x01] = 79
        crtc[0x12] = 0x8F
        for i in 0..<16 { attribute[i] = UInt8(i) }
        attribute[0x10] = 0x0C
        attribute[0x12] = 0x0F
        sequencer[0x02] = 0x03
        sequencer[0x04] = 0x02
        graphics[0x06] = 0x0E
    }

    /// CRTC registers answer at 0x3D4/0x3D5 in colour mode (misc bit 0)
    /// and at 0x3B4/0x3B5 in monochrome mode.
    var crtcBase: UInt16 { miscOutput & 1 != 0 ? 0x3D4 : 0x3B4 }

    /// Text-buffer offset (in characters) of the top-left corner.
    public var startAddress: Int { Int(crtc[0x0C]) << 8 | Int(crtc[0x0D]) }
    /// Cursor position in characters from the buffer start.
    public var cursorAddress: Int { Int(crtc[0x0E]) << 8 | Int(crtc[0x0F]) }
    /// Cursor hidden (CRTC 0x0A bit 5).
    public var cursorHidden: Bool { crtc[0x0A] & 0x20 != 0 }
    public var columns: Int { Int(crtc[0x01]) + 1 }

    public func portRead(_ port: UInt16, width: Int) -> UInt32 {
        if width > 1 {
            var v: UInt32 = 0
            for i in 0..<width { v |= portRead(port &+ UInt16(i), width: 1) << (8 * UInt32(i)) }
            return v
        }
        switch port {
        case 0x3C0: return UInt32(attributeIndex)
        case 0x3C1: return UInt32(attribute[Int(attributeIndex & 0x1F)])
        case 0x3C2: return 0x10 // input status 0: switch sense
        case 0x3C4: return UInt32(sequencerIndex)
        case 0x3C5: return UInt32(sequencer[Int(sequencerIndex & 7)])
        case 0x3C7: return 0 // DAC state
        case 0x3C8: return UInt32(dacWriteIndex)
        case 0x3C9:
            let v = dac[Int(dacReadIndex) * 3 + Int(dacComponent)]
            advanceDAC(read: true)
            return UInt32(v)
        case 0x3CA: return UInt32(featureControl)
        case 0x3CC: return UInt32(miscOutput)
        case 0x3CE: return UInt32(graphicsIndex)
        case 0x3CF: return UInt32(graphics[Int(graphicsIndex & 0xF)])
        case crtcBase: return UInt32(crtcIndex)
        case crtcBase + 1: return UInt32(crtc[Int(crtcIndex & 0x1F)])
        case 0x3DA, 0x3BA:
            attributeFlipFlop = false
            retraceToggle ^= 0x09
            return UInt32(retraceToggle)
        default: return 0xFF
        }
    }

    public func portWrite(_ port: UInt16, width: Int, value: UInt32) {
        if width > 1 {
            // OUT DX, AX to an index port writes index then data.
            for i in 0..<width { portWrite(port &+ UInt16(i), width: 1, value: value >> (8 * UInt32(i))) }
            return
        }
        let v = UInt8(truncatingIfNeeded: value)
        switch port {
        case 0x3C0:
            if !attributeFlipFlop { attributeIndex = v & 0x3F } else { attribute[Int(attributeIndex & 0x1F)] = v }
            attributeFlipFlop.toggle()
        case 0x3C2: miscOutput = v
        case 0x3C4: sequencerIndex = v
        case 0x3C5: sequencer[Int(sequencerIndex & 7)] = v
        case 0x3C7: dacReadIndex = v; dacComponent = 0
        case 0x3C8: dacWriteIndex = v; dacComponent = 0
        case 0x3C9:
            dac[Int(dacWriteIndex) * 3 + Int(dacComponent)] = v & 0x3F
            advanceDAC(read: false)
        case 0x3CE: graphicsIndex = v
        case 0x3CF: graphics[Int(graphicsIndex & 0xF)] = v
        case crtcBase: crtcIndex = v
        case crtcBase + 1:
            // Registers 0–7 are write-protected by CRTC 0x11 bit 7.
            let i = Int(crtcIndex & 0x1F)
            if i <= 7 && crtc[0x11] & 0x80 != 0 && i != 7 { return }
            crtc[i] = v
        case 0x3DA, 0x3BA: featureControl = v
        default: break
        }
    }

    private func advanceDAC(read: Bool) {
        dacComponent += 1
        if dacComponent == 3 {
            dacComponent = 0
            if read { dacReadIndex &+= 1 } else { dacWriteIndex &+= 1 }
        }
    }
}
