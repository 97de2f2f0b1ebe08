/// The machine's physical address space as the CPU sees it: RAM, read-only
/// ROM windows and memory-mapped I/O, at 4 KiB page granularity.
///
/// RAM is one host allocation so the CPU's TLB can hand out raw pointers into
/// it. Every other page is described by a one-byte kind; ROM pages keep a
/// host pointer too (reads are direct, writes are dropped). MMIO pages go
/// through a handler on every access, which is slow by design: devices are
/// rare on the hot path.
public final class PhysicalMemory {
    public static let pageSize = 4096
    static let pageCount = 1 << 20

    public let ramSize: Int
    /// Host storage for guest RAM, `ramSize` bytes (plus slack so an unaligned
    /// 8-byte load at the last byte never leaves the allocation).
    public let ram: UnsafeMutablePointer<UInt8>

    enum PageKind: UInt8 {
        case unmapped = 0
        case ram = 1
        case rom = 2
        case mmio = 3
    }

    /// Kind of every physical page in the 4 GiB space.
    let pageKind: UnsafeMutablePointer<UInt8>
    /// For ROM pages: host memory of the page. For MMIO pages: handler index.
    private var romPages: [UInt32: UnsafeMutablePointer<UInt8>] = [:]
    private var mmioByPage: [UInt32: Int] = [:]
    private(set) var mmioHandlers: [MMIOHandler] = []
    private var romBuffers: [UnsafeMutablePointer<UInt8>] = []

    /// One bit per RAM page, set whenever the page may have been written since
    /// the bit was last cleared. Snapshots read and clear it.
    public let dirtyBits: UnsafeMutablePointer<UInt64>
    public let dirtyWords: Int

    /// Instructions decoded from these pages (ROM included), dropped when
    /// their bytes are written.
    public let decodeCache = DecodeCache()

    // Write tracking: one mechanism for the dirty bitmap and for code.
    //
    // The CPU may hold a direct write pointer (a write TLB entry) to a page
    // only while the page is dirty AND holds no decoded code. Every other
    // write goes through `noteWrite`, which marks the page dirty and drops
    // decoded instructions the write overlaps. So the two trackers need no
    // check on the fast path: clearing the dirty set (a snapshot) and
    // decoding the first instruction of a page both revoke write mappings,
    // and the next write lands here.

    /// Called when the dirty set is reset, so holders of write pointers
    /// (the CPU's TLB) drop them and the next write marks the page again.
    var writeMappingsInvalidated: (() -> Void)?

    public init(ramSize: Int) {
        precondition(ramSize > 0 && ramSize % PhysicalMemory.pageSize == 0, "RAM size must be a positive multiple of 4 KiB")
        precondition(ramSize <= 0xF000_0000, "RAM larger than 3.75 GiB is not supported")
        self.ramSize = ramSize
        ram = .allocate(capacity: ramSize + 16)
        ram.initialize(repeating: 0, count: ramSize + 16)
        pageKind = .allocate(capacity: PhysicalMemory.pageCount)
        pageKind.initialize(repeating: PageKind.unmapped.rawValue, count: PhysicalMemory.pageCount)
        let ramPages = ramSize / PhysicalMemory.pageSize
        for p in 0..<ramPages { pageKind[p] = PageKind.ram.rawValue }
        dirtyWords = (ramPages + 63) / 64
        dirtyBits = .allocate(capacity: dirtyWords)
        dirtyBits.initialize(repeating: ~0, count: dirtyWords)
    }

    deinit {
        ram.deallocate()
        pageKind.deallocate()
        dirtyBits.deallocate()
        for b in romBuffers { b.deallocate() }
    }

    // MARK: - Board set-up

    /// Maps `bytes` read-only at `base` (page aligned, length rounded up to
    /// whole pages). Replaces whatever was there, RAM included.
    public func mapROM(_ bytes: [UInt8], at base: UInt32) {
        precondition(base & 0xFFF == 0, "ROM base must be page aligned")
        let pages = (bytes.count + 4095) / 4096
        let buf = UnsafeMutablePointer<UInt8>.allocate(capacity: pages * 4096 + 16)
        buf.initialize(repeating: 0xFF, count: pages * 4096 + 16)
        bytes.withUnsafeBufferPointer { src in buf.update(from: src.baseAddress!, count: bytes.count) }
        romBuffers.append(buf)
        for i in 0..<pages {
            let page = (base >> 12) + UInt32(i)
            pageKind[Int(page)] = PageKind.rom.rawValue
            romPages[page] = buf + i * 4096
            mmioByPage[page] = nil
            decodeCache.dropPage(page)
        }
    }

