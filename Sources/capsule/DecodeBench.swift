import ArgumentParser
import Debugger
import Foundation
import X86

/// `capsule bench decode`: instructions per second through the table-driven
/// `InstructionDecoder` on a mix of random 32-bit instructions.
struct DecodeBench: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "decode", abstract: "Decoder speed on random instructions.")

    @Option(help: "Instructions to decode.")
    var instructions: Int = 50_000_000

    func run() throws {
        guard instructions > 0 else { throw ValidationError("--instructions must be positive") }
        var gen = InstructionGenerator(seed: 1, bits32: true)
        var code: [UInt8] = []
        var starts: [Int] = []
        for _ in 0..<65_536 { starts.append(code.count); code += gen.next() }
        code += [UInt8](repeating: 0x90, count: 16)
        let decoder = InstructionDecoder()
        var d = DecodedInstruction()
        var total = 0
        let start = DispatchTime.now().uptimeNanoseconds
        code.withUnsafeBufferPointer { buf in
            let base = buf.baseAddress!
            var i = 0
            for _ in 0..<instructions {
                let at = starts[i]
                _ = decoder.decode(base + at, count: buf.count - at, code32: true, into: &d)
                total &+= Int(d.length)
                i = (i + 1) & 0xFFFF
            }
        }
        let secs = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        print(String(format: "%.1f M instructions/s (%.2f ns each, %d instructions, mean length %.2f)",
                     Double(instructions) / secs / 1e6, secs / Double(instructions) * 1e9, instructions,
                     Double(total) / Double(instructions)))
    }
}
