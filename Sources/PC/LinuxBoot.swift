import X86

/// Linux's x86 32-bit boot protocol (Documentation/arch/x86/boot.rst), as
/// a boot loader implements it: the protected-mode kernel goes to 1 MiB,
/// the initrd near the top of low memory, the command line and the
/// "zero page" (struct boot_params) below 640 KiB, and the CPU enters the
/// kernel in flat 32-bit protected mode with ESI pointing at boot_params.
public struct LinuxBootImage {
    public let setupSectors: Int
    public let protocolVersion: UInt16
    public let loadFlags: UInt8
    public let code32Start: UInt32
    public let initrdAddressMax: UInt32
    public let commandLineSize: UInt32
    /// The setup header bytes (file offset 0x1F1 up to its declared end).
    public let header: [UInt8]
    /// The protected-mode part of the kernel.
    public let payload: ArraySlice<UInt8>

    /// Parses a bzImage; every rejection says what is wrong with the file.
    public init(_ file: [UInt8]) throws {
        guard file.count >= 0x400 else { throw MachineError("kernel image is too small (\(file.count) bytes) to be a bzImage") }
        func u16(_ o: Int) -> UInt16 { UInt16(file[o]) | UInt16(file[o + 1]) << 8 }
        func u32(_ o: Int) -> UInt32 { UInt32(u16(o)) | UInt32(u16(o + 2)) << 16 }
        guard u16(0x1FE) == 0xAA55 else { throw MachineError("kernel image has no boot sector signature 0xAA55: not a Linux bzImage") }
        guard u32(0x202) == 0x5372_6448 else { throw MachineError("kernel image has no 'HdrS' setup header: not a Linux bzImage (or too old)") }
        protocolVersion = u16(0x206)
        guard protocolVersion >= 0x0206 else {
            throw MachineError("kernel boot protocol \(String(protocolVersion >> 8)).\(protocolVersion & 0xFF) is older than 2.06, not supported")
        }
        var sects = Int(file[0x1F1])
        if sects == 0 { sects = 4 }
        setupSectors = sects
        loadFlags = file[0x211]
        guard loadFlags & 1 != 0 else { throw MachineError("kernel is a zImage (not loaded high): only bzImage is supported") }
        code32Start = u32(0x214)
        initrdAddressMax = u32(0x22C)
        commandLineSize = u32(0x238)
        let headerEnd = 0x202 + Int(file[0x201])
        guard headerEnd <= file.count, headerEnd > 0x202 else { throw MachineError("kernel setup header length is invalid") }
        header = Array(file[0x1F1..<headerEnd])
        let start = (sects + 1) * 512
        guard start < file.count else { throw MachineError("kernel image is truncated: setup claims \(sects) sectors but the file ends first") }
        payload = file[start...]
    }
}

/// Loads a kernel, initrd and command line into a machine's RAM and sets
/// the CPU up at the kernel's 32-bit entry point.
public enum LinuxLoader {
    static let bootParams: UInt32 = 0x1_0000
    static let commandLine: UInt32 = 0x2_0000
    static let bootGDT: UInt32 = 0x6000
    static let kernelBase: UInt32 = 0x10_0000

