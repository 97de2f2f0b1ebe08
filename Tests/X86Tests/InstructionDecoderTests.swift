import XCTest
@testable import X86

/// Pins the decoder's lengths and fields on the encodings that are easy to
/// get wrong (SDM vol. 2, ch. 2 and appendix A).
final class InstructionDecoderTests: XCTestCase {
    let decoder = InstructionDecoder()
    let table = InstructionTable.shared

    func decode(_ bytes: [UInt8], bits32: Bool = true, file: StaticString = #filePath, line: UInt = #line) -> DecodedInstruction {
        let (r, d) = decoder.decode(bytes, code32: bits32)
        XCTAssertEqual(r, .ok, "decoding \(bytes.map { String(format: "%02x", $0) })", file: file, line: line)
        return d
    }

    func mnemonic(_ d: DecodedInstruction) -> String { table.form(of: d).mnemonic(size32: d.opsize32) }

    func testTableParsesAndHasTheExpectedShape() {
        XCTAssertEqual(table.forms[0].mnemonic32, "(bad)")
        XCTAssertFalse(table.forms[0].isValid)
        XCTAssertTrue(table.isPrefix(0x66))
        XCTAssertTrue(table.isPrefix(0xF0))
        XCTAssertFalse(table.isPrefix(0x90))
        XCTAssertEqual(table.forms[table.formIndex(opcode: 0x184, modrm: 0)].mnemonic32, "je")
        XCTAssertEqual(table.forms[table.formIndex(opcode: 0x14F, modrm: 0)].mnemonic32, "cmovg")
        XCTAssertEqual(table.forms[table.formIndex(opcode: 0xD9, modrm: 0xEB)].mnemonic32, "fldpi")
        XCTAssertEqual(table.forms[table.formIndex(opcode: 0xD9, modrm: 0x28)].mnemonic32, "fldcw")
        XCTAssertEqual(table.forms[table.formIndex(opcode: 0xF7, modrm: 0x18)].mnemonic32, "neg")
        XCTAssertEqual(table.forms[table.formIndex(opcode: 0x98, modrm: 0)].mnemonic16, "cbw")
        XCTAssertEqual(table.forms[table.formIndex(opcode: 0x98, modrm: 0)].mnemonic32, "cwde")
    }

    func testSimpleLengthsAndOpcodes() {
        XCTAssertEqual(decode([0x90]).length, 1)
        var d = decode([0x0F, 0xA2])
        XCTAssertEqual(d.length, 2)
        XCTAssertEqual(d.opcode, 0x1A2)
        XCTAssertTrue(d.isTwoByte)
        d = decode([0x01, 0xD8]) // add eax, ebx
        XCTAssertEqual(d.length, 2)
        XCTAssertTrue(d.hasModRM)
        XCTAssertEqual(d.reg, 3)
        XCTAssertEqual(d.rm, 0)
        XCTAssertFalse(d.hasMemoryOperand)
        XCTAssertEqual(mnemonic(d), "add")
    }

    func testThirtyTwoBitAddressing() {
        // mov eax, [ebx+ecx*4+0x12345678]: SIB with mod 2.
        var d = decode([0x8B, 0x84, 0x8B, 0x78, 0x56, 0x34, 0x12])
        XCTAssertEqual(d.length, 7)
        XCTAssertTrue(d.hasSIB)
        XCTAssertEqual(d.sib, 0x8B)
        XCTAssertEqual(d.disp, 0x1234_5678)
        XCTAssertEqual(d.dispSize, 4)
        // SIB with base = 5 and mod = 0: disp32, no base register.
        d = decode([0x8B, 0x04, 0x8D, 0x00, 0x10, 0x00, 0x00])
        XCTAssertEqual(d.length, 7)
        XCTAssertEqual(d.dispSize, 4)
        XCTAssertEqual(d.disp, 0x1000)
        // SIB with base = 5 and mod = 1: [ebp+index+disp8].
        d = decode([0x8B, 0x44, 0x8D, 0xF0])
        XCTAssertEqual(d.length, 4)
        XCTAssertEqual(d.dispSize, 1)
        XCTAssertEqual(d.disp, 0xFFFF_FFF0, "disp8 is sign-extended")
        // mod = 0 rm = 5: disp32 only.
        d = decode([0x8B, 0x05, 0x44, 0x33, 0x22, 0x11])
        XCTAssertEqual(d.length, 6)
        XCTAssertFalse(d.hasSIB)
        XCTAssertEqual(d.disp, 0x1122_3344)
        // mod = 0 rm = 4 base = 4: [esp], no displacement.
        d = decode([0x8B, 0x04, 0x24])
        XCTAssertEqual(d.length, 3)
        XCTAssertEqual(d.dispSize, 0)
    }

