import ArgumentParser
import Foundation
import X86

/// `capsule bench cpu`: fixed guest loops, guest MIPS for each.
struct CPUBench: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "cpu", abstract: "Guest MIPS on CPU-bound loops.")

    @Option(help: "Instructions per loop.")
    var instructions: Int = 100_000_000

    @Option(help: "Run only the loop with this name.")
    var only: String?

    func run() throws {
        for loop in CPUBenchLoops.all where only == nil || loop.name == only {
            let mem = PhysicalMemory(ramSize: 16 << 20)
            let cpu = CPU(memory: mem)
            cpu.enterFlat32(cpl: 0)
            mem.write(loop.code, at: 0x1000)
            for (addr, bytes) in loop.data { mem.write(bytes, at: addr) }
            cpu.eip = 0x1000
            cpu.setGPR(4, 0x80000)
            cpu.setGPR(6, 0x100000)
            cpu.setGPR(7, 0x200000)
            let start = DispatchTime.now().uptimeNanoseconds
            var done = 0
            while done < instructions {
                let before = cpu.instructionCount
                let outcome = cpu.run(maxInstructions: instructions - done)
                done += Int(cpu.instructionCount - before)
                if outcome != .instructionLimit {
                    throw ValidationError("loop \(loop.name) stopped: \(outcome) at \(String(cpu.eip, radix: 16))")
                }
            }
            let secs = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            let name = loop.name.padding(toLength: 12, withPad: " ", startingAt: 0)
            print(name + String(format: "%8.1f MIPS  (%d instructions, %.2f s)", Double(done) / secs / 1e6, done, secs))
        }
    }
}

/// The benchmark loops as machine code (32-bit flat). Each runs forever.
enum CPUBenchLoops {
    struct Loop {
        let name: String
        let code: [UInt8]
        /// Data the loop reads, by physical address.
        var data: [(UInt32, [UInt8])] = []
    }

    /// 513 doubles 1 + i/1024, little-endian (the dot product's operands).
    static let doubles: [UInt8] = (0...512).flatMap { i -> [UInt8] in
        // 1 + i/1024 as an IEEE double, built from its fields (no host FP needed).
        var bits: UInt64 = 0x3FF0_0000_0000_0000 | (UInt64(i) << 42)
        return (0..<8).map { _ in defer { bits >>= 8 }; return UInt8(truncatingIfNeeded: bits) }
    }

    static let all: [Loop] = [
        // add/xor/imul/shift mix, counting down ECX
        Loop(name: "integer", code: [
            0xB9, 0x00, 0x10, 0x00, 0x00,       // mov ecx, 4096
            0x01, 0xC8,                         // add eax, ecx
            0x31, 0xC3,                         // xor ebx, eax
            0x0F, 0xAF, 0xD8,                   // imul ebx, eax
            0xC1, 0xEB, 0x03,                   // shr ebx, 3
            0x8D, 0x14, 0x19,                   // lea edx, [ecx+ebx]
            0x49,                               // dec ecx
            0x75, 0xF0,                         // jnz -16
            0xEB, 0xE9,                         // jmp start
        ]),
        // loads and stores through ESI/EDI
        Loop(name: "memory", code: [
            0xB9, 0x00, 0x04, 0x00, 0x00,       // mov ecx, 1024
            0x8B, 0x04, 0x8E,                   // mov eax, [esi+ecx*4]
            0x01, 0xC3,                         // add ebx, eax
            0x89, 0x1C, 0x8F,                   // mov [edi+ecx*4], ebx
            0x49,                               // dec ecx
            0x75, 0xF5,                         // jnz -11
            0xEB, 0xEE,                         // jmp start
        ]),
        // call/ret with push/pop
        Loop(name: "call", code: [
            0xE8, 0x02, 0x00, 0x00, 0x00,       // call +2
            0xEB, 0xF9,                         // jmp start
            0x53,                               // push ebx
            0x43,                               // inc ebx
            0x5B,                               // pop ebx
            0xC3,                               // ret
        ]),
        // rep movsd of 4 KiB, each iteration one instruction
        Loop(name: "string", code: [
            0xBE, 0x00, 0x00, 0x10, 0x00,       // mov esi, 0x100000
            0xBF, 0x00, 0x00, 0x20, 0x00,       // mov edi, 0x200000
            0xB9, 0x00, 0x04, 0x00, 0x00,       // mov ecx, 1024
            0xFC,                               // cld
            0xF3, 0xA5,                         // rep movsd
            0xEB, 0xEC,                         // jmp start
        ]),
        // x87 Mandelbrot kernel: z = z² + c for c = -0.75+0.1i, 64 steps, repeat
        Loop(name: "fpu-mandel", code: [
            0xDB, 0xE3, 0xB9, 0x40, 0x00, 0x00, 0x00, 0xD9, 0x05, 0x34, 0x10, 0x00, 0x00, 0xD9, 0x05, 0x38,
            0x10, 0x00, 0x00, 0xD9, 0xEE, 0xD9, 0xEE, 0xD9, 0xC0, 0xDC, 0xC8, 0xD9, 0xC2, 0xDC, 0xC8, 0xDE,
            0xE9, 0xD8, 0xC4, 0xD9, 0xC9, 0xDE, 0xCA, 0xD9, 0xC9, 0xDC, 0xC0, 0xD8, 0xC2, 0xD9, 0xC9, 0x49,
            0x75, 0xE5, 0xEB, 0xCC, 0x00, 0x00, 0x40, 0xBF, 0xCD, 0xCC, 0xCC, 0x3D,
        ]),
        // x87 dot product of two 512-element double vectors
        Loop(name: "fpu-dot", code: [
            0xDB, 0xE3, 0xBE, 0x00, 0x00, 0x10, 0x00, 0xBF, 0x00, 0x00, 0x20, 0x00, 0xB9, 0x00, 0x02, 0x00,
            0x00, 0xD9, 0xEE, 0xDD, 0x04, 0xCE, 0xDC, 0x0C, 0xCF, 0xDE, 0xC1, 0x49, 0x75, 0xF5, 0xDD, 0x1D,
            0x00, 0x00, 0x30, 0x00, 0xEB, 0xDA,
        ], data: [(0x10_0000, doubles), (0x20_0000, doubles)]),
    ]
}
