@testable import X86

/// A CPU in flat 32-bit ring 0 on 1 MiB of RAM, running `code` placed at
/// 0x1000 with ESP = 0x8000: the start of the small instruction tests.
func flatCPU(_ code: [UInt8]) -> CPU {
    let mem = PhysicalMemory(ramSize: 1 << 20)
    let c = CPU(memory: mem)
    c.enterFlat32(cpl: 0)
    mem.write(code, at: 0x1000)
    c.eip = 0x1000
    c.setGPR(4, 0x8000)
    return c
}