    func testSixteenBitAddressing() {
        // mov ax, [bp+si+disp8] in 16-bit code: rm 4 is [si], no SIB.
        var d = decode([0x8B, 0x42, 0x80], bits32: false)
        XCTAssertEqual(d.length, 3)
        XCTAssertFalse(d.opsize32)
        XCTAssertFalse(d.addrsize32)
        XCTAssertEqual(d.disp, 0xFFFF_FF80)
        d = decode([0x8B, 0x04], bits32: false) // [si]: no SIB in 16-bit addressing
        XCTAssertEqual(d.length, 2)
        XCTAssertFalse(d.hasSIB)
        d = decode([0x8B, 0x06, 0x34, 0x12], bits32: false) // [disp16]
        XCTAssertEqual(d.length, 4)
        XCTAssertEqual(d.dispSize, 2)
        XCTAssertEqual(d.disp, 0x1234)
        d = decode([0x8B, 0x86, 0x00, 0x80], bits32: false) // [bp+disp16], sign-extended
        XCTAssertEqual(d.length, 4)
        XCTAssertEqual(d.disp, 0xFFFF_8000)
        // 67 in 32-bit code switches to 16-bit addressing, and back.
        d = decode([0x67, 0x8B, 0x06, 0x34, 0x12])
        XCTAssertEqual(d.length, 5)
        XCTAssertFalse(d.addrsize32)
        XCTAssertTrue(d.hasAddrsizePrefix)
        d = decode([0x67, 0x8B, 0x04, 0x24], bits32: false) // 32-bit addressing in 16-bit code: SIB
        XCTAssertEqual(d.length, 4)
        XCTAssertTrue(d.addrsize32)
        XCTAssertTrue(d.hasSIB)
    }

    func testOperandSizeImmediates() {
        var d = decode([0x66, 0xB8, 0x34, 0x12]) // mov ax, 0x1234
        XCTAssertEqual(d.length, 4)
        XCTAssertFalse(d.opsize32)
        XCTAssertEqual(d.imm, 0x1234)
        XCTAssertEqual(d.immSize, 2)
        d = decode([0xB8, 0x78, 0x56, 0x34, 0x12])
        XCTAssertEqual(d.length, 5)
        XCTAssertEqual(d.imm, 0x1234_5678)
        d = decode([0x66, 0xB8, 0x78, 0x56, 0x34, 0x12], bits32: false) // 32-bit operand in 16-bit code
        XCTAssertEqual(d.length, 6)
        XCTAssertTrue(d.opsize32)
        // 81 /0 with 66: Iz is a word; 83: Ib whatever the size.
        d = decode([0x66, 0x81, 0x00, 0x34, 0x12])
        XCTAssertEqual(d.length, 5)
        XCTAssertEqual(d.immSize, 2)
        d = decode([0x83, 0xC0, 0xFF])
        XCTAssertEqual(d.length, 3)
        XCTAssertEqual(d.imm, 0xFF, "imm is stored as in the bytes")
        // C7 with a SIB + disp32 + imm32: 11 bytes.
        d = decode([0xC7, 0x84, 0x24, 1, 0, 0, 0, 2, 0, 0, 0])
        XCTAssertEqual(d.length, 11)
        XCTAssertEqual(d.disp, 1)
        XCTAssertEqual(d.imm, 2)
        // 69 with imm32 and 6B with imm8.
        XCTAssertEqual(decode([0x69, 0xC0, 1, 2, 3, 4]).length, 6)
        XCTAssertEqual(decode([0x6B, 0xC0, 1]).length, 3)
    }

