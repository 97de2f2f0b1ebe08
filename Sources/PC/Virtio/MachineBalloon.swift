/// The balloon as the migrator and the CLI use it.
///
/// Typical migration: `setBalloonTarget(pages:)`, then
/// `runUntilBalloonSettles(budget:)` so the guest's driver inflates within a
/// virtual-time budget, then save with `balloonSkippablePages()` excluded
/// from the memory stream; after resume, `setBalloonTarget(pages: 0)`.
extension Machine {
    public static let balloonSlot = 2

    /// Sets the balloon's target size in 4 KiB pages (clamped to RAM).
    public func setBalloonTarget(pages: UInt32) throws {
        guard let balloon else { throw MachineError("this machine has no virtio-balloon device") }
        balloon.setTarget(pages: pages)
    }

    /// The target the host set, in pages (0 without a balloon).
    public var balloonTargetPages: UInt32 { balloon?.targetPages ?? 0 }

    /// Pages the guest's driver says the balloon holds (its `actual`).
    public var balloonActualPages: UInt32 { balloon?.actualPages ?? 0 }

    /// Whether a guest driver is running the balloon (DRIVER_OK set, device not broken).
    public var balloonDriverReady: Bool {
        guard let t = balloonPCI else { return false }
        return t.status & VirtioStatus.driverOK != 0 && !t.broken
    }

    /// The guest's latest memory statistics (virtio 1.x 5.5.6.3 tags:
    /// 4 free, 5 total, 6 available, 7 caches; bytes), from the stats queue.
    public var balloonStats: [UInt16: UInt64] { balloon?.stats ?? [:] }

    /// Asks the guest's driver for fresh statistics; they arrive when the
    /// guest runs.
    public func requestBalloonStats() { balloon?.requestStats() }

    /// Frames inflated into the balloon, ascending.
    public var balloonInflatedPages: [UInt32] { balloon?.inflated.pages ?? [] }

    /// Frames reported free by free page reporting, ascending. The guest
    /// may reuse a reported page without telling the device.
    public var balloonReportedPages: [UInt32] { balloon?.reported.pages ?? [] }

    /// RAM pages a migration need not send: inflated or reported pages
    /// whose contents are zero right now (a reported page the guest has
    /// since reused and written is not skipped; a zero page costs nothing
    /// to leave out, since the receiver's RAM starts zero). Ascending.
    public func balloonSkippablePages() -> [UInt32] {
        guard let b = balloon, let t = balloonPCI else { return [] }
        var out: [UInt32] = []
        let inf = b.inflated.pages, rep = b.reported.pages
        var i = 0, j = 0
        while i < inf.count || j < rep.count {
            let p: UInt32
            if j >= rep.count || (i < inf.count && inf[i] < rep[j]) { p = inf[i]; i += 1 }
            else if i >= inf.count || rep[j] < inf[i] { p = rep[j]; j += 1 }
            else { p = inf[i]; i += 1; j += 1 }
            if t.guestMemory.pageIsZero(p) { out.append(p) }
        }
        return out
    }

    /// How a wait for the balloon ended.
    public enum BalloonWait: Equatable {
        /// `actual` equals the target.
        case reached
        /// The virtual-time budget ran out first (the guest may still be working).
        case budgetExhausted
        /// The machine stopped for another reason (halt, breakpoint, host stop…).
        case stopped(StopReason)
    }

    /// Runs the guest until its driver reports the balloon at the target,
    /// or `budget` nanoseconds of virtual time (instructions plus halted
    /// time) pass. Checks between slices of at most `slice` instructions.
    public func runUntilBalloonSettles(budget: UInt64, slice: UInt64 = 10_000_000) throws -> BalloonWait {
        guard let balloon else { throw MachineError("this machine has no virtio-balloon device") }
        let start = scheduler.now
        while true {
            if balloon.actualPages == balloon.targetPages { return .reached }
            let used = scheduler.now &- start
            if used >= budget { return .budgetExhausted }
            let reason = run(instructions: min(slice, budget - used))
            if reason != .instructionLimit { return .stopped(reason) }
        }
    }
}
