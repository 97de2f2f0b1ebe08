@testable import Capsule
import Foundation
import PC
import X86
import XCTest

/// The machine state as one section per component: every component comes
/// back exactly, old single-section capsules still load, and a newer,
/// missing, unknown or damaged section is reported by its name.
final class MachineSectionsTests: XCTestCase {
    func rom(_ name: String) throws -> [UInt8] { try testImage("cpu", name) }

    func freshMachine(_ image: [UInt8]) throws -> Machine {
        let m = try Machine(memorySize: 16 << 20, balloon: true)
        try m.loadFirmware(image)
        return m
    }

    /// A machine well away from its reset state: the exceptions ROM run
    /// part way (protected mode, paging, x87 untouched is fine), with
    /// serial input delivered and some still queued.
    func busyMachine() throws -> (Machine, [UInt8]) {
        let image = try rom("t4_except")
        let m = try freshMachine(image)
        _ = m.run(instructions: 30_000)
        m.queueSerialInput(Array("hello".utf8))
        m.queueKeyboardInput(Array("k".utf8))
        _ = m.run(instructions: 20_000)
        m.queueSerialInput(Array(repeating: UInt8(ascii: "x"), count: 40))
        return (m, image)
    }

    func container(_ sections: [StateSection]) -> StateContainer {
        var c = StateContainer()
        for s in sections { c.add(s) }
        return c
    }

    func decode(_ c: StateContainer, fresh: Machine) throws -> MachineState {
        let r = try StateContainer.decode(c.encoded()).restorer()
        let s = try MachineSections.machineState(from: r, fresh: fresh.saveState())
        try r.finish()
        return s
    }

    func testEveryComponentRoundTripsInItsOwnSection() throws {
        let (m, image) = try busyMachine()
        let saved = m.saveState()
        XCTAssertFalse(saved.inputLog.isEmpty, "the test needs delivered input")
        XCTAssertFalse(saved.pendingSerialInput.isEmpty, "the test needs queued input")
        let sections = MachineSections.sections(of: saved)
        let tags = sections.map(\.tag)
        for t in ["board", "clock", "cpu", "fpu", "pic", "pit", "portB", "rtc", "i8042", "sysctl", "pci", "i440fx", "piix3",
                  "com1", "com2", "vga", "ferr", "post", "virtio-balloon", "ide", "input"] {
            XCTAssertTrue(tags.contains(t), "no section \(t)")
        }
        XCTAssertFalse(tags.contains(MachineSections.legacyTag))
        XCTAssertEqual(sections.first { $0.tag == "pic" }?.subsections.map(\.tag), ["master", "slave"])
        XCTAssertEqual(sections.first { $0.tag == "pit" }?.subsections.map(\.tag), ["ch0", "ch1", "ch2"])
        XCTAssertEqual(sections.first { $0.tag == "ide" }?.subsections.map(\.tag), ["primary", "secondary"])
        let back = try decode(container(sections), fresh: try freshMachine(image))
        XCTAssertEqual(back.cpu, saved.cpu, "cpu + fpu")
        for (name, table) in saved.devices { XCTAssertEqual(back.devices[name], table, "device \(name)") }
        XCTAssertEqual(back.devices.count, saved.devices.count)
        XCTAssertEqual(back.ide, saved.ide, "ide")
        XCTAssertEqual(back.inputLog, saved.inputLog, "input log")
        XCTAssertEqual(back.pendingSerialInput, saved.pendingSerialInput)
        XCTAssertEqual(back.pendingKeyEvents, saved.pendingKeyEvents)
        XCTAssertEqual(back.idleTime, saved.idleTime)
        XCTAssertEqual(back, saved)
    }

