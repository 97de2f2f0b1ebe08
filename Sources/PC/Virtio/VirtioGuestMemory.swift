import X86

/// Guest RAM as a virtio device reaches it (its "DMA"): every access is
/// checked to lie wholly inside RAM before it happens, so a hostile
/// driver's address can never reach host memory beyond the allocation,
/// nor ROM or a device's MMIO window (which could re-enter the device).
///
/// Writes go through `PhysicalMemory`, so they mark pages dirty like any
/// other DMA: snapshots and code-page tracking see them.
public struct VirtioGuestMemory {
    public let memory: PhysicalMemory

    public init(_ memory: PhysicalMemory) { self.memory = memory }

    public var ramSize: UInt64 { UInt64(memory.ramSize) }

    /// Whether `[address, address+length)` lies in RAM (overflow-safe).
    public func contains(_ address: UInt64, length: UInt64) -> Bool {
        address <= ramSize && length <= ramSize - address
    }

    func check(_ address: UInt64, _ length: UInt64, _ what: String) throws(VirtioError) {
        guard contains(address, length: length) else {
            throw VirtioError("\(what) at 0x\(String(address, radix: 16)) (+\(length)) is outside guest RAM")
        }
    }

    public func read16(_ a: UInt64, _ what: String) throws(VirtioError) -> UInt16 {
        try check(a, 2, what)
        return UInt16(truncatingIfNeeded: memory.read(UInt32(a), width: 2))
    }

    public func read32(_ a: UInt64, _ what: String) throws(VirtioError) -> UInt32 {
        try check(a, 4, what)
        return memory.read(UInt32(a), width: 4)
    }

    public func read64(_ a: UInt64, _ what: String) throws(VirtioError) -> UInt64 {
        try check(a, 8, what)
        return UInt64(memory.read(UInt32(a), width: 4)) | UInt64(memory.read(UInt32(a + 4), width: 4)) << 32
    }

    public func write16(_ a: UInt64, _ v: UInt16, _ what: String) throws(VirtioError) {
        try check(a, 2, what)
        memory.write(UInt32(a), width: 2, value: UInt32(v))
    }

    public func write32(_ a: UInt64, _ v: UInt32, _ what: String) throws(VirtioError) {
        try check(a, 4, what)
        memory.write(UInt32(a), width: 4, value: v)
    }

    public func readBytes(_ a: UInt64, count: Int, _ what: String) throws(VirtioError) -> [UInt8] {
        try check(a, UInt64(count), what)
        return memory.read(UInt32(a), count: count)
    }

    /// Whether RAM page `page` holds only zero bytes.
    public func pageIsZero(_ page: UInt32) -> Bool {
        guard UInt64(page) < ramSize >> 12 else { return false }
        let p = UnsafeRawPointer(memory.ram + Int(page) << 12).assumingMemoryBound(to: UInt64.self)
        for i in 0..<512 where p[i] != 0 { return false }
        return true
    }

    /// Zeroes RAM page `page` unless it is zero already (then it stays
    /// untouched and clean). Dword writes through `PhysicalMemory` mark it
    /// written, and skip a page that ROM shadows (the BIOS stays intact).
    public func zeroPage(_ page: UInt32) {
        guard UInt64(page) < ramSize >> 12, !pageIsZero(page) else { return }
        let base = page << 12
        for o in stride(from: UInt32(0), to: 4096, by: 4) { memory.write(base | o, width: 4, value: 0) }
    }
}