    /// Routes every access to `[base, base+size)` to `handler`.
    public func mapMMIO(base: UInt32, size: UInt32, handler: MMIOHandler) {
        precondition(base & 0xFFF == 0 && size & 0xFFF == 0, "MMIO ranges are page aligned")
        // A handler mapped again (a BAR moved) keeps its slot.
        let index = mmioHandlers.firstIndex { $0 === handler } ?? mmioHandlers.count
        if index == mmioHandlers.count { mmioHandlers.append(handler) }
        for i in 0..<(size >> 12) {
            let page = (base >> 12) + i
            pageKind[Int(page)] = PageKind.mmio.rawValue
            mmioByPage[page] = index
            romPages[page] = nil
            decodeCache.dropPage(page)
        }
    }

    /// Whether no RAM, ROM or MMIO decodes any page of `[base, base+size)`
    /// (where a PCI memory BAR may go without shadowing anything).
    public func isUnmapped(base: UInt32, size: UInt32) -> Bool {
        let first = UInt64(base) >> 12, end = (UInt64(base) + UInt64(size) + 4095) >> 12
        guard end <= UInt64(PhysicalMemory.pageCount) else { return false }
        for p in first..<end where pageKind[Int(p)] != PageKind.unmapped.rawValue { return false }
        return true
    }

    /// Removes the MMIO pages of `[base, base+size)` that belong to
    /// `handler` (a PCI BAR moved or was disabled); they read as unmapped
    /// again. The CPU never caches MMIO pages in its TLB, so nothing to flush.
    public func unmapMMIO(base: UInt32, size: UInt32, handler: MMIOHandler) {
        guard let index = mmioHandlers.firstIndex(where: { $0 === handler }) else { return }
        for i in 0..<(size >> 12) {
            let page = (base >> 12) &+ i
            guard mmioByPage[page] == index else { continue }
            pageKind[Int(page)] = PageKind.unmapped.rawValue
            mmioByPage[page] = nil
        }
    }

    /// Restores RAM at a page previously covered by ROM or MMIO (e.g. when a
    /// chipset register re-routes the BIOS area to RAM).
    public func mapRAM(page: UInt32) {
        guard Int(page) < ramSize / 4096 else { return }
        pageKind[Int(page)] = PageKind.ram.rawValue
        romPages[page] = nil
        mmioByPage[page] = nil
        decodeCache.dropPage(page)
    }

    // MARK: - Lookup (slow path; the CPU caches the answers in its TLB)

    @inline(__always) func kind(ofPage page: UInt32) -> PageKind {
        PageKind(rawValue: pageKind[Int(page)]) ?? .unmapped
    }

    /// Host pointer to the start of a RAM or ROM page, nil otherwise.
    func hostPage(_ page: UInt32) -> UnsafeMutablePointer<UInt8>? {
        switch kind(ofPage: page) {
        case .ram: return ram + Int(page) * 4096
        case .rom: return romPages[page]
        default: return nil
        }
    }

    /// Whether `page` is plain RAM now (not shadowed by ROM or a device window).
    public func isRAM(page: UInt32) -> Bool { kind(ofPage: page) == .ram }

    func mmioHandler(forPage page: UInt32) -> MMIOHandler? {
        guard let i = mmioByPage[page] else { return nil }
        return mmioHandlers[i]
    }

    @inline(__always) func markDirty(page: UInt32) {
        let p = Int(page)
        dirtyBits[p >> 6] |= 1 << UInt64(p & 63)
    }

    /// A write to `count` bytes at `offset` of a RAM page, made without a
    /// TLB write pointer: the page is dirty, and decoded code it held is stale.
    @inline(__always) func noteWrite(page: UInt32, offset: UInt32, count: Int) {
        markDirty(page: page)
        if decodeCache.hasCode(page: page) { decodeCache.written(page: page, offset: Int(offset), count: count) }
    }

    /// For code that writes guest RAM through `ram` directly (state restore,
    /// a migration receiver filling pages): marks `page` dirty and drops what
    /// was decoded from it.
    public func contentsChanged(page: Int) {
        markDirty(page: UInt32(page))
        decodeCache.dropPage(UInt32(page))
    }