    func testGroup3TestHasAnImmediateButNotTheOthers() {
        var d = decode([0xF6, 0x00, 0x7F]) // test byte [eax], 0x7f
        XCTAssertEqual(d.length, 3)
        XCTAssertEqual(d.immSize, 1)
        d = decode([0xF6, 0x08, 0x7F]) // /1 is an alias of TEST
        XCTAssertEqual(d.length, 3)
        d = decode([0xF7, 0xC0, 1, 2, 3, 4]) // test eax, imm32
        XCTAssertEqual(d.length, 6)
        d = decode([0x66, 0xF7, 0xC0, 1, 2]) // test ax, imm16
        XCTAssertEqual(d.length, 5)
        d = decode([0xF7, 0x18]) // neg dword [eax]: no immediate
        XCTAssertEqual(d.length, 2)
        XCTAssertEqual(d.immSize, 0)
        XCTAssertEqual(mnemonic(d), "neg")
        XCTAssertEqual(decode([0xF6, 0xF1]).length, 2) // div cl
    }

    func testEnterAndFarPointers() {
        var d = decode([0xC8, 0x10, 0x20, 0x03]) // enter 0x2010, 3
        XCTAssertEqual(d.length, 4)
        XCTAssertEqual(d.imm, 0x2010)
        XCTAssertEqual(d.immSize, 2)
        XCTAssertEqual(d.imm2, 3)
        XCTAssertEqual(d.imm2Size, 1)
        d = decode([0x66, 0xC8, 0x10, 0x20, 0x03]) // 66 does not change ENTER's immediates
        XCTAssertEqual(d.length, 5)
        d = decode([0x9A, 0x78, 0x56, 0x34, 0x12, 0x08, 0x00]) // call 0x0008:0x12345678
        XCTAssertEqual(d.length, 7)
        XCTAssertEqual(d.imm, 0x1234_5678)
        XCTAssertEqual(d.immSize, 4)
        XCTAssertEqual(d.imm2, 8)
        XCTAssertEqual(d.imm2Size, 2)
        d = decode([0xEA, 0x34, 0x12, 0x00, 0xF0], bits32: false) // jmp 0xf000:0x1234
        XCTAssertEqual(d.length, 5)
        XCTAssertEqual(d.imm, 0x1234)
        XCTAssertEqual(d.imm2, 0xF000)
        d = decode([0x66, 0xEA, 0x34, 0x12, 0x00, 0xF0]) // 16-bit offset in 32-bit code
        XCTAssertEqual(d.length, 6)
    }

    func testMemoryOffsetsFollowTheAddressSize() {
        var d = decode([0xA1, 0x78, 0x56, 0x34, 0x12]) // mov eax, [0x12345678]
        XCTAssertEqual(d.length, 5)
        XCTAssertEqual(d.imm, 0x1234_5678)
        XCTAssertFalse(d.hasModRM)
        d = decode([0x67, 0xA1, 0x34, 0x12]) // 16-bit offset with 67
        XCTAssertEqual(d.length, 4)
        XCTAssertEqual(d.imm, 0x1234)
        d = decode([0x66, 0xA3, 0x78, 0x56, 0x34, 0x12]) // 66 changes the data, not the offset
        XCTAssertEqual(d.length, 6)
        d = decode([0xA0, 0xFF, 0xFF], bits32: false)
        XCTAssertEqual(d.length, 3)
        XCTAssertEqual(d.imm, 0xFFFF, "a memory offset is not sign-extended")
        d = decode([0x67, 0xA2, 1, 2, 3, 4], bits32: false)
        XCTAssertEqual(d.length, 6)
    }

