import Foundation
import Testing
import TestSupport
@testable import Weights

/// Truncations and seeded random mutations of every fixture: each either loads or throws a WeightsError; none
/// crashes, hangs or allocates without bound (the process would die or the time limit trip).
@Suite(.timeLimit(.minutes(5))) struct FuzzTests {
    private func loadOrThrow(_ data: Data, _ what: @autoclosure () -> String) -> Bool {
        do {
            _ = try TensorFile.load(data: data)
            return true
        } catch is WeightsError {
            return false
        } catch {
            Issue.record("\(what()): unexpected error type \(error)")
            return false
        }
    }

    @Test(arguments: allWeightFixtures)
    func everyTruncationThrows(_ file: String) throws {
        let bytes = try Data(contentsOf: weightsFixture(file))
        // Every strict prefix is missing bytes the format declares, so none may load.
        let step = max(1, bytes.count / 3000)
        for length in stride(from: 0, to: bytes.count, by: step) {
            #expect(!loadOrThrow(bytes.prefix(length), "\(file)[..<\(length)]"), "\(file) truncated to \(length) bytes loaded")
        }
    }

    @Test(arguments: allWeightFixtures)
    func randomMutations(_ file: String) throws {
        let original = [UInt8](try Data(contentsOf: weightsFixture(file)))
        var rng = SplitMix64(state: UInt64(file.utf8.reduce(5381) { ($0 &* 33) &+ Int($1) }.magnitude))
        let interesting: [UInt8] = [0, 1, 0x7f, 0x80, 0xfe, 0xff]
        var loaded = 0
        for round in 0..<1000 {
            var bytes = original
            for _ in 0..<Int.random(in: 1...8, using: &rng) {
                let at = Int.random(in: 0..<bytes.count, using: &rng)
                switch Int.random(in: 0..<5, using: &rng) {
                case 0: bytes[at] ^= UInt8(1) << UInt8.random(in: 0..<8, using: &rng)
                case 1: bytes[at] = interesting.randomElement(using: &rng)!
                case 2: bytes[at] = UInt8.random(in: 0...255, using: &rng)
                case 3: bytes.insert(UInt8.random(in: 0...255, using: &rng), at: at)
                default: if bytes.count > 1 { bytes.remove(at: at) }
                }
            }
            if round % 10 == 9 { bytes = Array(bytes.prefix(Int.random(in: 0..<bytes.count, using: &rng))) }
            if loadOrThrow(Data(bytes), "\(file) mutant \(round)") { loaded += 1 }
        }
        // Not a correctness bound: printed so a reader sees the fuzzer is not only producing instant rejects.
        print("fuzz \(file): \(loaded)/1000 mutants still loaded")
        // The fixtures are kilobytes; a mutant that made the reader trust a size field would show here.
        #expect(peakResidentMegabytes() < 1536, "peak memory \(peakResidentMegabytes()) MB while fuzzing \(file)")
    }

    private func peakResidentMegabytes() -> Int {
        var usage = rusage()
        #if os(Linux)
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return usage.ru_maxrss / 1024  // kilobytes on Linux
        #else
        getrusage(RUSAGE_SELF, &usage)
        return usage.ru_maxrss / (1024 * 1024)  // bytes on Darwin
        #endif
    }
}
