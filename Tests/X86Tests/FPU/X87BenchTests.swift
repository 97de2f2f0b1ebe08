import Foundation
import XCTest
@testable import X86

/// Rough throughput numbers; runs only with FPU_BENCH=1 (use -c release).
final class X87BenchTests: XCTestCase {
    func testBench() throws {
        guard ProcessInfo.processInfo.environment["FPU_BENCH"] != nil else { throw XCTSkip("set FPU_BENCH=1") }
        var vals: [X87Float] = []
        var s: UInt64 = 0x1234_5678_9ABC_DEF1
        for _ in 0..<1024 {
            s ^= s << 13; s ^= s >> 7; s ^= s << 17
            vals.append(X87Float(signExp: UInt16(0x3FFF - 20 + Int(s >> 59)) | UInt16((s & 1) << 15), significand: s | (1 << 63)))
        }
        func bench(_ name: String, _ n: Int, _ body: (X87Float, X87Float) -> X87Float) {
            var acc: UInt64 = 0
            let t0 = DispatchTime.now().uptimeNanoseconds
            for i in 0..<n {
                let r = body(vals[i & 1023], vals[(i &* 7 &+ 3) & 1023])
                acc &+= r.significand
            }
            let dt = DispatchTime.now().uptimeNanoseconds - t0
            print("\(name): \(Double(dt) / Double(n)) ns/op (\(acc & 1))")
        }
        let cw = X87Control.initial
        bench("add", 2_000_000) { X87.add($0, $1, cw: cw).value }
        bench("mul", 2_000_000) { X87.mul($0, $1, cw: cw).value }
        bench("div", 2_000_000) { X87.div($0, $1, cw: cw).value }
        bench("sqrt", 1_000_000) { a, _ in X87.sqrt(a.absoluteValue, cw: cw).value }
        bench("fst64", 2_000_000) { a, _ in X87Float(signExp: 0, significand: X87.toFloat64(a, cw: cw).bits) }
        bench("sin", 100_000) { a, _ in X87.sin(a, cw: cw).value }
        bench("yl2x", 100_000) { a, b in X87.yl2x(a, b.absoluteValue, cw: cw).value }
    }
}