    func testNearBranches() {
        var d = decode([0x0F, 0x85, 0x00, 0x01, 0x00, 0x00]) // jne rel32
        XCTAssertEqual(d.length, 6)
        XCTAssertEqual(d.imm, 0x100)
        XCTAssertEqual(mnemonic(d), "jne")
        d = decode([0x66, 0x0F, 0x85, 0x00, 0x01]) // rel16
        XCTAssertEqual(d.length, 5)
        d = decode([0x0F, 0x8F, 0x00, 0x01], bits32: false)
        XCTAssertEqual(d.length, 4)
        XCTAssertEqual(decode([0xE8, 0, 0, 0, 0]).length, 5)
        XCTAssertEqual(decode([0xE8, 0, 0], bits32: false).length, 3)
        XCTAssertEqual(decode([0x74, 0xFE]).length, 2)
        XCTAssertEqual(decode([0xE3, 0x00]).length, 2)
    }

    func testX87() {
        var d = decode([0xD9, 0xE8]) // fld1
        XCTAssertEqual(d.length, 2)
        XCTAssertEqual(mnemonic(d), "fld1")
        d = decode([0xDD, 0x05, 1, 2, 3, 4]) // fld qword [disp32]
        XCTAssertEqual(d.length, 6)
        XCTAssertEqual(mnemonic(d), "fld")
        XCTAssertTrue(d.hasMemoryOperand)
        d = decode([0xDF, 0xE0]) // fnstsw ax
        XCTAssertEqual(mnemonic(d), "fnstsw")
        d = decode([0xDE, 0xC1]) // faddp st(1), st
        XCTAssertEqual(mnemonic(d), "faddp")
        d = decode([0xDB, 0x2C, 0x24]) // fld tbyte [esp]
        XCTAssertEqual(d.length, 3)
        XCTAssertEqual(decoder.decode([0xD9, 0xD1], code32: true).0, .invalidOpcode)
        XCTAssertEqual(decoder.decode([0xD9, 0x08], code32: true).0, .invalidOpcode) // D9 /1 memory
        XCTAssertEqual(decoder.decode([0xDB, 0xE5], code32: true).0, .invalidOpcode)
        XCTAssertTrue(table.form(of: decoder.decode([0xD9, 0xD1], code32: true).1).flags.isEmpty)
    }

    func testPrefixesAreRecorded() {
        let d = decode([0xF3, 0x26, 0x66, 0x67, 0xA5])
        XCTAssertEqual(d.prefixCount, 4)
        XCTAssertEqual(d.repPrefix, 0xF3)
        XCTAssertEqual(d.segOverride, 0)
        XCTAssertTrue(d.hasOpsizePrefix)
        XCTAssertTrue(d.hasAddrsizePrefix)
        XCTAssertEqual(d.length, 5)
        let e = decode([0x2E, 0x65, 0xF2, 0xF3, 0xA4]) // the last segment and the last F2/F3 win
        XCTAssertEqual(e.segOverride, 5)
        XCTAssertEqual(e.repPrefix, 0xF3)
    }

    func testMoveToControlRegisterIgnoresMod() {
        // 0F 20 with mod = 0: still a register, and no displacement follows.
        let d = decode([0x0F, 0x20, 0x05])
        XCTAssertEqual(d.length, 3)
        XCTAssertEqual(d.dispSize, 0)
        XCTAssertFalse(d.hasMemoryOperand)
        XCTAssertEqual(d.rm, 5)
    }

    func testUndefinedForms() {
        func status(_ b: [UInt8], _ bits32: Bool = true) -> DecodeResult { decoder.decode(b, code32: bits32).0 }
        XCTAssertEqual(status([0x0F, 0x0B]), .invalidOpcode) // UD2
        XCTAssertEqual(status([0x0F, 0x05]), .invalidOpcode) // SYSCALL: not on i686
        XCTAssertEqual(status([0x8D, 0xC0]), .invalidOpcode) // LEA with a register
        XCTAssertEqual(status([0xC4, 0xC0]), .invalidOpcode)
        XCTAssertEqual(status([0xFF, 0xF8]), .invalidOpcode) // FF /7
        XCTAssertEqual(status([0xFF, 0xD8]), .invalidOpcode) // FF /3 register
        XCTAssertEqual(status([0xC6, 0x08, 0x00]), .invalidOpcode) // C6 /1
        XCTAssertEqual(status([0x8E, 0xC8]), .invalidOpcode) // mov cs, ax
        XCTAssertEqual(status([0x8C, 0xF0]), .invalidOpcode) // segment register 6
        XCTAssertEqual(status([0x0F, 0xC7, 0xC8]), .invalidOpcode) // cmpxchg8b register
        XCTAssertEqual(status([0x0F, 0xBA, 0x00, 0x01]), .invalidOpcode) // 0F BA /0
        XCTAssertEqual(status([0x0F, 0x01, 0xC0]), .invalidOpcode) // 0F 01 register forms other than /4 /6
        XCTAssertEqual(status([0x0F, 0x01, 0xE0]), .ok) // smsw eax
    }

