/// What `InstructionDecoder.decode` found.
public enum DecodeResult: Equatable, Sendable {
    /// A defined instruction; every field of the `DecodedInstruction` is set.
    case ok
    /// #UD: an undefined opcode or ModRM form, UD0/UD1/UD2, a memory-only
    /// form with a register operand, or LOCK where it is not allowed. The
    /// length and fields are still decoded as far as the form goes (the
    /// disassembler shows them). For x87 escapes (`InstructionForm.Flags
    /// .x87`) the CPU's #NM check (CR0.EM/TS) comes first.
    case invalidOpcode
    /// #GP(0): the instruction would be longer than 15 bytes (SDM vol. 2,
    /// 2.3.11).
    case tooLong
    /// The bytes given end inside the instruction, which is at least this
    /// many bytes long (at most 15): call again with at least that many.
    case needBytes(Int)
}

/// Decodes one x86 instruction (16- or 32-bit code, i686 without MMX/SSE)
/// from bytes in memory, using the `InstructionTable` built from the
/// description maps. It does not allocate, retain or throw.
///
/// Page crossings: the decoder is stateless, so a caller that has only
/// the rest of a page decodes from it; on `.needBytes(n)` it copies what it
/// has plus the following bytes (fetched through its own slow path, which
/// may fault on the next page) into a 15-byte buffer until it has n bytes,
/// and calls again from the start. Because n only covers bytes that are
/// certainly part of the instruction, a page fault raised while fetching
/// them is the one the hardware raises.
public struct InstructionDecoder: @unchecked Sendable {
    let opInfo: UnsafeMutablePointer<UInt32>
    let subForms: UnsafeMutablePointer<UInt16>
    let formBits: UnsafeMutablePointer<UInt16>

    public init(table: InstructionTable = .shared) {
        opInfo = table.opInfo
        subForms = table.subForms
        formBits = table.formBits
    }

    @inline(__always) private static func need(_ n: Int) -> DecodeResult {
        n > 15 ? .tooLong : .needBytes(n)
    }

    @inline(__always) private static func load16(_ p: UnsafePointer<UInt8>, _ i: Int) -> UInt16 {
        UInt16(p[i]) | UInt16(p[i + 1]) << 8
    }

    @inline(__always) private static func load32(_ p: UnsafePointer<UInt8>, _ i: Int) -> UInt32 {
        UInt32(littleEndian: UnsafeRawPointer(p + i).loadUnaligned(as: UInt32.self))
    }

