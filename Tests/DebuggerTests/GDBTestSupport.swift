import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif
@testable import Debugger
import X86

/// The test guest, 32-bit flat at 0x1000:
///
///     1000  B8 11 11 11 11     mov eax, 0x11111111
///     1005  BB 22 22 22 22     mov ebx, 0x22222222
///     100A  41                 inc ecx
///     100B  90 90 90 90 90     nop ×5
///     1010  A1 00 20 00 00     mov eax, [0x2000]      ; breakpoint target
///     1015  40                 inc eax
///     1016  A3 00 30 00 00     mov [0x3000], eax      ; watchpoint target
///     101B  EB FE              jmp $                  ; spins forever
enum TestGuest {
    static let code: [UInt8] = [
        0xB8, 0x11, 0x11, 0x11, 0x11,
        0xBB, 0x22, 0x22, 0x22, 0x22,
        0x41,
        0x90, 0x90, 0x90, 0x90, 0x90,
        0xA1, 0x00, 0x20, 0x00, 0x00,
        0x40,
        0xA3, 0x00, 0x30, 0x00, 0x00,
        0xEB, 0xFE,
    ]

    static func make() -> CPU {
        let memory = PhysicalMemory(ramSize: 16 << 20)
        let cpu = CPU(memory: memory)
        cpu.enterFlat32(cpl: 0)
        memory.write(code, at: 0x1000)
        memory.write([0x44, 0x33, 0x22, 0x11], at: 0x2000)
        cpu.eip = 0x1000
        let values: [UInt32] = [0xA0A0_A0A0, 0xC0C0_C0C0, 0xD0D0_D0D0, 0xB0B0_B0B0, 0x8000, 0x7000, 0x5151_5151, 0xD1D1_D1D1]
        for (i, v) in values.enumerated() { cpu.setGPR(i, v) }
        return cpu
    }
}

/// A server for `cpu` on an ephemeral loopback port, serving one debugger
/// on a background thread.
final class BackgroundServer {
    let server: GDBServer
    private let done = DispatchSemaphore(value: 0)
    private var end: GDBSession.End?

    init(cpu: CPU, reverse: ReverseExecution? = nil, monitorExtension: ((String) -> String?)? = nil) throws {
        server = try GDBServer(cpu: cpu, port: 0, reverse: reverse) { n in cpu.run(maxInstructions: n) }
        server.monitorExtension = monitorExtension
        let thread = Thread { [self] in
            end = server.waitForDebugger(timeoutMs: 30_000)
            done.signal()
        }
        thread.start()
    }

    var port: UInt16 { server.port }

    /// Waits for the session to finish; nil on timeout or if nobody came.
    func finish(timeout: TimeInterval = 30) -> GDBSession.End? {
        guard done.wait(timeout: .now() + timeout) == .success else { return nil }
        server.close()
        return end
    }
}

/// A minimal protocol client over a raw socket, for the cases gdb's batch
/// mode cannot script (Ctrl-C) and for exact packet checks.
final class RawGDBClient {
    private let fd: Int32
    private var buffer: [UInt8] = []
    var ackMode = true

    init(port: UInt16) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = port.bigEndian
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if rc != 0 { throw NSError(domain: "connect", code: Int(errno)) }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    deinit { Glibc.close(fd) }

    func sendRaw(_ bytes: [UInt8]) {
        _ = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress!, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    func send(_ payload: [UInt8]) {
        sendRaw(GDBPacket.frame(payload))
        if ackMode { XCTAssertEqual(readByte(), UInt8(ascii: "+"), "server did not ack") }
    }

    func send(_ payload: String) { send(Array(payload.utf8)) }

    /// The next packet's payload (checksum verified), acked if in ack mode.
    func reply(timeoutMs: Int32 = 10_000) -> String? {
        var byte: UInt8?
        repeat { byte = readByte(timeoutMs: timeoutMs) } while byte != nil && byte != UInt8(ascii: "$")
        guard byte != nil else { return nil }
        var payload: [UInt8] = []
        while let b = readByte(timeoutMs: timeoutMs), b != UInt8(ascii: "#") { payload.append(b) }
        guard let h = readByte(timeoutMs: timeoutMs), let l = readByte(timeoutMs: timeoutMs),
              let sum = GDBPacket.parseHex([h, l]), UInt8(sum) == GDBPacket.checksum(payload) else { return nil }
        if ackMode { sendRaw([UInt8(ascii: "+")]) }
        return String(decoding: payload, as: UTF8.self)
    }

    func request(_ payload: String) -> String? {
        send(payload)
        return reply()
    }

    func readByte(timeoutMs: Int32 = 10_000) -> UInt8? {
        if buffer.isEmpty {
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&p, 1, timeoutMs) > 0 else { return nil }
            var chunk = [UInt8](repeating: 0, count: 4096)
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, $0.count, 0) }
            guard n > 0 else { return nil }
            buffer = Array(chunk[0..<n])
        }
        return buffer.removeFirst()
    }

    func close() { shutdown(fd, Int32(SHUT_RDWR)) }
}

/// Runs the real gdb in batch mode with `commands` (each one `-ex`) and
/// returns everything it printed; nil if gdb is not installed.
/// With `interruptWhen`, gdb gets one SIGINT (what Ctrl-C at its terminal
/// sends) as soon as the condition holds (polled every 50 ms).
func runGDB(_ commands: [String], timeout: TimeInterval = 60, interruptWhen: (() -> Bool)? = nil) throws -> String? {
    let gdb = "/usr/bin/gdb"
    guard FileManager.default.isExecutableFile(atPath: gdb) else { return nil }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: gdb)
    process.arguments = ["-batch", "-nx"] + commands.flatMap { ["-ex", $0] }
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    process.standardInput = FileHandle.nullDevice
    try process.run()
    let timer = DispatchWorkItem { if process.isRunning { process.terminate() } }
    DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: timer)
    if let interruptWhen {
        Thread {
            while process.isRunning && !interruptWhen() { usleep(50_000) }
            usleep(200_000)
            if process.isRunning { process.interrupt() }
        }.start()
    }
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    timer.cancel()
    return String(decoding: data, as: UTF8.self)
}

/// The value after `key=` in gdb output lines printed with `printf "key=%x\n"`.
func printed(_ output: String, _ key: String) -> UInt64? {
    for line in output.split(separator: "\n") where line.hasPrefix(key + "=") {
        return UInt64(line.dropFirst(key.count + 1), radix: 16)
    }
    return nil
}

/// A value shared with a background thread (the tests synchronise by
/// semaphores and socket round trips).
final class Box<T> {
    var value: T
    init(_ value: T) { self.value = value }
}
