// Kernel SHAP: exact Shapley values under full enumeration, shap.KernelExplainer's values under sampling.
import Foundation
import Testing
@testable import Explain
import TestSupport

/// f(z) = a·z + Σ b_p z_i z_j + tanh(c·z), the game of Tests/Fixtures/make_shap.py.
struct Game: Decodable {
    var a: [Double]
    var pairs: [[Int]]
    var b: [Double]
    var c: [Double]

    func value(_ z: [Bool]) -> Double {
        var linear = 0.0, inner = 0.0
        for i in z.indices where z[i] { linear += a[i]; inner += c[i] }
        var out = linear + tanh(inner)
        for (p, bp) in zip(pairs, b) where z[p[0]] && z[p[1]] { out += bp }
        return out
    }

    /// A game of `m` players with deterministic pseudo-random coefficients.
    static func random(players m: Int, seed: UInt64) -> Game {
        var rng = SHAPRandom(seed: seed)
        func normal() -> Double { (rng.uniform() + rng.uniform() + rng.uniform() - 1.5) * 2 }
        let pairs = (0..<m).map { _ in [Int(rng.below(UInt64(m))), Int(rng.below(UInt64(m)))] }.filter { $0[0] != $0[1] }
        return Game(a: (0..<m).map { _ in normal() }, pairs: pairs, b: pairs.map { _ in normal() },
                    c: (0..<m).map { _ in normal() })
    }
}

/// Shapley values by their definition: Σ over coalitions S without i of |S|!(M−|S|−1)!/M! (v(S∪i) − v(S)).
func bruteForceShapley(players m: Int, _ v: ([Bool]) -> Double) -> [Double] {
    var factorial = [1.0]
    for k in 1...m { factorial.append(factorial[k - 1] * Double(k)) }
    var values = [Double](repeating: 0, count: 1 << m)
    for bits in 0..<(1 << m) { values[bits] = v((0..<m).map { bits & (1 << $0) != 0 }) }
    return (0..<m).map { i in
        var phi = 0.0
        for bits in 0..<(1 << m) where bits & (1 << i) == 0 {
            let s = bits.nonzeroBitCount
            phi += factorial[s] * factorial[m - s - 1] / factorial[m] * (values[bits | (1 << i)] - values[bits])
        }
        return phi
    }
}

struct KernelCase: Decodable {
    var l1: [String: [Double]]
    var m: Int
    var nsamples: Int
    var runs: Int
    var function: Game
    var mean: [Double]
    var std: [Double]?
    var fx: Double
    var fnull: Double
}

func kernelCases() throws -> [KernelCase] {
    struct Doc: Decodable { var cases: [KernelCase] }
    return try JSONDecoder().decode(Doc.self, from: Data(contentsOf: fixtureURL("shap/kernel.json"))).cases
}

