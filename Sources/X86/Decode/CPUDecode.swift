/// Decoding at CS:EIP through the CPU's fetch window, for the decode cache
/// and the debugger: the bytes come from the same place, with the same
/// faults, as the executor's own fetches.
extension CPU {
    /// Decodes the instruction at CS:EIP into `d` without executing it;
    /// EIP is unchanged. When the instruction lies inside the current fetch
    /// window (the part of the code page inside the CS limit) this is one
    /// call to the decoder on the page's host memory. Otherwise (a page
    /// crossing, the CS limit, 16-bit IP wrap) the bytes the decoder asks
    /// for are fetched one by one through `fetch8`, so a #PF or #GP is
    /// raised for the first byte of the instruction that cannot be fetched.
    public func decodeAtEIP(_ decoder: InstructionDecoder, into d: inout DecodedInstruction) throws(CPUFault) -> DecodeResult {
        let off = eip &- fetchBase
        var target = 1
        if off < fetchLen {
            let r = decoder.decode(fetchHost + Int(off), count: Int(fetchLen &- off), code32: codeBig, into: &d)
            guard case .needBytes(let n) = r else { return r }
            target = n
        }
        let save = eip
        defer { eip = save }
        var lo: UInt64 = 0, hi: UInt64 = 0
        var have = 0
        while true {
            while have < target {
                let b = UInt64(try fetch8())
                if have < 8 { lo |= b << UInt64(have * 8) } else { hi |= b << UInt64((have - 8) * 8) }
                have += 1
            }
            var bytes = (lo.littleEndian, hi.littleEndian)
            let code32 = codeBig
            let count = have
            let r = withUnsafeBytes(of: &bytes) { raw in
                decoder.decode(raw.baseAddress.unsafelyUnwrapped.assumingMemoryBound(to: UInt8.self),
                               count: count, code32: code32, into: &d)
            }
            guard case .needBytes(let n) = r else { return r }
            target = n
        }
    }
}
