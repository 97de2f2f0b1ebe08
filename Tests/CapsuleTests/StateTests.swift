@testable import Capsule
import XCTest

/// A component as an older build knew it (version 1: a counter).
struct TimerV1: Stateful {
    static let stateTag = "timer"
    static let stateVersion = 1
    var count: UInt32 = 0
    func saveState(into w: inout StateWriter) { w.write(count) }
    mutating func loadState(from r: inout StateReader, version: Int) throws { count = try r.readU32() }
}

/// The same component today: version 2 adds a mode byte; an optional
/// "latch" sub-section carries state older builds may ignore.
struct TimerV2: Stateful {
    static let stateTag = "timer"
    static let stateVersion = 2
    var count: UInt32 = 0
    var mode: UInt8 = 3
    var latch: UInt16? = nil
    func saveState(into w: inout StateWriter) {
        w.write(count)
        w.write(mode)
        if let l = latch { w.subsection("latch", optional: true) { $0.write(l) } }
    }
    mutating func loadState(from r: inout StateReader, version: Int) throws {
        count = try r.readU32()
        mode = version >= 2 ? try r.readU8() : 3  // version 1 had no mode: the default
        if var s = try r.subsection("latch") { latch = try s.readU16(); try s.finish() }
    }
}

final class Device: Stateful {
    static let stateTag = "dev"
    static let stateVersion = 1
    var regs: [UInt32] = [1, 2, 3]
    var name = "uart"
    func saveState(into w: inout StateWriter) { w.write(regs); w.write(name) }
    func loadState(from r: inout StateReader, version: Int) throws { regs = try r.readU32Array(); name = try r.readString() }
}

final class StateTests: XCTestCase {
    func testAllValueTypesRoundTrip() throws {
        var w = StateWriter()
        w.write(UInt8(0xAB)); w.write(UInt16(0xBEEF)); w.write(UInt32(0xDEADBEEF)); w.write(UInt64.max)
        w.write(Int8(-5)); w.write(Int16(-300)); w.write(Int32.min); w.write(Int64(-1)); w.write(-42)
        w.write(true); w.write(Double.pi); w.write(Double.nan)
        w.write(bytes: [1, 2, 3]); w.write("héllo"); w.write([UInt16(1), 2]); w.write([UInt32(7)]); w.write([UInt64(9), 10])
        w.subsection("sub", version: 3) { $0.write(UInt8(1)) }
        let s = w.section(tag: "all", version: 1)
        var r = StateReader(s)
        XCTAssertEqual(try r.readU8(), 0xAB); XCTAssertEqual(try r.readU16(), 0xBEEF)
        XCTAssertEqual(try r.readU32(), 0xDEADBEEF); XCTAssertEqual(try r.readU64(), .max)
        XCTAssertEqual(try r.readI8(), -5); XCTAssertEqual(try r.readI16(), -300)
        XCTAssertEqual(try r.readI32(), .min); XCTAssertEqual(try r.readI64(), -1); XCTAssertEqual(try r.readInt(), -42)
        XCTAssertEqual(try r.readBool(), true); XCTAssertEqual(try r.readDouble(), .pi)
        XCTAssertEqual(try r.readDouble().bitPattern, Double.nan.bitPattern)
        XCTAssertEqual(try r.readBytes(), [1, 2, 3]); XCTAssertEqual(try r.readString(), "héllo")
        XCTAssertEqual(try r.readU16Array(), [1, 2]); XCTAssertEqual(try r.readU32Array(), [7]); XCTAssertEqual(try r.readU64Array(), [9, 10])
        var sub = try XCTUnwrap(try r.subsection("sub", maxVersion: 3))
        XCTAssertEqual(try sub.readU8(), 1)
        try sub.finish()
        try r.finish()
        // and through the encoding
        var o = 0
        let e = s.encoded()
        XCTAssertEqual(try StateSection.decode(e, offset: &o, end: e.count, path: ""), s)
    }

    func testDictionaryAndJSONValues() throws {
        struct Regs: Codable, Equatable { var a: UInt8; var b: [UInt16] }
        var w = StateWriter()
        w.write(["master.imr": 0xFF, "slave.irr": 4, "élan": .max])
        try w.write(json: Regs(a: 1, b: [2, 3]))
        var r = StateReader(w.section(tag: "pic", version: 1))
        XCTAssertEqual(try r.readDictionary(), ["master.imr": 0xFF, "slave.irr": 4, "élan": .max])
        XCTAssertEqual(try r.readJSON(Regs.self), Regs(a: 1, b: [2, 3]))
        try r.finish()
        var w2 = StateWriter()
        w2.write("{\"a\": 1}")
        var r2 = StateReader(w2.section(tag: "ide", version: 1))
        XCTAssertThrowsMessage(try r2.readJSON(Regs.self), "section 'ide'", "does not decode as Regs")
    }

    func testTypeMismatchIsAnError() {
        var w = StateWriter()
        w.write(UInt16(5))
        var r = StateReader(w.section(tag: "cpu", version: 1))
        XCTAssertThrowsMessage(try r.readU32(), "section 'cpu'", "expected u32 at offset 0, found u16")
    }

    func testUnreadBytesAreAnError() throws {
        var w = StateWriter()
        w.write(UInt8(1)); w.write(UInt8(2))
        var r = StateReader(w.section(tag: "pic", version: 1))
        _ = try r.readU8()
        XCTAssertThrowsMessage(try r.finish(), "section 'pic'", "bytes left unread")
    }

