/// x87 instruction decoding. Control-word and status instructions are
/// here; arithmetic joins when the soft-float core lands.
extension CPU {
    func executeX87(_ op: UInt8, _ modrm: UInt8) throws(CPUFault) {
        let reg = (modrm >> 3) & 7
        switch (op, modrm >= 0xC0, reg) {
        case (0xDB, true, 4) where modrm == 0xE3: fpu.initialize()              // FNINIT
        case (0xDB, true, 4) where modrm == 0xE2: fpu.status &= 0x7F00          // FNCLEX
        case (0xDB, true, 4) where modrm == 0xE0 || modrm == 0xE1 || modrm == 0xE4: break // FENI/FDISI/FSETPM: no-ops on a 387+
        case (0xD9, false, 5): fpu.control = try read16(eaSeg, eaOff) | 0x40   // FLDCW
        case (0xD9, false, 7): try write16(eaSeg, eaOff, fpu.control)          // FNSTCW
        case (0xDD, false, 7): try write16(eaSeg, eaOff, fpu.status)           // FNSTSW m16
        case (0xDF, true, 4) where modrm == 0xE0: setReg16(0, fpu.status)       // FNSTSW AX
        case (0xD9, true, 2) where modrm == 0xD0: break                         // FNOP
        default: throw CPUFault.ud
        }
    }
}