    /// Decodes the instruction at `bytes[0]`, of which `count` bytes are
    /// readable, for a code segment of size `code32` (CS.D), into `d`.
    @inline(__always)
    public func decode(_ bytes: UnsafePointer<UInt8>, count: Int, code32: Bool,
                       into d: inout DecodedInstruction) -> DecodeResult {
        let p = bytes
        d = DecodedInstruction()
        d.opsize32 = code32
        d.addrsize32 = code32
        var pos = 0
        // Prefixes: any number, in any order, within the 15-byte limit.
        while true {
            if pos >= count { return InstructionDecoder.need(pos + 1) }
            let b = p[pos]
            if opInfo[Int(b)] & InstructionTable.opPrefix == 0 { break }
            switch b {
            case 0x66: d.opsize32 = !code32; d.hasOpsizePrefix = true
            case 0x67: d.addrsize32 = !code32; d.hasAddrsizePrefix = true
            case 0x26: d.segOverride = 0
            case 0x2E: d.segOverride = 1
            case 0x36: d.segOverride = 2
            case 0x3E: d.segOverride = 3
            case 0x64: d.segOverride = 4
            case 0x65: d.segOverride = 5
            case 0xF0: d.lockPrefix = true
            default: d.repPrefix = b
            }
            pos += 1
            if pos >= 15 { return .tooLong }
        }
        d.prefixCount = UInt8(pos)
        var opcode = Int(p[pos])
        pos += 1
        if opcode == 0x0F {
            if pos >= count { return InstructionDecoder.need(pos + 1) }
            opcode = 0x100 | Int(p[pos])
            pos += 1
        }
        d.opcode = UInt16(opcode)
        let info = opInfo[opcode]
        var modrm: UInt8 = 0
        if info & InstructionTable.opHasModRM != 0 {
            if pos >= count { return InstructionDecoder.need(pos + 1) }
            modrm = p[pos]
            pos += 1
            d.hasModRM = true
        }
        var formIndex = InstructionTable.select(info, modrm, subForms)
        let fb = formBits[Int(formIndex)]
        var valid = fb & InstructionTable.fbValid != 0

        if d.hasModRM {
            if fb & InstructionTable.fbModIgnored != 0 {
                // MOV CRn/DRn: r/m is a register whatever mod says, and no
                // SIB or displacement follows.
                modrm |= 0xC0
            } else if modrm < 0xC0 {
                let mod = modrm >> 6
                let rm = modrm & 7
                var dispSize = 0
                if d.addrsize32 {
                    if rm == 4 {
                        if pos >= count { return InstructionDecoder.need(pos + 1) }
                        d.sib = p[pos]
                        d.hasSIB = true
                        pos += 1
                        if mod == 0 && d.sib & 7 == 5 { dispSize = 4 }
                    } else if mod == 0 && rm == 5 {
                        dispSize = 4
                    }
                    if mod == 1 { dispSize = 1 } else if mod == 2 { dispSize = 4 }
                } else {
                    if mod == 0 && rm == 6 { dispSize = 2 }
                    if mod == 1 { dispSize = 1 } else if mod == 2 { dispSize = 2 }
                }
                if dispSize != 0 {
                    if pos + dispSize > count { return InstructionDecoder.need(pos + dispSize) }
                    switch dispSize {
                    case 1: d.disp = UInt32(bitPattern: Int32(Int8(bitPattern: p[pos])))
                    case 2: d.disp = UInt32(bitPattern: Int32(Int16(bitPattern: InstructionDecoder.load16(p, pos))))
                    default: d.disp = InstructionDecoder.load32(p, pos)
                    }
                    d.dispSize = UInt8(dispSize)
                    pos += dispSize
                }
                if fb & InstructionTable.fbRegisterOnly != 0 { valid = false }
            } else if fb & InstructionTable.fbMemoryOnly != 0 {
                valid = false
                formIndex = 0
            }
            d.modrm = modrm
        }
        d.form = formIndex

        // Immediates.
        let v = d.opsize32 ? 4 : 2
        var immSize = 0, imm2Size = 0
        switch UInt8(fb & 7) { // ImmediateKind raw values
        case ImmediateKind.none.rawValue: break
        case ImmediateKind.byte.rawValue: immSize = 1
        case ImmediateKind.word.rawValue: immSize = 2
        case ImmediateKind.operandSize.rawValue: immSize = v
        case ImmediateKind.farPointer.rawValue: immSize = v; imm2Size = 2
        case ImmediateKind.memoryOffset.rawValue: immSize = d.addrsize32 ? 4 : 2
        default: immSize = 2; imm2Size = 1 // .enter
        }
        if immSize != 0 {
            let total = immSize + imm2Size
            if pos + total > count { return InstructionDecoder.need(pos + total) }
            d.imm = immSize == 1 ? UInt32(p[pos]) : (immSize == 2 ? UInt32(InstructionDecoder.load16(p, pos)) : InstructionDecoder.load32(p, pos))
            d.immSize = UInt8(immSize)
            pos += immSize
            if imm2Size != 0 {
                d.imm2 = imm2Size == 1 ? UInt32(p[pos]) : UInt32(InstructionDecoder.load16(p, pos))
                d.imm2Size = UInt8(imm2Size)
                pos += imm2Size
            }
        }
        if pos > 15 { return .tooLong }
        d.length = UInt8(pos)
        if d.lockPrefix && (fb & InstructionTable.fbLockable == 0 || !d.hasModRM || modrm >= 0xC0) { valid = false }
        return valid ? .ok : .invalidOpcode
    }

    /// Convenience for tools and tests: decodes from an array.
    public func decode(_ bytes: [UInt8], code32: Bool) -> (DecodeResult, DecodedInstruction) {
        var d = DecodedInstruction()
        let r = bytes.withUnsafeBufferPointer { buf -> DecodeResult in
            guard let base = buf.baseAddress else { return .needBytes(1) }
            return decode(base, count: buf.count, code32: code32, into: &d)
        }
        return (r, d)
    }
}
