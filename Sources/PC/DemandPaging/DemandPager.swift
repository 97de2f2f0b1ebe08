import X86

/// Demand paging on the receiving side of a migration: guest RAM pages
/// whose contents have not arrived yet are *absent*. An absent page is
/// decoded as an MMIO page owned by the pager, so the CPU's TLB never
/// caches it and every first touch — an instruction fetch, a load or store
/// through the CPU's slow path, or device DMA through `PhysicalMemory` —
/// lands here. The pager asks the resolver for the page (blocking: the
/// migration layer fetches it with priority over the background stream),
/// writes it into RAM, maps the page back as plain RAM, and completes the
/// access. Later accesses take the normal fast path.
///
/// The resolver is expected to return only when it has the page (waiting
/// for a lost sender to come back is its job, the guest simply does not
/// advance meanwhile). If it throws or returns a wrong-sized page the
/// pager cannot complete the access honestly: it records the failure,
/// asks the CPU to stop, and the machine must not be saved (its state is
/// no longer the sender's); `MachineCapsule.save` refuses it.
///
/// Not thread-safe: call `markAbsent`/`supply` between `Machine.run`
/// slices (e.g. from `onSliceBoundary`) or from inside the resolver.
public final class DemandPager: MMIOHandler {
    /// Fetches one page's 4096 bytes; blocking.
    public typealias Resolver = (_ page: UInt32) throws -> [UInt8]

    let memory: PhysicalMemory
    let cpu: CPU
    public var resolver: Resolver?
    /// Called after a page became present through a touch (frame, and
    /// whether it was the CPU or DMA is not distinguished).
    public var onResolved: ((UInt32) -> Void)?
    public private(set) var absent: GuestPageSet
    /// Pages fetched because the guest touched them.
    public private(set) var resolvedOnDemand: UInt64 = 0
    /// Why the last resolution failed (nil while everything is well).
    public private(set) var failure: String?

    init(memory: PhysicalMemory, cpu: CPU) {
        self.memory = memory
        self.cpu = cpu
        absent = GuestPageSet(pageCount: memory.ramSize >> 12)
    }

    /// Marks RAM pages absent (their contents will arrive later). Pages
    /// that are not plain RAM now (ROM shadow, a device window, already
    /// absent) are skipped; returns how many were marked. Their RAM bytes
    /// are zeroed so nothing stale can leak through a raw read.
    @discardableResult
    public func markAbsent(_ pages: [UInt32]) -> Int {
        var n = 0
        for p in pages where Int(p) < absent.pageCount && memory.isRAM(page: p) {
            (memory.ram + Int(p) << 12).initialize(repeating: 0, count: 4096)
            memory.mapMMIO(base: p << 12, size: 4096, handler: self)
            absent.insert(p)
            n += 1
        }
        // The CPU may hold translations to these pages from before.
        if n > 0 { cpu.flushTranslations() }
        return n
    }

    /// Delivers a page from the background stream. Ignored (returns false)
    /// when the page is no longer absent: the guest may have written it
    /// since it was fetched on demand, and those writes win.
    @discardableResult
    public func supply(page: UInt32, contents: [UInt8]) throws -> Bool {
        guard absent.contains(page) else { return false }
        guard contents.count == 4096 else {
            throw MachineError("demand paging: page 0x\(String(page, radix: 16)) arrived with \(contents.count) bytes, expected 4096")
        }
        install(page, contents)
        return true
    }

    private func install(_ page: UInt32, _ contents: [UInt8]) {
        contents.withUnsafeBufferPointer { (memory.ram + Int(page) << 12).update(from: $0.baseAddress!, count: 4096) }
        memory.unmapMMIO(base: page << 12, size: 4096, handler: self)
        memory.mapRAM(page: page)
        absent.remove(page)
    }

    /// Makes `page` present by asking the resolver; false if that failed.
    func resolve(_ page: UInt32) -> Bool {
        guard absent.contains(page) else { return true }
        guard failure == nil else { return false }
        do {
            guard let resolver else { throw MachineError("no resolver is installed") }
            let bytes = try resolver(page)
            guard bytes.count == 4096 else { throw MachineError("the resolver returned \(bytes.count) bytes") }
            install(page, bytes)
            resolvedOnDemand += 1
            onResolved?(page)
            return true
        } catch {
            failure = "demand paging: page 0x\(String(page, radix: 16)) could not be fetched: \(error)"
            cpu.requestStop()
            return false
        }
    }

    public func mmioRead(address: UInt32, width: Int) -> UInt32 {
        guard resolve(address >> 12) else { return width == 4 ? 0xFFFF_FFFF : (1 << (8 * UInt32(width))) - 1 }
        return memory.read(address, width: width)
    }

    public func mmioWrite(address: UInt32, width: Int, value: UInt32) {
        guard resolve(address >> 12) else { return }
        memory.write(address, width: width, value: value)
    }
}
