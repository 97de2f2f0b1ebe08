/// Splits the bytes of one instruction into a `DecodedInstruction`: prefixes,
/// opcode, ModRM, SIB, displacement and immediates. It does not execute and
/// does not touch memory: the caller hands it the bytes it has, and if they
/// end before the instruction does, it answers `.needMoreBytes` so the
/// caller can fetch exactly one more byte (and raise the fault of that byte,
/// not of one beyond the instruction).
public enum InstructionDecoder {
    public enum Status: Equatable {
        case complete
        /// The bytes given end inside the instruction.
        case needMoreBytes
    }

    // Operand layout of an opcode, from the SDM's opcode maps (vol. 2,
    // appendix A). One byte per opcode: whether a ModRM follows and which
    // immediates come after it.
    static let modrm: UInt8 = 0x01
    /// ModRM whose mod field is ignored (MOV CRn/DRn): never a memory operand.
    static let modrmRegOnly: UInt8 = 0x02
    static let prefix: UInt8 = 0x04
    static let immShift: UInt8 = 4
    enum Imm: UInt8 {
        case none = 0, byte, word, operandSize, addressSize, farPointer, enter, group3
    }

    /// Layout of the one-byte map, indexed by opcode.
    static let oneByte: [UInt8] = buildOneByteMap()
    /// Layout of the 0F map, indexed by the second opcode byte. Opcodes the
    /// CPU does not implement have no ModRM: they are #UD after the opcode.
    static let twoByte: [UInt8] = buildTwoByteMap()

    static func layout(_ hasModRM: Bool, _ imm: Imm) -> UInt8 {
        (hasModRM ? modrm : 0) | imm.rawValue << immShift
    }

    static func buildOneByteMap() -> [UInt8] {
        var m = [UInt8](repeating: 0, count: 256)
        // ALU rows 00-3F: r/m,reg ×4 then AL,imm8 and eAX,imm.
        for row in stride(from: 0, to: 0x40, by: 8) {
            for col in 0..<4 { m[row + col] = layout(true, .none) }
            m[row + 4] = layout(false, .byte)
            m[row + 5] = layout(false, .operandSize)
        }
        for p in [0x26, 0x2E, 0x36, 0x3E, 0x64, 0x65, 0x66, 0x67, 0xF0, 0xF2, 0xF3] { m[p] = prefix }
        m[0x62] = layout(true, .none); m[0x63] = layout(true, .none)
        m[0x68] = layout(false, .operandSize); m[0x69] = layout(true, .operandSize)
        m[0x6A] = layout(false, .byte); m[0x6B] = layout(true, .byte)
        for op in 0x70...0x7F { m[op] = layout(false, .byte) }
        m[0x80] = layout(true, .byte); m[0x81] = layout(true, .operandSize)
        m[0x82] = layout(true, .byte); m[0x83] = layout(true, .byte)
        for op in 0x84...0x8F { m[op] = layout(true, .none) }
        m[0x9A] = layout(false, .farPointer)
        for op in 0xA0...0xA3 { m[op] = layout(false, .addressSize) }
        m[0xA8] = layout(false, .byte); m[0xA9] = layout(false, .operandSize)
        for op in 0xB0...0xB7 { m[op] = layout(false, .byte) }
        for op in 0xB8...0xBF { m[op] = layout(false, .operandSize) }
        m[0xC0] = layout(true, .byte); m[0xC1] = layout(true, .byte)
        m[0xC2] = layout(false, .word)
        m[0xC4] = layout(true, .none); m[0xC5] = layout(true, .none)
        m[0xC6] = layout(true, .byte); m[0xC7] = layout(true, .operandSize)
        m[0xC8] = layout(false, .enter); m[0xCA] = layout(false, .word)
        m[0xCD] = layout(false, .byte)
        for op in 0xD0...0xD3 { m[op] = layout(true, .none) }
        m[0xD4] = layout(false, .byte); m[0xD5] = layout(false, .byte)
        for op in 0xD8...0xDF { m[op] = layout(true, .none) }
        for op in 0xE0...0xE7 { m[op] = layout(false, .byte) }
        m[0xE8] = layout(false, .operandSize); m[0xE9] = layout(false, .operandSize)
        m[0xEA] = layout(false, .farPointer); m[0xEB] = layout(false, .byte)
        m[0xF6] = layout(true, .group3); m[0xF7] = layout(true, .group3)
        m[0xFE] = layout(true, .none); m[0xFF] = layout(true, .none)
        return m
    }

    static func buildTwoByteMap() -> [UInt8] {
        var m = [UInt8](repeating: 0, count: 256)
        for op in [0x00, 0x01, 0x02, 0x03, 0xA3, 0xA5, 0xAB, 0xAD, 0xAF, 0xB0, 0xB1, 0xB2, 0xB3, 0xB4, 0xB5,
                   0xB6, 0xB7, 0xBB, 0xBC, 0xBD, 0xBE, 0xBF, 0xC0, 0xC1, 0xC7] {
            m[op] = layout(true, .none)
        }
        for op in 0x18...0x1F { m[op] = layout(true, .none) }
        for op in 0x20...0x23 { m[op] = layout(true, .none) | modrmRegOnly }
        for op in 0x40...0x4F { m[op] = layout(true, .none) }
        for op in 0x80...0x8F { m[op] = layout(false, .operandSize) }
        for op in 0x90...0x9F { m[op] = layout(true, .none) }
        m[0xA4] = layout(true, .byte); m[0xAC] = layout(true, .byte); m[0xBA] = layout(true, .byte)
        return m
    }