    func testLockIsOnlyValidOnReadModifyWriteMemoryForms() {
        func status(_ b: [UInt8]) -> DecodeResult { decoder.decode(b, code32: true).0 }
        XCTAssertEqual(status([0xF0, 0x01, 0x00]), .ok) // lock add [eax], eax
        XCTAssertEqual(status([0xF0, 0x01, 0xC0]), .invalidOpcode) // register destination
        XCTAssertEqual(status([0xF0, 0x39, 0x00]), .invalidOpcode) // CMP does not write
        XCTAssertEqual(status([0xF0, 0x90]), .invalidOpcode)
        XCTAssertEqual(status([0xF0, 0x0F, 0xC7, 0x08]), .ok) // lock cmpxchg8b
        XCTAssertEqual(status([0xF0, 0x0F, 0xBA, 0x20, 1]), .invalidOpcode) // BT imm does not write
        XCTAssertEqual(status([0xF0, 0x0F, 0xBA, 0x28, 1]), .ok) // BTS imm
        XCTAssertEqual(status([0xF0, 0xF6, 0x10]), .ok) // lock not byte [eax]
        XCTAssertEqual(status([0xF0, 0xF6, 0x00, 1]), .invalidOpcode) // lock test
    }

    func testFifteenByteLimit() {
        // 14 prefixes + a one-byte opcode is exactly 15 bytes.
        var ok = [UInt8](repeating: 0x3E, count: 14) + [0x90]
        XCTAssertEqual(decoder.decode(ok, code32: true).0, .ok)
        XCTAssertEqual(decoder.decode(ok, code32: true).1.length, 15)
        ok[13] = 0x66
        XCTAssertEqual(decoder.decode(ok, code32: true).0, .ok)
        // 15 prefixes: #GP before any opcode.
        XCTAssertEqual(decoder.decode([UInt8](repeating: 0x66, count: 15) + [0x90], code32: true).0, .tooLong)
        // Few prefixes but a long body: 4 prefixes + C7 84 SIB disp32 imm32 = 15; one more is 16.
        let body: [UInt8] = [0xC7, 0x84, 0x24, 1, 0, 0, 0, 2, 0, 0, 0]
        XCTAssertEqual(decoder.decode([0x26, 0x26, 0x26, 0x26] + body, code32: true).0, .ok)
        XCTAssertEqual(decoder.decode([0x26, 0x26, 0x26, 0x26, 0x26] + body, code32: true).0, .tooLong)
    }