    public func isDirty(page: Int) -> Bool {
        dirtyBits[page >> 6] & (1 << UInt64(page & 63)) != 0
    }

    /// Clears the dirty set; the CPU drops its cached write pointers so the
    /// next write to any page marks it again.
    public func clearDirty() {
        dirtyBits.update(repeating: 0, count: dirtyWords)
        writeMappingsInvalidated?()
    }

    // MARK: - Physical access by value (devices, DMA, loaders)

    public func read8(_ a: UInt32) -> UInt8 {
        let page = a >> 12
        switch kind(ofPage: page) {
        case .ram: return ram[Int(a)]
        case .rom: return romPages[page]![Int(a & 0xFFF)]
        case .mmio: return UInt8(truncatingIfNeeded: mmioHandler(forPage: page)!.mmioRead(address: a, width: 1))
        case .unmapped: return 0xFF
        }
    }

    public func write8(_ a: UInt32, _ v: UInt8) {
        let page = a >> 12
        switch kind(ofPage: page) {
        case .ram:
            ram[Int(a)] = v
            noteWrite(page: page, offset: a & 0xFFF, count: 1)
        case .mmio: mmioHandler(forPage: page)!.mmioWrite(address: a, width: 1, value: UInt32(v))
        case .rom, .unmapped: break
        }
    }

    /// Reads `width` (1, 2 or 4) bytes little-endian; MMIO sees one access
    /// when the range stays inside its page.
    public func read(_ a: UInt32, width: Int) -> UInt32 {
        let page = a >> 12
        if (a & 0xFFF) <= UInt32(4096 - width) {
            switch kind(ofPage: page) {
            case .ram, .rom:
                let p = hostPage(page)! + Int(a & 0xFFF)
                var v: UInt32 = 0
                for i in 0..<width { v |= UInt32(p[i]) << (8 * UInt32(i)) }
                return v
            case .mmio: return mmioHandler(forPage: page)!.mmioRead(address: a, width: width)
            case .unmapped: return width == 4 ? 0xFFFF_FFFF : (1 << (8 * UInt32(width))) - 1
            }
        }
        var v: UInt32 = 0
        for i in 0..<width { v |= UInt32(read8(a &+ UInt32(i))) << (8 * UInt32(i)) }
        return v
    }

    public func write(_ a: UInt32, width: Int, value: UInt32) {
        let page = a >> 12
        if (a & 0xFFF) <= UInt32(4096 - width) {
            switch kind(ofPage: page) {
            case .mmio:
                mmioHandler(forPage: page)!.mmioWrite(address: a, width: width, value: value)
                return
            case .ram:
                for i in 0..<width { ram[Int(a) + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt32(i))) }
                noteWrite(page: page, offset: a & 0xFFF, count: width)
                return
            default:
                break
            }
        }
        for i in 0..<width { write8(a &+ UInt32(i), UInt8(truncatingIfNeeded: value >> (8 * UInt32(i)))) }
    }

    /// Copies bytes into RAM or ROM storage (loaders may write ROM contents;
    /// DMA writes RAM this way), page by page.
    public func write(_ bytes: [UInt8], at address: UInt32) {
        var i = 0
        while i < bytes.count {
            let a = address &+ UInt32(i)
            let page = a >> 12
            let n = min(bytes.count - i, 4096 - Int(a & 0xFFF))
            switch kind(ofPage: page) {
            case .ram:
                for k in 0..<n { ram[Int(a) + k] = bytes[i + k] }
                noteWrite(page: page, offset: a & 0xFFF, count: n)
            case .rom:
                let p = romPages[page]!
                for k in 0..<n { p[Int(a & 0xFFF) + k] = bytes[i + k] }
                if decodeCache.hasCode(page: page) { decodeCache.written(page: page, offset: Int(a & 0xFFF), count: n) }
            // DMA into a device window reaches the device, a byte at a time:
            // a demand-paged page fetches itself on the first byte and is RAM
            // for the rest, so the kind is looked at again for the next byte.
            case .mmio:
                mmioHandler(forPage: page)!.mmioWrite(address: a, width: 1, value: UInt32(bytes[i]))
                i += 1
                continue
            case .unmapped: break
            }
            i += n
        }
    }

    public func read(_ address: UInt32, count: Int) -> [UInt8] {
        (0..<count).map { read8(address &+ UInt32($0)) }
    }
}
