import Foundation

/// `--realtime`: keeps virtual time from running ahead of the wall clock by
/// sleeping at slice boundaries. It only slows the host down; the machine's
/// own notion of time stays the instruction-derived virtual clock.
final class RealtimePacer {
    private let startVirtual: UInt64
    private let startWall = DispatchTime.now().uptimeNanoseconds

    init(startVirtual: UInt64) { self.startVirtual = startVirtual }

    func pace(virtualNanoseconds now: UInt64) {
        let virtualElapsed = now &- startVirtual
        let wallElapsed = DispatchTime.now().uptimeNanoseconds - startWall
        guard virtualElapsed > wallElapsed else { return }
        let ahead = min(virtualElapsed - wallElapsed, 50_000_000)
        if ahead > 500_000 { usleep(UInt32(ahead / 1000)) }
    }
}