    /// Each component's section alone carries its state: taking one
    /// section from another machine changes exactly that component.
    func testEachSectionCarriesItsComponent() throws {
        let (m, image) = try busyMachine()
        let busy = m.saveState()
        let other = try freshMachine(image).saveState()
        let busySections = Dictionary(uniqueKeysWithValues: MachineSections.sections(of: busy).map { ($0.tag, $0) })
        let otherSections = Dictionary(uniqueKeysWithValues: MachineSections.sections(of: other).map { ($0.tag, $0) })
        for s in MachineSections.sections(of: busy) {
            guard let replacement = otherSections[s.tag], replacement != s else { continue }
            let mixed = MachineSections.sections(of: busy).map { $0.tag == s.tag ? replacement : $0 }
            let back = try decode(container(mixed), fresh: try freshMachine(image))
            XCTAssertNotEqual(back, busy, "section \(s.tag) carries nothing")
            for b in MachineSections.sections(of: back) {
                XCTAssertEqual(b, b.tag == s.tag ? replacement : busySections[b.tag], "replacing \(s.tag) changed \(b.tag)")
            }
        }
    }

    /// Through the store: save as a capsule, resume, the state hash is the
    /// machine's (the hash is defined on the machine, not on the layout).
    func testCapsuleResumesWithTheSameStateHash() throws {
        let (m, image) = try busyMachine()
        let store = try Store(root: temporaryDirectory(self))
        let expected = try StateHash.of(m)
        let c = try MachineCapsule(creating: "busy", store: store, machine: m, firmware: image, rawDisks: [])
        try c.save()
        let tags = try store.inspect("busy").stateSections.map(\.tag)
        XCTAssertEqual(tags.first, "firmware")
        XCTAssertTrue(tags.contains("cpu") && tags.contains("com2"), "\(tags)")
        let resumed = try MachineCapsule(resuming: "busy", store: store)
        XCTAssertEqual(try StateHash.of(resumed.machine), expected)
        XCTAssertEqual(resumed.machine.saveState(), m.saveState())
    }

    /// A capsule as builds before the split wrote it: `firmware` v1 and one
    /// `machine` v1 section with the whole `MachineState` as JSON.
    func saveOldFormat(_ m: Machine, image: [UInt8], name: String, store: Store, machineVersion: Int = 1) throws {
        var c = StateContainer()
        var fw = StateWriter()
        fw.write(bytes: image)
        c.add(fw.section(tag: "firmware", version: 1))
        var w = StateWriter()
        try w.write(json: m.saveState())
        c.add(w.section(tag: "machine", version: machineVersion))
        let config = ["memory": String(m.memory.ramSize), "rtcStart": String(m.rtcStart), "balloon": "on"]
        try store.saveCapsule(name: name, machine: config, state: c,
                              ram: UnsafeRawBufferPointer(start: m.memory.ram, count: m.memory.ramSize))
    }

    func testOldSingleSectionCapsuleStillLoads() throws {
        let (m, image) = try busyMachine()
        let store = try Store(root: temporaryDirectory(self))
        try saveOldFormat(m, image: image, name: "old", store: store)
        let resumed = try MachineCapsule(resuming: "old", store: store)
        XCTAssertEqual(try StateHash.of(resumed.machine), try StateHash.of(m))
        // Saving it again writes the new layout.
        try resumed.save()
        let tags = try store.inspect("old").stateSections.map(\.tag)
        XCTAssertFalse(tags.contains("machine"))
        XCTAssertTrue(tags.contains("pit"))
        XCTAssertEqual(try StateHash.of(try MachineCapsule(resuming: "old", store: store).machine), try StateHash.of(m))
    }

    func testOldSingleSectionNewerThanThisBuildIsNamed() throws {
        let (m, image) = try busyMachine()
        let store = try Store(root: temporaryDirectory(self))
        try saveOldFormat(m, image: image, name: "old", store: store, machineVersion: 2)
        XCTAssertThrowsMessage(try MachineCapsule(resuming: "old", store: store),
                               "capsule old: state", "section machine version 2 is newer than this build understands (max 1)")
    }