    /// Decodes the instruction at `bytes[0..<count]` for a code segment of
    /// 32-bit (`code32`) or 16-bit default size.
    public static func decode(_ bytes: UnsafePointer<UInt8>, count: Int, code32: Bool,
                              into d: inout DecodedInstruction) -> Status {
        d = DecodedInstruction()
        d.opsize32 = code32
        d.addrsize32 = code32
        var i = 0
        var op: UInt8
        while true {
            guard i < count else { return .needMoreBytes }
            op = bytes[i]
            i += 1
            if oneByte[Int(op)] & prefix == 0 { break }
            switch op {
            case 0x66: d.opsize32 = !code32; d.hasOpsizePrefix = true
            case 0x67: d.addrsize32 = !code32; d.hasAddrsizePrefix = true
            case 0x26: d.segOverride = 0
            case 0x2E: d.segOverride = 1
            case 0x36: d.segOverride = 2
            case 0x3E: d.segOverride = 3
            case 0x64: d.segOverride = 4
            case 0x65: d.segOverride = 5
            case 0xF0: d.lockPrefix = true
            default: d.repPrefix = op
            }
        }
        d.prefixCount = UInt8(i - 1)
        var shape: UInt8
        if op == 0x0F {
            guard i < count else { return .needMoreBytes }
            let op2 = bytes[i]
            i += 1
            d.opcode = 0x100 | UInt16(op2)
            shape = twoByte[Int(op2)]
        } else {
            d.opcode = UInt16(op)
            shape = oneByte[Int(op)]
        }
        if shape & modrm != 0 {
            guard i < count else { return .needMoreBytes }
            let m = bytes[i]
            i += 1
            d.hasModRM = true
            d.modrm = m
            if shape & modrmRegOnly == 0 && m < 0xC0 {
                let mod = m >> 6, rm = m & 7
                var dispSize: UInt8 = 0
                if d.addrsize32 {
                    var base = rm
                    if rm == 4 {
                        guard i < count else { return .needMoreBytes }
                        d.hasSIB = true
                        d.sib = bytes[i]
                        i += 1
                        base = d.sib & 7
                    }
                    if mod == 1 { dispSize = 1 } else if mod == 2 || (mod == 0 && base == 5) { dispSize = 4 }
                } else {
                    if mod == 1 { dispSize = 1 } else if mod == 2 || (mod == 0 && rm == 6) { dispSize = 2 }
                }
                if dispSize != 0 {
                    guard i + Int(dispSize) <= count else { return .needMoreBytes }
                    let raw = readLE(bytes + i, Int(dispSize))
                    d.disp = dispSize == 1 ? UInt32(bitPattern: Int32(Int8(truncatingIfNeeded: raw)))
                        : dispSize == 2 ? UInt32(bitPattern: Int32(Int16(truncatingIfNeeded: raw))) : raw
                    d.dispSize = dispSize
                    i += Int(dispSize)
                }
            }
        }
        let osize: UInt8 = d.opsize32 ? 4 : 2
        var immSize: UInt8 = 0, imm2Size: UInt8 = 0
        switch Imm(rawValue: shape >> immShift) ?? .none {
        case .none: break
        case .byte: immSize = 1
        case .word: immSize = 2
        case .operandSize: immSize = osize
        case .addressSize: immSize = d.addrsize32 ? 4 : 2
        case .farPointer: immSize = osize; imm2Size = 2
        case .enter: immSize = 2; imm2Size = 1
        case .group3: if d.reg < 2 { immSize = op == 0xF6 ? 1 : osize }
        }
        if immSize != 0 {
            guard i + Int(immSize) + Int(imm2Size) <= count else { return .needMoreBytes }
            d.imm = readLE(bytes + i, Int(immSize))
            d.immSize = immSize
            i += Int(immSize)
            if imm2Size != 0 {
                d.imm2 = readLE(bytes + i, Int(imm2Size))
                d.imm2Size = imm2Size
                i += Int(imm2Size)
            }
        }
        d.length = UInt8(i)
        return .complete
    }

    @inline(__always) static func readLE(_ p: UnsafePointer<UInt8>, _ n: Int) -> UInt32 {
        var v: UInt32 = 0
        for k in 0..<n { v |= UInt32(p[k]) << (8 * UInt32(k)) }
        return v
    }
}

extension DecodedInstruction {
    /// LOCK is legal only on the read-modify-write forms with a memory
    /// destination (SDM vol. 2, LOCK); anything else is #UD.
    var lockIsLegal: Bool {
        guard hasMemoryOperand else { return false }
        let op = UInt8(truncatingIfNeeded: opcode)
        if !isTwoByte {
            switch op {
            case 0x00...0x3F: return op & 7 < 2 && op & 0x38 != 0x38
            case 0x80...0x83: return reg != 7
            case 0x86, 0x87: return true
            case 0xF6, 0xF7: return reg == 2 || reg == 3
            case 0xFE, 0xFF: return reg < 2
            default: return false
            }
        }
        switch op {
        case 0xAB, 0xB3, 0xBB, 0xB0, 0xB1, 0xC0, 0xC1: return true
        case 0xBA: return reg >= 5
        case 0xC7: return reg == 1
        default: return false
        }
    }
}
