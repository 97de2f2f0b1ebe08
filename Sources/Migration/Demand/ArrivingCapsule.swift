import Capsule
import Foundation
import PC
import X86

/// A capsule resumed on the receiver while its transfer is still running
/// (`--demand`): the guest runs on the state and manifest alone. RAM
/// pages whose blocks are not in the store yet are absent (the machine's
/// `DemandPager` traps the first touch); disk blocks not in the store are
/// fetched by the layered disk's resolver. Either way the fetch goes to
/// `DemandRequests`, which asks the sender for that block ahead of the
/// background stream and waits for it.
///
/// While the sender is unreachable the guest simply does not advance:
/// the fetch waits (reporting once through `onPause`) until the
/// connection is back, or until `shouldAbandon` says the user gave up or
/// the transfer failed for good; only then the pager records a failure,
/// the machine stops, and the capsule refuses to be saved — a machine
/// with holes in its RAM is never written anywhere.
///
/// Call `betweenSlices()` between run slices (it installs pages that
/// arrived in the background, and the rest once the transfer committed), and
/// `waitUntilWhole()` before the machine is saved or hashed.
public final class ArrivingCapsule {
    public let capsule: MachineCapsule
    public let demand: DemandRequests
    /// Called once per pause with a line for the user, and with nil when the guest continues.
    public var onPause: ((String?) -> Void)? {
        get { fetcher.onPause }
        set { fetcher.onPause = newValue }
    }
    /// Polled while the guest waits for a block: true ends the wait with an error.
    public var shouldAbandon: () -> Bool {
        get { fetcher.shouldAbandon }
        set { fetcher.shouldAbandon = newValue }
    }
    var machine: Machine { capsule.machine }
    let fetcher: Fetcher
    /// The absent pages, by the block that holds their contents.
    var pagesOf: [BlockName: [UInt32]] = [:]
    /// `finish` has run: the guest no longer depends on the sender.
    public private(set) var isFinished = false

    /// Waits for blocks on behalf of the guest, pausing it politely.
    final class Fetcher {
        let demand: DemandRequests
        var onPause: ((String?) -> Void)?
        var shouldAbandon: () -> Bool = { false }

        init(_ d: DemandRequests) { demand = d }

        func block(_ name: BlockName) throws -> [UInt8] {
            var paused = false
            defer { if paused { onPause?(nil) } }
            while true {
                do {
                    return try demand.fetch(name, timeout: 2)
                } catch {
                    if case .never = error { throw error }
                    if shouldAbandon() { throw DemandRequests.Unavailable.never("abandoned while waiting for the sender: \(error)") }
                    if !paused {
                        paused = true
                        onPause?("guest paused: \(error); it continues when the sender is back (Ctrl-A x gives up)")
                    }
                }
            }
        }
    }

    /// Resumes `runnable` on what `store` holds now.
    public init(_ runnable: DemandRequests.Runnable, store: Store, demand: DemandRequests) throws {
        self.demand = demand
        let fetcher = Fetcher(demand)
        self.fetcher = fetcher
        let container: StateContainer
        do { container = try StateContainer.decode(runnable.state) } catch { throw CapsuleError.part("arriving capsule \(runnable.manifest.name): state", error as? CapsuleError ?? .other("\(error)")) }
        let loaded = Store.Loaded(manifest: runnable.manifest, manifestHash: runnable.manifestHash, manifestBytes: runnable.manifestBytes,
                                  state: container, inputLog: runnable.inputLog)
        var absent: [UInt32: BlockName] = [:]
        capsule = try MachineCapsule(loaded: loaded, store: store, memory: { m, machine in
            let ram = UnsafeMutableRawBufferPointer(start: machine.memory.ram, count: machine.memory.ramSize)
            guard ram.count == m.memory.pageCount * BlockName.blockSize else {
                throw CapsuleError.badManifest("memory is \(m.memory.pageCount) pages, the machine has \(ram.count / BlockName.blockSize)")
            }
            ram.initializeMemory(as: UInt8.self, repeating: 0)
            for (i, n) in m.memory.pages {
                let page = UnsafeMutableRawBufferPointer(rebasing: ram[(Int(i) * BlockName.blockSize)..<((Int(i) + 1) * BlockName.blockSize)])
                if store.blocks.has(n), (try? store.blocks.read(n, into: page)) != nil { continue }
                absent[UInt32(i)] = n
            }
        }, prepareDisk: { disk in
            disk.missingBlockResolver = { try fetcher.block($0) }
        })
        let pager = capsule.machine.enableDemandPaging { [m = runnable.manifest] page in
            guard let n = m.memory.pages[UInt64(page)] else { return [UInt8](repeating: 0, count: BlockName.blockSize) }
            return try fetcher.block(n)
        }
        // Restoring the devices has set up the memory map; only now are the
        // absent pages mapped to the pager. A page that is not plain RAM at
        // the moment (under a ROM shadow, say) cannot trap: fetch it now.
        var trap: [UInt32] = []
        for (p, n) in absent.sorted(by: { $0.key < $1.key }) {
            if capsule.machine.memory.isRAM(page: p) {
                trap.append(p)
                pagesOf[n, default: []].append(p)
            } else {
                let bytes = try fetcher.block(n)
                bytes.withUnsafeBufferPointer { (capsule.machine.memory.ram + Int(p) << 12).update(from: $0.baseAddress!, count: 4096) }
            }
        }
        pager.markAbsent(trap)
        demand.watch(Set(pagesOf.keys))
        capsule.notSavableYet = { [demand] in demand.committed ? nil : "it is still arriving (the transfer has not committed)" }
    }

    /// Between run slices: installs the pages that arrived in the background;
    /// once the transfer committed, finishes. True when this call finished.
    public func betweenSlices() throws -> Bool {
        guard !isFinished else { return false }
        pump()
        guard demand.committed else { return false }
        try finish()
        return true
    }

    /// Blocks until the transfer committed and finishes; throws why it never will.
    public func waitUntilWhole() throws {
        guard !isFinished else { return }
        if let why = demand.waitCommitted() { throw CapsuleError.other("the transfer failed (\(why))") }
        try finish()
    }

    /// Installs the pages that arrived in the background since the last call.
    func pump() {
        guard let pager = machine.demandPager else { return }
        for (name, bytes) in demand.takeArrivals() {
            guard let pages = pagesOf.removeValue(forKey: name) else { continue }
            for p in pages { _ = try? pager.supply(page: p, contents: bytes) }
        }
    }

    /// After the transfer committed: every page still absent is read from
    /// the store (where the commit guaranteed it is), the disks stop
    /// asking. From here on the capsule no longer needs the sender. Once.
    func finish() throws {
        guard !isFinished else { return }
        guard demand.committed else { throw CapsuleError.other("capsule \(capsule.name): the transfer has not committed") }
        pump()
        if let pager = machine.demandPager {
            for (name, pages) in pagesOf {
                let bytes = try capsule.store.blocks.get(name)
                for p in pages { try pager.supply(page: p, contents: bytes) }
            }
        }
        pagesOf.removeAll()
        for (_, d) in capsule.disks { d.missingBlockResolver = nil }
        isFinished = true
    }
}