    public static func load(kernel: [UInt8], initrd: [UInt8]?, commandLine cmdline: String, into machine: Machine) throws {
        let image = try LinuxBootImage(kernel)
        let mem = machine.memory
        let ramTop = UInt32(mem.ramSize)
        guard kernelBase + UInt32(image.payload.count) < ramTop else {
            throw MachineError("kernel (\(image.payload.count) bytes) does not fit in \(ramTop >> 20) MiB of RAM")
        }
        mem.write(Array(image.payload), at: kernelBase)

        var params = [UInt8](repeating: 0, count: 4096)
        func put16(_ o: Int, _ v: UInt16) { params[o] = UInt8(v & 0xFF); params[o + 1] = UInt8(v >> 8) }
        func put32(_ o: Int, _ v: UInt32) { put16(o, UInt16(v & 0xFFFF)); put16(o + 2, UInt16(v >> 16)) }
        params.replaceSubrange(0x1F1..<(0x1F1 + image.header.count), with: image.header)

        // screen_info: an 80x25 VGA text console, cursor at the top.
        params[0x06] = 3       // orig_video_mode
        params[0x07] = 80      // orig_video_cols
        params[0x0E] = 25      // orig_video_lines
        params[0x0F] = 1       // orig_video_isVGA
        put16(0x10, 16)        // orig_video_points
        let kbAbove1M = (ramTop - 0x10_0000) / 1024
        put16(0x02, UInt16(min(kbAbove1M, 0xFFFF)))   // ext_mem_k
        put32(0x1E0, kbAbove1M)                       // alt_mem_k

        params[0x210] = 0xFF   // type_of_loader: undefined loader
        params[0x211] = image.loadFlags & ~0x20 // no QUIET_FLAG; keep LOADED_HIGH

        // Command line.
        var cmd = Array(cmdline.utf8)
        let maxCmd = image.commandLineSize > 0 ? Int(image.commandLineSize) : 255
        guard cmd.count <= maxCmd else { throw MachineError("kernel command line is \(cmd.count) bytes; this kernel accepts at most \(maxCmd)") }
        cmd.append(0)
        mem.write(cmd, at: commandLine)
        put32(0x228, commandLine)

        // Initrd: as high as the kernel allows, page aligned.
        if let initrd {
            let limit = min(image.initrdAddressMax == 0 ? 0x37FF_FFFF : image.initrdAddressMax, ramTop - 1)
            guard UInt32(initrd.count) < limit else { throw MachineError("initrd (\(initrd.count) bytes) does not fit below 0x\(String(limit, radix: 16))") }
            let addr = (limit + 1 - UInt32(initrd.count)) & ~0xFFF
            guard addr > kernelBase + UInt32(image.payload.count) + 0x40_0000 else {
                throw MachineError("initrd (\(initrd.count >> 20) MiB) and kernel do not both fit in \(ramTop >> 20) MiB of RAM; give more --memory")
            }
            mem.write(initrd, at: addr)
            put32(0x218, addr)
            put32(0x21C, UInt32(initrd.count))
        }

        // E820 map: what the board's memory map really is.
        let map = machine.e820Map
        params[0x1E8] = UInt8(map.count)
        for (i, e) in map.enumerated() {
            let o = 0x2D0 + i * 20
            put32(o, UInt32(truncatingIfNeeded: e.base)); put32(o + 4, UInt32(truncatingIfNeeded: e.base >> 32))
            put32(o + 8, UInt32(truncatingIfNeeded: e.length)); put32(o + 12, UInt32(truncatingIfNeeded: e.length >> 32))
            put32(o + 16, e.type)
        }
        mem.write(params, at: bootParams)

        // A boot GDT with __BOOT_CS (0x10) and __BOOT_DS (0x18), flat 4 GiB.
        let gdt: [UInt8] = [
            0, 0, 0, 0, 0, 0, 0, 0,
            0, 0, 0, 0, 0, 0, 0, 0,
            0xFF, 0xFF, 0, 0, 0, 0x9B, 0xCF, 0,
            0xFF, 0xFF, 0, 0, 0, 0x93, 0xCF, 0,
        ]
        mem.write(gdt, at: bootGDT)
        let cpu = machine.cpu
        cpu.reset()
        cpu.loadDescriptorTables(gdtBase: bootGDT, gdtLimit: UInt32(gdt.count - 1), idtBase: 0, idtLimit: 0)
        cpu.setControlRegister(0, 0x0000_0011) // PE, ET
        cpu.setSegmentSelector(1, 0x10)
        for s in [0, 2, 3, 4, 5] { cpu.setSegmentSelector(s, 0x18) }
        cpu.eflags = 0x2
        for r in 0..<8 { cpu.setGPR(r, 0) }
        cpu.setGPR(6, bootParams)           // ESI → boot_params
        cpu.setGPR(4, bootParams - 0x10)    // a usable stack below it
        cpu.eip = image.code32Start
    }
}
