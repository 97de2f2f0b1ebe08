/// A segment register's visible selector and hidden descriptor cache.
///
/// Besides the architectural base/limit/attributes, it keeps the range of
/// offsets that pass the limit check for reads and for writes, so a memory
/// access checks its segment with two compares whatever the segment's kind
/// (expand-up, expand-down, read-only, execute-only, unusable).
public struct Segment: Equatable {
    public var selector: UInt16 = 0
    public var base: UInt32 = 0
    /// Effective byte limit (granularity applied).
    public var limit: UInt32 = 0xFFFF
    public var attributes = DescriptorAttributes(raw: 0x0093)

    /// Offsets that pass the limit and type checks: an access of n bytes at
    /// `off` is valid for reading when `lowRead <= off` and
    /// `off + n - 1 <= highRead` (likewise for writing). A forbidden kind of
    /// access has low = 1, high = 0, which no access satisfies.
    var lowRead: UInt32 = 0
    var highRead: UInt32 = 0xFFFF
    var lowWrite: UInt32 = 0
    var highWrite: UInt32 = 0xFFFF

    public init() {}

    /// Real-mode and V86 segment: base = selector × 16, 64 KiB, read/write.
    static func realMode(selector: UInt16) -> Segment {
        var s = Segment()
        s.selector = selector
        s.base = UInt32(selector) << 4
        s.limit = 0xFFFF
        s.attributes = DescriptorAttributes(raw: 0x0093)
        s.recomputeValidity()
        return s
    }

    static func systemReset(type: UInt16) -> Segment {
        var s = Segment()
        s.attributes = DescriptorAttributes(raw: 0x0080 | type)
        s.recomputeValidity()
        return s
    }

    /// A null selector in protected mode: any access faults.
    static func unusable(selector: UInt16) -> Segment {
        var s = Segment()
        s.selector = selector
        s.base = 0
        s.limit = 0
        s.attributes = DescriptorAttributes(raw: 0)
        s.recomputeValidity()
        return s
    }

    mutating func recomputeValidity() {
        let a = attributes
        lowRead = 1; highRead = 0; lowWrite = 1; highWrite = 0
        guard a.present, a.isCodeOrData else { return }
        if a.isCode {
            if a.readable { lowRead = 0; highRead = limit }
            return
        }
        var low: UInt32 = 0
        var high = limit
        if a.expandDown {
            low = limit &+ 1
            high = a.big ? 0xFFFF_FFFF : 0xFFFF
        }
        lowRead = low; highRead = high
        if a.writable { lowWrite = low; highWrite = high }
    }

    /// Real-mode semantics keep the cached limit and attributes but every
    /// segment is readable and writable (SDM 20.1.1).
    mutating func makeRealModeAccessible() {
        lowRead = 0; highRead = limit; lowWrite = 0; highWrite = limit
    }
}

/// The access-rights bits of a descriptor: bits 40–47 in the low byte
/// (type, S, DPL, P) and bits 52–55 in bits 12–15 (AVL, L, D/B, G).
public struct DescriptorAttributes: Equatable {
    public var raw: UInt16

    public init(raw: UInt16) { self.raw = raw }

    var type: UInt16 { raw & 0xF }
    /// S bit: code/data (true) or system descriptor.
    var isCodeOrData: Bool { raw & 0x10 != 0 }
    public var dpl: UInt16 { (raw >> 5) & 3 }
    var present: Bool { raw & 0x80 != 0 }
    var big: Bool { raw & 0x4000 != 0 }
    var granular: Bool { raw & 0x8000 != 0 }
    var isCode: Bool { isCodeOrData && raw & 0x8 != 0 }
    var isData: Bool { isCodeOrData && raw & 0x8 == 0 }
    var conforming: Bool { isCode && raw & 0x4 != 0 }
    var readable: Bool { isCode ? raw & 0x2 != 0 : true }
    var writable: Bool { isData && raw & 0x2 != 0 }
    var expandDown: Bool { isData && raw & 0x4 != 0 }
}

/// An 8-byte descriptor as read from the GDT, LDT or IDT.
struct Descriptor {
    var low: UInt32
    var high: UInt32

    var base: UInt32 { (low >> 16) | ((high & 0xFF) << 16) | (high & 0xFF00_0000) }
    var rawLimit: UInt32 { (low & 0xFFFF) | (high & 0x000F_0000) }
    var attributes: DescriptorAttributes { DescriptorAttributes(raw: UInt16((high >> 8) & 0xF0FF)) }
    var limit: UInt32 {
        attributes.granular ? (rawLimit << 12) | 0xFFF : rawLimit
    }
    var present: Bool { high & 0x8000 != 0 }
    var dpl: Int { Int((high >> 13) & 3) }
    var systemType: UInt32 { (high >> 8) & 0x1F }

    // Gate fields.
    var gateSelector: UInt16 { UInt16(truncatingIfNeeded: low >> 16) }
    var gateOffset: UInt32 { (low & 0xFFFF) | (high & 0xFFFF_0000) }
    var gateParamCount: Int { Int(high & 0x1F) }

    func segment(selector: UInt16) -> Segment {
        var s = Segment()
        s.selector = selector
        s.base = base
        s.limit = limit
        s.attributes = attributes
        s.recomputeValidity()
        return s
    }
}
