import XCTest
@testable import Debugger

final class GDBPacketTests: XCTestCase {
    func testChecksumAndFrame() {
        XCTAssertEqual(GDBPacket.checksum(Array("".utf8)), 0)
        // gdb's own first packet of every session and a well-known reply.
        XCTAssertEqual(String(decoding: GDBPacket.frame("OK"), as: UTF8.self), "$OK#9a")
        XCTAssertEqual(String(decoding: GDBPacket.frame("g"), as: UTF8.self), "$g#67")
        XCTAssertEqual(String(decoding: GDBPacket.frame(""), as: UTF8.self), "$#00")
        // The sum wraps modulo 256.
        XCTAssertEqual(GDBPacket.checksum([0xFF, 0x02]), 0x01)
    }

    func testEscapeRoundTrip() {
        let raw: [UInt8] = [0x23, 0x24, 0x7D, 0x2A, 0x00, 0x41, 0xFF]
        let escaped = GDBPacket.escape(raw)
        XCTAssertEqual(escaped, [0x7D, 0x03, 0x7D, 0x04, 0x7D, 0x5D, 0x7D, 0x0A, 0x00, 0x41, 0xFF])
        XCTAssertFalse(escaped.contains(0x23) || escaped.contains(0x24) || escaped.contains(0x2A))
        XCTAssertEqual(GDBPacket.unescape(escaped), raw)
    }

    func testHex() {
        XCTAssertEqual(GDBPacket.hexEncode([0x00, 0xAB, 0x7F]), "00ab7f")
        XCTAssertEqual(GDBPacket.hexDecode(Substring("00AB7f")), [0x00, 0xAB, 0x7F])
        XCTAssertNil(GDBPacket.hexDecode(Substring("abc")))
        XCTAssertNil(GDBPacket.hexDecode(Substring("zz")))
        XCTAssertEqual(GDBPacket.parseHex(Substring("1f00")), 0x1F00)
        XCTAssertNil(GDBPacket.parseHex(Substring("")))
        XCTAssertNil(GDBPacket.parseHex(Substring("12345678901234567")))
    }

    func testDecoderSplitsAcksPacketsAndInterrupts() {
        var d = GDBPacketDecoder()
        var events = d.feed(Array("+$qC#b4-".utf8) + [0x03])
        XCTAssertEqual(events, [.ack, .packet(Array("qC".utf8)), .nack, .interrupt])
        // A packet split across reads, with a bad checksum in between.
        events = d.feed(Array("$m10".utf8))
        XCTAssertEqual(events, [])
        events = d.feed(Array("00,4#".utf8))
        XCTAssertEqual(events, [])
        events = d.feed(Array("8".utf8))
        XCTAssertEqual(events, [])
        events = d.feed(Array("e$g#00".utf8))
        XCTAssertEqual(events, [.packet(Array("m1000,4".utf8)), .badPacket(Array("g".utf8))])
    }

    func testDecoderKeepsEscapedBinaryIntact() {
        // X packet carrying 0x23 ('#') and 0x7D ('}') escaped.
        let body: [UInt8] = Array("X2000,2:".utf8) + GDBPacket.escape([0x23, 0x7D])
        var d = GDBPacketDecoder()
        let events = d.feed(GDBPacket.frame(body))
        XCTAssertEqual(events, [.packet(body)])
        XCTAssertEqual(GDBPacket.unescape(body.dropFirst(8)), [0x23, 0x7D])
    }

    func testTargetDescriptionListsCoreRegistersInGDBOrder() {
        let xml = GDBRegisters.targetXML
        XCTAssertTrue(xml.contains("<architecture>i386</architecture>"))
        XCTAssertTrue(xml.contains("<feature name=\"org.gnu.gdb.i386.core\">"))
        let names = GDBRegisters.registers.prefix(GDBRegisters.coreCount).map(\.name)
        XCTAssertEqual(Array(names.prefix(16)), [
            "eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi",
            "eip", "eflags", "cs", "ss", "ds", "es", "fs", "gs",
        ])
        XCTAssertEqual(names[16], "st0")
        XCTAssertEqual(names[31], "fop")
        XCTAssertEqual(GDBRegisters.number(of: "cr0"), 32)
        XCTAssertFalse(xml.contains("*") || xml.contains("#") || xml.contains("$"))
    }
}
