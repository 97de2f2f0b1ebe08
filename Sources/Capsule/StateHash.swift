import Foundation
import PC
import X86

/// One SHA-256 over the complete state of a machine: processor, devices,
/// clock, input log, every byte of RAM and every sector of every attached
/// disk. Two runs that compute the same thing give the same hash; this is
/// how suspend/resume and migration are tested for exactness.
public enum StateHash {
    public static func of(_ machine: Machine) throws -> BlockName {
        let h = SHA256.Hasher()
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        h.update([UInt8](try encoder.encode(machine.saveState())))
        h.update(UnsafeRawBufferPointer(start: machine.memory.ram, count: machine.memory.ramSize))
        var buf = [UInt8](repeating: 0, count: 512 * 256)
        for disk in machine.media {
            var sector: UInt64 = 0
            while sector < disk.sectorCount {
                let n = Int(min(256, disk.sectorCount - sector))
                try buf.withUnsafeMutableBytes { try disk.read(sector: sector, count: n, into: UnsafeMutableRawBufferPointer(rebasing: $0[0..<(n * 512)])) }
                buf.withUnsafeBytes { h.update(UnsafeRawBufferPointer(rebasing: $0[0..<(n * 512)])) }
                sector += UInt64(n)
            }
        }
        return h.finish()
    }
}
