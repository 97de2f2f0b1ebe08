/// One split virtqueue (virtio 1.x §2.7; the legacy layout is the same
/// rings at addresses derived from one page frame number).
///
/// - descriptor table: `size` entries of 16 bytes (addr u64, len u32,
///   flags u16: NEXT 1, WRITE 2, INDIRECT 4; next u16);
/// - available ring (driver → device): flags u16 (NO_INTERRUPT 1), idx u16,
///   ring[size] u16;
/// - used ring (device → driver): flags u16, idx u16, ring[size] of
///   (id u32, len u32).
///
/// Everything the guest wrote is checked before use: the available index
/// may run at most `size` ahead, heads and `next` links must be inside the
/// table, a chain may not be longer than the table (which also catches
/// loops), and every ring and buffer must lie in RAM. Any violation is a
/// `VirtioError`; the transport then marks the device broken.
public struct Virtqueue: Equatable {
    /// Queue size chosen by the driver (a power of two ≤ the maximum).
    public var size: UInt16
    public var enabled = false
    public var descAddress: UInt64 = 0
    public var availAddress: UInt64 = 0
    public var usedAddress: UInt64 = 0
    /// Next available-ring slot the device has not consumed.
    public var lastAvail: UInt16 = 0
    /// The device's used index (what it last published).
    public var usedIndex: UInt16 = 0

    public init(size: UInt16) { self.size = size }

    /// One buffer of a descriptor chain: guest-physical, already checked to lie in RAM.
    public struct Buffer: Equatable {
        public var address: UInt64
        public var length: UInt32
        /// Device-writable (the driver receives data here).
        public var writable: Bool
    }

    /// A chain the driver made available: its head id and its buffers in order.
    public struct Chain: Equatable {
        public var head: UInt16
        public var buffers: [Buffer]
    }

    static let flagNext: UInt16 = 1, flagWrite: UInt16 = 2, flagIndirect: UInt16 = 4

    /// Checks the driver's queue set-up when it enables the queue: a power
    /// of two size within `maxSize`, aligned rings inside RAM.
    public func validate(maxSize: UInt16, memory: VirtioGuestMemory) throws(VirtioError) {
        guard size > 0, size <= maxSize, size & (size - 1) == 0 else {
            throw VirtioError("queue size \(size) is not a power of two in 1...\(maxSize)")
        }
        let n = UInt64(size)
        guard descAddress & 15 == 0, availAddress & 1 == 0, usedAddress & 3 == 0 else {
            throw VirtioError("queue rings are misaligned (desc 0x\(String(descAddress, radix: 16)), avail 0x\(String(availAddress, radix: 16)), used 0x\(String(usedAddress, radix: 16)))")
        }
        try memory.check(descAddress, 16 * n, "descriptor table")
        try memory.check(availAddress, 6 + 2 * n, "available ring")
        try memory.check(usedAddress, 6 + 8 * n, "used ring")
    }

    /// The next chain the driver made available, or nil if there is none.
    public mutating func pop(_ memory: VirtioGuestMemory) throws(VirtioError) -> Chain? {
        guard enabled else { return nil }
        let availIdx = try memory.read16(availAddress + 2, "available index")
        let pending = availIdx &- lastAvail
        guard pending <= size else {
            throw VirtioError("available index \(availIdx) is \(pending) entries ahead of the device's \(lastAvail) (queue size \(size))")
        }
        if pending == 0 { return nil }
        let slot = UInt64(lastAvail % size)
        let head = try memory.read16(availAddress + 4 + 2 * slot, "available ring entry")
        guard head < size else { throw VirtioError("available ring names descriptor \(head), queue size is \(size)") }
        var buffers: [Buffer] = []
        var index = head
        while true {
            guard buffers.count < Int(size) else { throw VirtioError("descriptor chain from \(head) is longer than the queue (a loop)") }
            let d = descAddress + 16 * UInt64(index)
            let addr = try memory.read64(d, "descriptor")
            let len = try memory.read32(d + 8, "descriptor")
            let flags = try memory.read16(d + 12, "descriptor")
            let next = try memory.read16(d + 14, "descriptor")
            guard flags & Virtqueue.flagIndirect == 0 else {
                throw VirtioError("descriptor \(index) is indirect, which was not negotiated")
            }
            try memory.check(addr, UInt64(len), "buffer of descriptor \(index)")
            buffers.append(Buffer(address: addr, length: len, writable: flags & Virtqueue.flagWrite != 0))
            guard flags & Virtqueue.flagNext != 0 else { break }
            guard next < size else { throw VirtioError("descriptor \(index) links to \(next), queue size is \(size)") }
            index = next
        }
        lastAvail &+= 1
        return Chain(head: head, buffers: buffers)
    }

    /// Returns chain `head` to the driver with `written` bytes written into it.
    public mutating func push(_ memory: VirtioGuestMemory, head: UInt16, written: UInt32) throws(VirtioError) {
        let slot = UInt64(usedIndex % size)
        let e = usedAddress + 4 + 8 * slot
        try memory.write32(e, UInt32(head), "used ring entry")
        try memory.write32(e + 4, written, "used ring entry")
        usedIndex &+= 1
        // The entry is visible before the index that publishes it.
        try memory.write16(usedAddress + 2, usedIndex, "used index")
    }

    /// Whether the driver asked not to be interrupted (VRING_AVAIL_F_NO_INTERRUPT).
    public func interruptSuppressed(_ memory: VirtioGuestMemory) -> Bool {
        ((try? memory.read16(availAddress, "available flags")) ?? 0) & 1 != 0
    }

    /// Bytes of the chain's device-readable buffers, in order, at most `limit`.
    public static func readableBytes(_ chain: Chain, _ memory: VirtioGuestMemory, limit: Int) throws(VirtioError) -> [UInt8] {
        var out: [UInt8] = []
        for b in chain.buffers where !b.writable {
            let n = min(Int(b.length), limit - out.count)
            if n <= 0 { break }
            out += try memory.readBytes(b.address, count: n, "buffer")
        }
        return out
    }
}
