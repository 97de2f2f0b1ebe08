import ArgumentParser
import Foundation
import X86

/// `capsule bench cpu`: fixed guest loops, guest MIPS for each.
struct CPUBench: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "cpu", abstract: "Guest MIPS on CPU-bound loops.")

    @Option(help: "Instructions per loop.")
    var instructions: Int = 100_000_000

    func run() throws {
        for loop in CPUBenchLoops.all {
            let mem = PhysicalMemory(ramSize: 16 << 20)
            let cpu = CPU(memory: mem)
            cpu.enterFlat32(cpl: 0)
            mem.write(loop.code, at: 0x1000)
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
            print(String(format: "%-12@ %8.1f MIPS  (%d instructions, %.2f s)", loop.name as NSString, Double(done) / secs / 1e6, done, secs))
        }
    }
}

/// The benchmark loops as machine code (32-bit flat). Each runs forever.
enum CPUBenchLoops {
    struct Loop { let name: String; let code: [UInt8] }

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
    ]
}
