import Capsule
import Debugger

extension MachineCapsule {
    /// Resumes capsule `name` with each of its layered disks behind an undo
    /// journal, so reverse execution can go back across guest disk writes.
    /// Suspends still write the layered disks themselves.
    static func resumingJournaled(_ name: String, store: Store) throws -> (MachineCapsule, [JournaledDisk]) {
        var journaled: [JournaledDisk] = []
        let capsule = try MachineCapsule(resuming: name, store: store) { layered in
            let d = JournaledDisk(layered)
            journaled.append(d)
            return d
        }
        return (capsule, journaled)
    }
}
