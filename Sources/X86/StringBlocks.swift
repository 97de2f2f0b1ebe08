/// REP MOVS and REP STOS in blocks: iterations whose source and destination
/// stay inside pages the TLB maps directly are done in one host loop instead
/// of one trip each through the segment check, the TLB and the REP loop.
///
/// Nothing a guest can see changes. Each element is still read and written
/// in order (so overlapping MOVS replicates exactly as one by one), every
/// iteration still counts one instruction and one slot of the slice, and a
/// block never passes a point where the one-by-one loop could have stopped:
/// the slice end is a bound, and an interrupt or stop request that is
/// already pending leaves the work to that loop. Nothing else can happen in
/// between — a TLB hit touches only RAM that holds no decoded code and no
/// watched address (such pages get no TLB entries), and raises no fault.
extension CPU {
    /// Does iterations of REP MOVS (A4/A5) or REP STOS (AA/AB) with 32-bit
    /// addresses and DF = 0, starting with one the REP loop has already
    /// counted. Returns how many were done; 0 means none, and the one-by-one
    /// path takes the iteration (it raises whatever fault is due).
    @inline(__always) func repBlock(_ op: UInt8, _ size: Int, _ src: Int) -> UInt32 {
        if (intrLine && flagBits & EFlags.if != 0) || stopRequested || sliceRemaining < 0 { return 0 }
        let movs = op <= 0xA5
        let w = UInt32(size)
        // Iterations allowed: what ECX asks for, and the slice.
        var n = min(regs[1], UInt32(clamping: sliceRemaining) &+ 1)
        guard let dst = blockPointer(CPU.segES, regs[7], w, &n, write: true) else { return 0 }
        if movs {
            guard let from = blockPointer(src, regs[6], w, &n, write: false) else { return 0 }
            switch size {
            case 1: for i in 0..<Int(n) { dst[i] = from[i] }
            case 2: copyElements(UInt16.self, from, dst, Int(n))
            default: copyElements(UInt32.self, from, dst, Int(n))
            }
            regs[6] &+= n &* w
        } else {
            switch size {
            case 1: for i in 0..<Int(n) { dst[i] = reg8(0) }
            case 2: fillElements(UInt16(truncatingIfNeeded: regs[0]), dst, Int(n))
            default: fillElements(regs[0], dst, Int(n))
            }
        }
        regs[7] &+= n &* w
        regs[1] &-= n
        // The first iteration was counted by the REP loop; the others are
        // instructions for the clock like any REP iteration.
        sliceRemaining -= Int(n) - 1
        instructionCount &+= UInt64(n) - 1
        return n
    }

    /// Host address of `seg:off` when the next `n` elements of `w` bytes
    /// pass the segment check and lie in one directly mapped page; `n` is
    /// cut down to what the page holds. Nil when even one does not fit.
    @inline(__always) func blockPointer(_ seg: Int, _ off: UInt32, _ w: UInt32, _ n: inout UInt32,
                                        write: Bool) -> UnsafeMutablePointer<UInt8>? {
        let s = segs + seg
        let low = write ? s.pointee.lowWrite : s.pointee.lowRead
        let high = write ? s.pointee.highWrite : s.pointee.highRead
        if off < low || off > high { return nil }
        // Elements that end at or below the limit (so none wraps at 4 GiB).
        n = UInt32(min(UInt64(n), (UInt64(high) - UInt64(off) + 1) / UInt64(w)))
        let lin = s.pointee.base &+ off
        n = min(n, (4096 - (lin & 0xFFF)) / w)
        if n == 0 { return nil }
        let i = tlbUserOffset + (write ? CPU.tlbWrite : 0) + tlbIndex(lin)
        if tlbTag[i] != lin & 0xFFFF_F000 { return nil }
        return tlbHost[i].unsafelyUnwrapped.assumingMemoryBound(to: UInt8.self) + Int(lin & 0xFFF)
    }

    @inline(__always) func copyElements<T: FixedWidthInteger>(_: T.Type, _ from: UnsafeMutablePointer<UInt8>,
                                                             _ to: UnsafeMutablePointer<UInt8>, _ n: Int) {
        let size = MemoryLayout<T>.size
        for i in 0..<n {
            let v = UnsafeRawPointer(from + i * size).loadUnaligned(as: T.self)
            UnsafeMutableRawPointer(to + i * size).storeBytes(of: v, as: T.self)
        }
    }

    @inline(__always) func fillElements<T: FixedWidthInteger>(_ v: T, _ to: UnsafeMutablePointer<UInt8>, _ n: Int) {
        let size = MemoryLayout<T>.size
        for i in 0..<n { UnsafeMutableRawPointer(to + i * size).storeBytes(of: v, as: T.self) }
    }
}