    func testNewerSectionVersionIsNamed() throws {
        let (m, image) = try busyMachine()
        var sections = MachineSections.sections(of: m.saveState())
        let i = try XCTUnwrap(sections.firstIndex { $0.tag == "pit" })
        sections[i].version = 2
        XCTAssertThrowsMessage(try decode(container(sections), fresh: try freshMachine(image)),
                               "section pit version 2 is newer than this build understands (max 1)")
        // A sub-section newer than the build: named with its path.
        sections = MachineSections.sections(of: m.saveState())
        let c = try XCTUnwrap(sections.firstIndex { $0.tag == "cpu" })
        sections[c].subsections[0].version = 5
        XCTAssertThrowsMessage(try decode(container(sections), fresh: try freshMachine(image)),
                               "section 'cpu' / sub-section 'segments' version 5 is newer than this build understands (max 1)")
    }

    func testMissingSectionIsNamed() throws {
        let (m, image) = try busyMachine()
        for tag in ["com2", "fpu", "ide", "virtio-balloon", "clock"] {
            let sections = MachineSections.sections(of: m.saveState()).filter { $0.tag != tag }
            XCTAssertThrowsMessage(try decode(container(sections), fresh: try freshMachine(image)),
                                   "section \(tag) is missing from the capsule's state")
        }
        // A required sub-section missing.
        var sections = MachineSections.sections(of: m.saveState())
        let i = try XCTUnwrap(sections.firstIndex { $0.tag == "pic" })
        sections[i].subsections.removeLast()
        XCTAssertThrowsMessage(try decode(container(sections), fresh: try freshMachine(image)), "section 'pic'", "sub-section 'slave' is missing")
    }

    func testUnknownSectionsFromANewerBuild() throws {
        let (m, image) = try busyMachine()
        let saved = m.saveState()
        var sections = MachineSections.sections(of: saved)
        sections.append(StateSection(tag: "gpu", version: 3, payload: [1, 2, 3]))
        XCTAssertThrowsMessage(try decode(container(sections), fresh: try freshMachine(image)),
                               "unknown required section gpu (version 3)")
        sections.removeLast()
        // Optional state a newer build added (a section, a sub-section) is skipped.
        sections.append(StateSection(tag: "gpu", version: 3, optional: true, payload: [1, 2, 3]))
        let i = try XCTUnwrap(sections.firstIndex { $0.tag == "rtc" })
        sections[i].subsections.append(StateSection(tag: "century-latch", version: 1, optional: true))
        XCTAssertEqual(try decode(container(sections), fresh: try freshMachine(image)), saved)
        // A machine without the balloon does not take a capsule's balloon state.
        let plain = try Machine(memorySize: 16 << 20)
        try plain.loadFirmware(image)
        XCTAssertThrowsMessage(try decode(container(MachineSections.sections(of: saved)), fresh: plain),
                               "unknown required section virtio-balloon")
    }

    func testDamagedSectionIsNamed() throws {
        let (m, image) = try busyMachine()
        let c = container(MachineSections.sections(of: m.saveState()))
        var bytes = c.encoded()
        // Find the rtc section's body through the table and damage its payload.
        let decoded = try StateContainer.decode(bytes)
        let before = decoded.sections.prefix { $0.tag != "rtc" }.reduce(0) { $0 + $1.encoded().count }
        let tableSize = decoded.sections.reduce(0) { $0 + 2 + $1.tag.utf8.count + 28 }
        bytes[StateContainer.headerSize + tableSize + before + 40] ^= 0x10
        XCTAssertThrowsMessage(try StateContainer.decode(bytes), "section 'rtc' is damaged (CRC-32 mismatch)")
        // Intact bytes, wrong layout (a build that changed it without a version bump).
        var sections = MachineSections.sections(of: m.saveState())
        let i = try XCTUnwrap(sections.firstIndex { $0.tag == "cpu" })
        sections[i].payload.removeLast(10)
        XCTAssertThrowsMessage(try decode(container(sections), fresh: try freshMachine(image)), "section 'cpu' version 1")
        sections = MachineSections.sections(of: m.saveState())
        let u = try XCTUnwrap(sections.firstIndex { $0.tag == "com1" })
        sections[u].payload = [4, 1, 2, 3, 4, 5, 6, 7, 8]
        XCTAssertThrowsMessage(try decode(container(sections), fresh: try freshMachine(image)),
                               "section 'com1' version 1: expected [String: u64] at offset 0, found u64")
    }
}
