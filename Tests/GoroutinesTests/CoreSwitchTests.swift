// The context switch keeps what the ABI says a call keeps: computations that
// yield between every step, on several processors, end bit-for-bit equal to
// the same computations run straight through; and each goroutine keeps its
// own floating-point rounding mode (MXCSR / FPCR) wherever it resumes.

import Glibc
import Synchronization
import Testing

@testable import Goroutines

/// The bits of every accumulator of one computation.
struct AccumulatorBits: Equatable, Sendable {
    var double: UInt64 = 0
    var float: UInt32 = 0
    var vector: [UInt64] = []
    var floatVector: [UInt32] = []
    var integer: UInt64 = 0
}

/// A mixed floating-point, SIMD and integer computation that calls
/// `pause` between steps, with many values live across each call.
func accumulate(seed: Int, steps: Int, pause: () -> Void) -> AccumulatorBits {
    var d = Double(seed) + 0.1
    var f = Float(seed) * 0.37 + 1
    var v = SIMD4<Double>(1.5, -2.25, Double(seed), 1e-3)
    var fv = SIMD8<Float>(repeating: Float(seed) + 0.5)
    var mix: UInt64 = 0x9E37_79B9_7F4A_7C15 &* UInt64(seed + 1)
    let scale = SIMD4<Double>(1.000_000_1, 0.999_999_3, 1.000_000_7, 0.5)
    for step in 0..<steps {
        let x = Double(step)
        d = d * 1.000_000_3 + (x / 7).squareRoot() - 1 / (x + 3)
        f = f * 0.999_99 + Float(step % 13) / 17
        v = v * scale + SIMD4(x, -x, 1 / (x + 1), d)
        v = v.replacing(with: v / 3, where: v .> 1e12)
        fv = fv * 1.0001 + SIMD8<Float>(repeating: f).addingProduct(fv, 1e-4)
        mix = (mix ^ d.bitPattern) &* 0x100_0000_01B3 &+ UInt64(step)
        pause()
    }
    return AccumulatorBits(
        double: d.bitPattern, float: f.bitPattern,
        vector: (0..<4).map { v[$0].bitPattern },
        floatVector: (0..<8).map { fv[$0].bitPattern }, integer: mix)
}

/// The rounding-mode constants of <fenv.h>, which Swift imports ambiguously.
enum RoundingMode {
    #if arch(x86_64)
        static let nearest: Int32 = 0x000
        static let down: Int32 = 0x400
        static let up: Int32 = 0x800
        static let towardZero: Int32 = 0xC00
    #elseif arch(arm64)
        static let nearest: Int32 = 0x00_0000
        static let up: Int32 = 0x40_0000
        static let down: Int32 = 0x80_0000
        static let towardZero: Int32 = 0xC0_0000
    #endif
    static let all = [nearest, down, up, towardZero]
}

/// The divisor of `roundedThird`, kept in memory the compiler cannot see into.
let thirdDivisor = Atomic<UInt64>(3.0.bitPattern)

/// A division whose rounding shows the mode in force. Unoptimized, and fed
/// from memory, so the compiler can neither fold it at compile time (under
/// the default mode) nor reuse one result across a mode change.
@_optimize(none)
func roundedThird(_ x: Double) -> UInt64 {
    (x / Double(bitPattern: thirdDivisor.load(ordering: .relaxed))).bitPattern
}

extension RuntimeCoreTests {
    @Suite struct CoreSwitchTests {
        @Test(arguments: procsUnderTest)
        func floatingPointAndCalleeSavedStateSurviveYields(procs: Int) {
            let seeds = 0..<12
            let steps = 1_500
            let expected = seeds.map { accumulate(seed: $0, steps: steps, pause: {}) }
            let results = SharedDictionary<Int, AccumulatorBits>()
            let group = WaitGroup()
            withMaxProcs(procs) {
                for seed in seeds {
                    group.add(1)
                    go {
                        let bits = accumulate(seed: seed, steps: steps) { Runtime.yield() }
                        results.set(seed, bits)
                        group.done()
                    }
                }
                #expect(wait(group))
            }
            let got = results.values
            for seed in seeds {
                #expect(got[seed] == expected[seed], "seed \(seed) under GOMAXPROCS \(procs)")
            }
        }

        @Test(arguments: [1, 2])
        func eachGoroutineKeepsItsRoundingMode(procs: Int) {
            // The reference results, one per mode, computed on this thread.
            let saved = fegetround()
            var reference: [Int32: UInt64] = [:]
            for mode in RoundingMode.all {
                _ = fesetround(mode)
                reference[mode] = roundedThird(1)
            }
            _ = fesetround(saved)
            #expect(Set(reference.values).count >= 2, "modes must give different thirds")

            let failures = SharedArray<String>()
            let group = WaitGroup()
            withMaxProcs(procs) {
                for index in 0..<16 {
                    let mode = RoundingMode.all[index % 4]
                    let want = reference[mode]!
                    group.add(1)
                    go {
                        // A new goroutine starts in round-to-nearest.
                        if fegetround() != RoundingMode.nearest {
                            failures.append("goroutine \(index) started in mode \(fegetround())")
                        }
                        _ = fesetround(mode)
                        for step in 0..<300 {
                            Runtime.yield()
                            let seen = fegetround()
                            let third = roundedThird(1)
                            if seen != mode || third != want {
                                failures.append("goroutine \(index) step \(step): mode \(seen)")
                                break
                            }
                        }
                        _ = fesetround(RoundingMode.nearest)
                        group.done()
                    }
                }
                #expect(wait(group))
            }
            #expect(failures.values.isEmpty, "\(failures.values.prefix(5))")
            #expect(fegetround() == saved)
        }
    }
}
