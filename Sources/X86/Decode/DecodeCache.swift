/// Decoded instructions, kept per physical code page so each instruction is
/// decoded once rather than on every execution.
///
/// Layout:
/// - a *slot* per (physical page, code size) that has run code: an index of
///   4096 entry numbers, one per byte offset of the page (0 = not decoded);
///   16- and 32-bit code get separate slots because CS.D changes what the
///   same bytes mean;
/// - one pool of `CachedInstruction`s shared by all slots, filled in order.
///   Entry 0 is scratch space for instructions that cannot be cached (they
///   cross a page or the CS limit, or come from MMIO).
///
/// Memory is bounded: at most `maxSlots` pages and `poolCapacity` entries
/// (at most about 32 MiB in all). When either runs out everything is dropped at
/// once and decoding starts over, which is simpler than evicting single
/// pages and rare enough not to matter.
///
/// Writes reach the cache through `PhysicalMemory.noteWrite` (see
/// PhysicalMemory.swift): a page with a slot has no direct write mapping in
/// the CPU's TLB, so every write to it — CPU, DMA, loaders — comes here and
/// drops exactly the instructions whose bytes it overlaps. A page that keeps
/// being written without hitting instructions (code that became data) loses
/// its slot, which gives it back its fast write mapping.
///
/// Entries are never freed while an instruction may be executing from one:
/// dropping clears indexes only, and the pool is reused only by `reset`,
/// which runs at an instruction boundary (`CPU.executeMiss`).
public final class DecodeCache {
    static let maxSlots = 1024
    static let poolCapacity = 1 << 18
    /// Writes that hit no decoded instruction before a slot is dropped.
    static let dataWriteLimit = 64

    struct Slot {
        var index: UnsafeMutablePointer<UInt32>?
        /// page << 1 | code32, or `free`.
        var key: UInt32 = Slot.free
        var dataWrites = 0
        static let free: UInt32 = 0xFFFF_FFFF
    }

    let pool: UnsafeMutablePointer<CachedInstruction>
    var poolUsed = 1
    /// Slot number per (page << 1 | code32); 0 means none.
    let slotOf: UnsafeMutablePointer<UInt16>
    let slots: UnsafeMutablePointer<Slot>
    var slotsUsed = 1
    /// Slots given back by `dropPage`, reused before fresh ones.
    var freeSlots: [UInt16] = []

    /// Called whenever decoded code is dropped, so the CPU stops using the
    /// index it holds for its current code page.
    var onDrop: (() -> Void)?

    /// Counters for tests and `capsule bench`: instructions decoded into the
    /// cache, entries dropped by writes, whole-cache resets.
    public private(set) var decodedCount = 0
    public private(set) var invalidatedCount = 0
    public private(set) var resetCount = 0

    init() {
        pool = .allocate(capacity: DecodeCache.poolCapacity)
        pool.initialize(to: CachedInstruction())
        slotOf = .allocate(capacity: PhysicalMemory.pageCount * 2)
        slotOf.initialize(repeating: 0, count: PhysicalMemory.pageCount * 2)
        slots = .allocate(capacity: DecodeCache.maxSlots)
        slots.initialize(repeating: Slot(), count: DecodeCache.maxSlots)
    }

    deinit {
        for s in 0..<DecodeCache.maxSlots { slots[s].index?.deallocate() }
        slots.deallocate()
        slotOf.deallocate()
        pool.deallocate()
    }

    @inline(__always) var scratch: UnsafeMutablePointer<CachedInstruction> { pool }

    /// Whether any decoded instruction may come from this physical page.
    @inline(__always) func hasCode(page: UInt32) -> Bool {
        UnsafeRawPointer(slotOf + Int(page) * 2).load(as: UInt32.self) != 0
    }

    var isFull: Bool { poolUsed >= DecodeCache.poolCapacity }

    /// The offset-indexed table of `page`'s decoded instructions for one
    /// code size, creating it if needed. `becameCode` tells the caller the
    /// page had no code before (it must drop its write mappings).
    func index(page: UInt32, code32: Bool, becameCode: inout Bool) -> UnsafeMutablePointer<UInt32> {
        let key = page << 1 | (code32 ? 1 : 0)
        let s = Int(slotOf[Int(key)])
        if s != 0 { return slots[s].index.unsafelyUnwrapped }
        becameCode = !hasCode(page: page)
        var n: Int
        if let f = freeSlots.popLast() {
            n = Int(f)
        } else {
            if slotsUsed >= DecodeCache.maxSlots { reset() }
            n = slotsUsed
            slotsUsed += 1
        }
        if slots[n].index == nil { slots[n].index = .allocate(capacity: 4096) }
        let idx = slots[n].index.unsafelyUnwrapped
        idx.initialize(repeating: 0, count: 4096)
        slots[n].key = key
        slots[n].dataWrites = 0
        slotOf[Int(key)] = UInt16(n)
        return idx
    }

    /// Commits the pool's next entry (already decoded by the caller) as the
    /// instruction at `offset` of the table `index`.
    @inline(__always) func commit(_ index: UnsafeMutablePointer<UInt32>, offset: Int) {
        index[offset] = UInt32(poolUsed)
        poolUsed += 1
        decodedCount += 1
    }

    @inline(__always) var next: UnsafeMutablePointer<CachedInstruction> { pool + poolUsed }

    /// Bytes `[offset, offset+count)` of a code page were written: drops the
    /// decoded instructions that overlap them (an instruction starts at most
    /// 14 bytes before the first written byte).
    func written(page: UInt32, offset: Int, count: Int) {
        for mode: UInt32 in 0...1 {
            let s = Int(slotOf[Int(page << 1 | mode)])
            if s == 0 { continue }
            let idx = slots[s].index.unsafelyUnwrapped
            var hit = false
            let end = min(4096, offset + count)
            var o = max(0, offset - 14)
            while o < end {
                let e = idx[o]
                if e != 0 && o + Int(pool[Int(e)].decoded.length) > offset {
                    idx[o] = 0
                    hit = true
                    invalidatedCount += 1
                }
                o += 1
            }
            if hit { continue }
            slots[s].dataWrites += 1
            if slots[s].dataWrites > DecodeCache.dataWriteLimit { release(slot: s) }
        }
    }

    /// Drops everything decoded from `page` (its contents or its mapping changed).
    public func dropPage(_ page: UInt32) {
        guard hasCode(page: page) else { return }
        for mode: UInt32 in 0...1 {
            let s = Int(slotOf[Int(page << 1 | mode)])
            if s != 0 { release(slot: s) }
        }
    }

    private func release(slot s: Int) {
        slotOf[Int(slots[s].key)] = 0
        slots[s].key = Slot.free
        freeSlots.append(UInt16(s))
        onDrop?()
    }

    /// Drops every decoded instruction and starts the pool over. Only at an
    /// instruction boundary: entries are reused afterwards.
    public func reset() {
        for s in 1..<slotsUsed where slots[s].key != Slot.free {
            slotOf[Int(slots[s].key)] = 0
            slots[s].key = Slot.free
        }
        slotsUsed = 1
        freeSlots.removeAll(keepingCapacity: true)
        poolUsed = 1
        resetCount += 1
        onDrop?()
    }
}