    func testOlderVersionLoads() throws {
        let old = TimerV1(count: 77).stateSection()
        var now = TimerV2()
        now.mode = 0
        try now.restore(from: old)
        XCTAssertEqual(now.count, 77)
        XCTAssertEqual(now.mode, 3, "the component decides the defaults for a version-1 section")
    }

    func testNewerVersionFailsWithMessage() {
        let new = TimerV2(count: 1, mode: 2).stateSection()
        var old = TimerV1()
        XCTAssertThrowsError(try old.restore(from: new)) { e in
            XCTAssertEqual("\(e)", "section timer version 2 is newer than this build understands (max 1)")
        }
    }

    func testUnknownOptionalSubsectionIsSkipped() throws {
        // a future build adds an optional "turbo" sub-section to timer version 2
        var w = StateWriter()
        TimerV2(count: 5, mode: 1, latch: 9).saveState(into: &w)
        w.subsection("turbo", version: 4, optional: true) { $0.write(UInt64(1)) }
        var t = TimerV2()
        try t.restore(from: w.section(tag: "timer", version: 2))
        XCTAssertEqual(t.count, 5); XCTAssertEqual(t.latch, 9)
    }

    func testUnknownRequiredSubsectionFails() {
        var w = StateWriter()
        TimerV2(count: 5).saveState(into: &w)
        w.subsection("turbo", version: 1, optional: false) { $0.write(UInt64(1)) }
        var t = TimerV2()
        XCTAssertThrowsMessage(try t.restore(from: w.section(tag: "timer", version: 2)), "unknown required sub-section 'turbo'")
    }

    func testNewerSubsectionVersionFails() {
        var w = StateWriter()
        TimerV2(count: 5).saveState(into: &w)
        w.subsection("latch", version: 2, optional: true) { $0.write(UInt16(1)) }
        var t = TimerV2()
        XCTAssertThrowsMessage(try t.restore(from: w.section(tag: "timer", version: 2)),
                               "sub-section 'latch' version 2 is newer than this build understands (max 1)")
    }

    func testContainerRoundTripAndRestoreRules() throws {
        var c = StateContainer()
        c.save(TimerV2(count: 3, mode: 1, latch: 4))
        let d = Device(); d.regs = [9, 8]; d.name = "com1"
        c.save(d, id: "uart0")
        c.add(StateSection(tag: "future-optional", version: 1, optional: true, payload: [1, 2]))
        let bytes = c.encoded()
        let back = try StateContainer.decode(bytes)
        XCTAssertEqual(back, c)
        let r = back.restorer()
        var t = TimerV2()
        try r.restore(&t)
        let d2 = Device()
        try r.restore(d2, id: "uart0")
        XCTAssertEqual(t.latch, 4); XCTAssertEqual(d2.regs, [9, 8]); XCTAssertEqual(d2.name, "com1")
        try r.finish()  // the unknown optional section is skipped

        var c2 = c
        c2.add(StateSection(tag: "gpu", version: 7, payload: [1]))
        let r2 = try StateContainer.decode(c2.encoded()).restorer()
        try r2.restore(&t)
        try r2.restore(d2, id: "uart0")
        XCTAssertThrowsMessage(try r2.finish(), "unknown required section gpu (version 7)")
        XCTAssertThrowsMessage(try r2.restore(Device(), id: "uart9"), "section uart9 is missing")
    }

    func containerForCorruption() -> StateContainer {
        var c = StateContainer()
        c.save(TimerV2(count: 3, mode: 1, latch: 4))
        let d = Device()
        d.regs = Array(repeating: 0x1234_5678, count: 50)
        c.save(d)
        return c
    }

    func testEveryDamagedByteIsReported() throws {
        let bytes = containerForCorruption().encoded()
        for i in 0..<bytes.count {
            var b = bytes
            b[i] ^= 0x01
            XCTAssertThrowsError(try StateContainer.decode(b), "flip at \(i)") { e in
                XCTAssertTrue("\(e)".hasPrefix("state.bin: "), "\(e)")
            }
        }
    }

    func testDamageInsideASectionNamesIt() throws {
        let c = containerForCorruption()
        let bytes = c.encoded()
        let body = c.section("dev")!.encoded()
        let at = try XCTUnwrap(findSubarray(bytes, body))
        var b = bytes
        b[at + body.count / 2] ^= 0xFF
        XCTAssertThrowsMessage(try StateContainer.decode(b), "section 'dev' is damaged")
    }

    func testTruncationAndExtensionAreReported() throws {
        let bytes = containerForCorruption().encoded()
        for n in [0, 10, 24, 40, bytes.count / 2, bytes.count - 1] {
            XCTAssertThrowsMessage(try StateContainer.decode(Array(bytes[0..<n])), "state.bin", "truncated")
        }
        XCTAssertThrowsMessage(try StateContainer.decode(bytes + [0]), "state.bin", "extra data")
    }

    func testNewerContainerVersion() {
        var b = containerForCorruption().encoded()
        b[8] = 2
        XCTAssertThrowsMessage(try StateContainer.decode(b), "container format version 2 is newer")
    }

    func findSubarray(_ a: [UInt8], _ b: [UInt8]) -> Int? {
        guard b.count <= a.count else { return nil }
        for i in 0...(a.count - b.count) where Array(a[i..<(i + b.count)]) == b { return i }
        return nil
    }
}