@Suite(.timeLimit(.minutes(1)))
struct KernelSHAPTests {
    @Test(arguments: [2, 3, 5, 8, 12])
    func fullEnumerationIsExactShapley(players m: Int) {
        let game = Game.random(players: m, seed: UInt64(m))
        let result = KernelSHAP.explain(features: m, samples: .all, seed: 1) { $0.map(game.value) }
        let exact = bruteForceShapley(players: m, game.value)
        #expect(result.samples == (1 << m) - 2)
        for i in 0..<m { #expect(abs(result.phi[i] - exact[i]) < 1e-9, "player \(i): \(result.phi[i]) vs \(exact[i])") }
        #expect(result.additivityError < 1e-9)
    }

    @Test func matchesShapWhenEnumerating() throws {
        let c = try kernelCases().first { $0.nsamples == (1 << $0.m) - 2 }!
        let result = KernelSHAP.explain(features: c.m, samples: .count(c.nsamples), seed: 0) { $0.map(c.function.value) }
        #expect(abs(result.fullValue - c.fx) < 1e-12 && abs(result.emptyValue - c.fnull) < 1e-12)
        for i in 0..<c.m { #expect(abs(result.phi[i] - c.mean[i]) < 1e-9, "player \(i): \(result.phi[i]) vs shap \(c.mean[i])") }
    }

    @Test(arguments: [3, 5, 8])
    func l1SelectionMatchesShap(features r: Int) throws {
        let c = try kernelCases().first { $0.nsamples == (1 << $0.m) - 2 }!
        let expected = try #require(c.l1[String(r)])
        let result = KernelSHAP.explain(features: c.m, samples: .all, selectFeatures: r) { $0.map(c.function.value) }
        #expect(result.phi.filter { $0 != 0 }.count == r)
        for i in 0..<c.m { #expect(abs(result.phi[i] - expected[i]) < 1e-9, "player \(i): \(result.phi[i]) vs shap \(expected[i])") }
        #expect(result.additivityError < 1e-9)
    }

    /// Sampled estimates: our mean over seeds against shap's mean over its seeds, within their sampling error.
    @Test func matchesShapWithinSamplingError() throws {
        for c in try kernelCases() where c.std != nil {
            let runs = 64
            var sum = [Double](repeating: 0, count: c.m), squares = sum
            for seed in 0..<runs {
                let r = KernelSHAP.explain(features: c.m, samples: .automatic, seed: UInt64(seed)) { $0.map(c.function.value) }
                #expect(r.samples == c.nsamples)
                #expect(r.additivityError < 1e-9)
                for i in 0..<c.m { sum[i] += r.phi[i]; squares[i] += r.phi[i] * r.phi[i] }
            }
            let std = c.std!
            var worst = 0.0
            for i in 0..<c.m {
                let mean = sum[i] / Double(runs)
                let ours = (max(squares[i] / Double(runs) - mean * mean, 0) * Double(runs) / Double(runs - 1)).squareRoot()
                let error = (ours * ours / Double(runs) + std[i] * std[i] / Double(c.runs)).squareRoot()
                let z = abs(mean - c.mean[i]) / max(error, 1e-12)
                worst = max(worst, z)
                // 4.5 standard errors: a one-in-100000 miss per player if both estimators are the same.
                #expect(z < 4.5, "M=\(c.m) player \(i): \(mean) vs shap \(c.mean[i]) (± \(error))")
                // The same estimator has the same spread; allow for the noise of 64-run standard deviations.
                if std[i] > 1e-9 { #expect(ours / std[i] > 0.5 && ours / std[i] < 2, "M=\(c.m) player \(i): spread \(ours) vs shap \(std[i])") }
            }
            print("Kernel SHAP M=\(c.m), \(c.nsamples) samples: worst |mean − shap| = \(worst) standard errors")
        }
    }

    @Test func seedsReproduceAndDiffer() {
        let game = Game.random(players: 30, seed: 3)
        let a = KernelSHAP.explain(features: 30, seed: 7) { $0.map(game.value) }
        let b = KernelSHAP.explain(features: 30, seed: 7) { $0.map(game.value) }
        let c = KernelSHAP.explain(features: 30, seed: 8) { $0.map(game.value) }
        #expect(a.phi == b.phi)
        #expect(a.phi != c.phi)
    }

    @Test func designWeightsSumToOneAndMasksAreDistinct() {
        for m in [4, 11, 30, 50] {
            let d = KernelSHAP.design(features: m, samples: .automatic, seed: 2)
            #expect(abs(d.weights.reduce(0, +) - 1) < 1e-9, "M=\(m): weights sum \(d.weights.reduce(0, +))")
            #expect(Set(d.masks.map(MaskKey.init)).count == d.masks.count)
            #expect(d.masks.allSatisfy { $0.contains(true) && $0.contains(false) })
            #expect(d.masks.count == SHAPSamples.automatic.budget(features: m))
        }
    }

    @Test func sampleCountsParse() {
        #expect(SHAPSamples(parsing: "all") == .all)
        #expect(SHAPSamples(parsing: "500") == .count(500))
        #expect(SHAPSamples(parsing: "-3") == nil)
        #expect(SHAPSamples.automatic.budget(features: 50) == 2148)
        #expect(SHAPSamples.automatic.budget(features: 8) == 254)
    }

    @Test func additivityHoldsForFewPlayersAndSmallBudgets() {
        for m in [1, 2, 3, 20] {
            let game = Game.random(players: m, seed: 11)
            let r = KernelSHAP.explain(features: m, samples: .count(m + 5), seed: 0) { $0.map(game.value) }
            #expect(r.phi.count == m)
            #expect(r.additivityError < 1e-9, "M=\(m): \(r.additivityError)")
        }
    }
}