    /// Random bytes, random lengths: the decoder never reads past `count`,
    /// never reports a length over 15 or beyond the bytes, and a truncated
    /// instruction asks for exactly what the full one turns out to be.
    func testRandomBytesGiveConsistentResults() {
        var state: UInt64 = 0x1234_5678_9ABC_DEF0
        func next() -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return state >> 11
        }
        for i in 0..<100_000 {
            var bytes = (0..<16).map { _ in UInt8(truncatingIfNeeded: next()) }
            if i % 3 == 0 { bytes[0] = [0x66, 0x67, 0xF0, 0x26, 0x0F][Int(next() % 5)] }
            let bits32 = i & 1 == 0
            let (full, fd) = decoder.decode(bytes, code32: bits32)
            if full == .ok || full == .invalidOpcode {
                XCTAssertTrue((1...15).contains(Int(fd.length)))
            } else {
                XCTAssertEqual(full, .tooLong, "16 bytes always decide: \(bytes)")
            }
            let cut = Int(next() % 16)
            let (r, d) = decoder.decode(Array(bytes[0..<cut]), code32: bits32)
            switch r {
            case .needBytes(let n):
                XCTAssertGreaterThan(n, cut)
                XCTAssertLessThanOrEqual(n, 15)
                if full != .tooLong { XCTAssertLessThanOrEqual(n, Int(fd.length)) }
            case .ok, .invalidOpcode:
                XCTAssertEqual(r, full)
                XCTAssertEqual(d.length, fd.length)
                XCTAssertLessThanOrEqual(Int(d.length), cut)
            case .tooLong:
                XCTAssertEqual(full, .tooLong)
            }
        }
    }

    func testTruncatedInputAsksForTheBytesItNeeds() {
        let full: [UInt8] = [0x66, 0xC7, 0x84, 0x24, 1, 0, 0, 0, 0x34, 0x12]
        // Every truncation asks for more, never more than the instruction has,
        // and growing the input to what was asked for converges.
        for cut in 0..<full.count {
            var have = cut
            var rounds = 0
            while true {
                let (r, d) = decoder.decode(Array(full[0..<have]), code32: true)
                if case .needBytes(let n) = r {
                    XCTAssertGreaterThan(n, have)
                    XCTAssertLessThanOrEqual(n, full.count)
                    have = n
                } else {
                    XCTAssertEqual(r, .ok)
                    XCTAssertEqual(Int(d.length), full.count)
                    break
                }
                rounds += 1
                XCTAssertLessThan(rounds, 10)
            }
        }
    }
}

/// `CPU.decodeAtEIP`: the fetch-window fast path and the byte-by-byte
/// path for instructions that cross a page or wrap IP.
final class CPUDecodeTests: XCTestCase {
    func testInsideAPageAndAcrossAPageBoundary() throws {
        let memory = PhysicalMemory(ramSize: 1 << 20)
        let cpu = CPU(memory: memory)
        cpu.enterFlat32(cpl: 0)
        let decoder = InstructionDecoder()
        var d = DecodedInstruction()
        // Crossing from page 0x10000 into 0x11000.
        memory.write([0xB8, 0x78, 0x56, 0x34, 0x12], at: 0x10FFE)
        cpu.eip = 0x10FFE
        XCTAssertEqual(try cpu.decodeAtEIP(decoder, into: &d), .ok)
        XCTAssertEqual(d.length, 5)
        XCTAssertEqual(d.imm, 0x1234_5678)
        XCTAssertEqual(cpu.eip, 0x10FFE, "decoding does not move EIP")
        // Entirely inside a page (the fetch window is now set up).
        memory.write([0x66, 0x81, 0xC3, 0x34, 0x12], at: 0x10800)
        cpu.eip = 0x10800
        XCTAssertEqual(try cpu.decodeAtEIP(decoder, into: &d), .ok)
        XCTAssertEqual(d.length, 5)
        XCTAssertEqual(d.imm, 0x1234)
        // The executor agrees on where the crossing instruction ends.
        cpu.eip = 0x10FFE
        cpu.stopOnException = true
        XCTAssertEqual(cpu.step(), .instructionLimit)
        XCTAssertEqual(cpu.eip, 0x11003)
        XCTAssertEqual(cpu.gpr(0), 0x1234_5678)
    }

    func testSixteenBitIPWrap() throws {
        let memory = PhysicalMemory(ramSize: 1 << 20)
        let cpu = CPU(memory: memory)
        cpu.setSegmentSelector(CPU.segCS, 0x2000)
        // mov ax, 0x1234 at 2000:FFFE: the immediate's high byte is at 2000:0000.
        memory.write([0xB8, 0x34], at: 0x2FFFE)
        memory.write([0x12], at: 0x20000)
        cpu.eip = 0xFFFE
        var d = DecodedInstruction()
        XCTAssertEqual(try cpu.decodeAtEIP(InstructionDecoder(), into: &d), .ok)
        XCTAssertEqual(d.length, 3)
        XCTAssertEqual(d.imm, 0x1234)
        XCTAssertEqual(cpu.eip, 0xFFFE)
    }
}
