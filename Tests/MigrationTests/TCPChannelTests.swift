import Foundation
@testable import Migration
import XCTest

final class TCPChannelTests: XCTestCase {
    func testAddressParsing() throws {
        XCTAssertEqual(try HostPort.parse("10.0.0.2:7000"), HostPort(host: "10.0.0.2", port: 7000))
        XCTAssertEqual(try HostPort.parse("[::1]:7000"), HostPort(host: "::1", port: 7000))
        XCTAssertEqual(try HostPort.parse(":7000"), HostPort(host: "", port: 7000))
        XCTAssertEqual(try HostPort.parse("localhost:0").description, "localhost:0")
        for (bad, why) in [("host", "no port"), ("host:", "is not a number"), ("h:70000", "is not a number"), ("::1:70", "in brackets"),
                           ("[::1", "unclosed"), ("h:-1", "is not a number"), ("a b:1", "space"), ("[::1]7", "no ':PORT'")] {
            XCTAssertThrowsError(try HostPort.parse(bad), bad) { e in
                XCTAssertTrue("\(e)".contains(why), "\(bad): \(e)")
                XCTAssertTrue("\(e)".contains("invalid address"), "\(bad): \(e)")
            }
        }
    }

    func testConnectAcceptAndExchangeBytesBothWays() throws {
        let l = try TCPListener(address: "127.0.0.1:0")
        XCTAssertNotEqual(l.address.port, 0)
        // The kernel completes the handshake into the backlog, so connecting first is fine.
        let client = try TCPChannel.connect(to: "127.0.0.1:\(l.address.port)")
        let serverSide: TCPChannel? = try l.accept(timeout: 5)
        let big = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 * 31) }
        let reader = Thread { let got = try? serverSide!.receive(count: big.count); if got == big { try? serverSide!.send([1]) } }
        reader.start()
        try client.send(big)
        XCTAssertEqual(try client.receive(count: 1), [1])
        XCTAssertTrue(serverSide!.peerDescription.hasPrefix("127.0.0.1:"))
        serverSide!.close()
        XCTAssertThrowsError(try client.receive(count: 1)) { e in
            guard case ChannelError.closed = e else { return XCTFail("\(e)") }
        }
        l.close()
    }

    func testSilentPeerTimesOutAndRefusedPortFails() throws {
        let l = try TCPListener(address: "127.0.0.1:0")
        let client = try TCPChannel.connect(to: "127.0.0.1:\(l.address.port)", ioTimeout: 0.2)
        let start = Date()
        XCTAssertThrowsError(try client.receive(count: 4)) { e in
            guard case ChannelError.timeout(let s) = e else { return XCTFail("\(e)") }
            XCTAssertTrue(s.contains("receiving from 127.0.0.1"), s)
        }
        XCTAssertLessThan(Date().timeIntervalSince(start), 3)
        let port = l.address.port
        l.close()
        XCTAssertThrowsError(try TCPChannel.connect(to: "127.0.0.1:\(port)")) { e in
            XCTAssertTrue("\(e)".contains("refused"), "\(e)")
        }
        XCTAssertThrowsError(try TCPListener(address: "127.0.0.1:99999"))
    }
}
