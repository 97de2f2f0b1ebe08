import Foundation
import XCTest
import X86
@testable import PC

/// How the board wires the chipset devices (what Machine should do).
final class ChipsetBoard {
    let pic = Pic8259Pair()
    let pit: Pit8254
    let portB: SystemControlPortB
    let rtc: Rtc146818
    let kbc = I8042()
    let sysctl = SystemControl()
    let pci = PCIHost()
    let hostBridge = I440FXHostBridge()
    let isaBridge = Piix3ISABridge()
    var resets: [Bool] = []
    var a20 = false

    init(machine m: Machine, startTime: Int64) {
        pit = Pit8254(scheduler: m.scheduler)
        portB = SystemControlPortB(pit: pit)
        rtc = Rtc146818(scheduler: m.scheduler, startTime: startTime)
        rtc.setMemorySize(bytes: UInt64(m.memory.ramSize))
        rtc.setDefaultEquipment()

        let cpu = m.cpu
        cpu.interruptController = pic
        pic.intr = { cpu.intrLine = $0 }
        pit.irq0 = { [pic] in pic.setIRQ(0, level: $0) }
        kbc.irq1 = { [pic] in pic.setIRQ(1, level: $0) }
        kbc.irq12 = { [pic] in pic.setIRQ(12, level: $0) }
        rtc.irq = { [pic] in pic.setIRQ(8, level: $0) }
        isaBridge.setIRQ = { [pic] in pic.setIRQ($0, level: $1) }
        // A20 = i8042 output port bit 1 OR port 0x92 bit 1.
        kbc.onA20Change = { [unowned self] _ in self.a20 = self.kbc.a20 || self.sysctl.a20 }
        sysctl.onA20Change = { [unowned self] _ in self.a20 = self.kbc.a20 || self.sysctl.a20 }
        kbc.onReset = { [unowned self] in self.resets.append(false) }
        sysctl.onReset = { [unowned self] in self.resets.append($0) }
        pci.attach(hostBridge, device: 0, function: 0)
        pci.attach(isaBridge, device: 1, function: 0)

        let p = m.ports
        p.register(pic, ports: 0x20...0x21)
        p.register(pic, ports: 0xA0...0xA1)
        p.register(pic, ports: 0x4D0...0x4D1)
        p.register(pit, ports: 0x40...0x43)
        p.register(portB, ports: 0x61...0x61)
        p.register(rtc, ports: 0x70...0x71)
        p.register(kbc, ports: 0x60...0x60)
        p.register(kbc, ports: 0x64...0x64)
        p.register(sysctl, ports: 0x92...0x92)
        p.register(sysctl, ports: 0xCF9...0xCF9)
        p.register(pci, ports: 0xCF8...0xCF8)
        p.register(pci, ports: 0xCFC...0xCFF)
    }
}

final class BoardIntegrationTests: XCTestCase {
    static let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    func firmware() throws -> [UInt8] {
        let fw = Self.repoRoot.appendingPathComponent("firmware")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = [fw.appendingPathComponent("build.sh").path]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw XCTSkip("firmware/build.sh failed (nasm missing?)") }
        return [UInt8](try Data(contentsOf: fw.appendingPathComponent("build/bios.bin")))
    }

    /// The Capsule BIOS POSTs on the chipset: PIC and PIT tick (the BDA
    /// timer count advances), CMOS memory size, i8042 init, PCI probing.
    func testBIOSPostsOnTheChipset() throws {
        let image = try firmware()
        let m = try Machine(memorySize: 32 << 20)
        let board = ChipsetBoard(machine: m, startTime: 1_709_164_800 + 12 * 3600) // noon
        var serial: [UInt8] = []
        m.com1.transmit = { serial.append($0) }
        try m.loadFirmware(image)
        var text = ""
        var ticks: UInt32 = 0
        for _ in 0..<200 {
            _ = m.run(instructions: 1_000_000)
            text = String(decoding: serial, as: UTF8.self)
            ticks = m.memory.read(0x46C, width: 4)
            if text.contains("No hard disks") && ticks > 5 { break }
        }
        print(text)
        XCTAssertTrue(text.contains("Capsule BIOS"), text)
        XCTAssertTrue(text.contains("KiB extended"), text)
        XCTAssertGreaterThan(ticks, 5, "IRQ0 through the PIC advances the BIOS tick count")
        // The BIOS seeded its tick count from the RTC (noon = 0x0C0000-ish ticks).
        XCTAssertGreaterThan(ticks, 700_000)
        XCTAssertEqual(board.kbc.commandByte & 0x40, 0x40, "translation on")
        XCTAssertTrue(board.a20)
        XCTAssertEqual(board.resets, [])
    }
}
