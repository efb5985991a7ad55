// The video explainer: masking, batching, averaging over frames, maps, cancellation and progress.
import Foundation
import Testing
import Media
import Models
import Neural
@testable import Explain
import TestSupport

// MARK: - Networks

/// Meso4 (DeepfakeBench layout) at 32×32 with seeded random weights: a real, small detector.
func randomMeso4() throws -> Meso4 {
    var rng = SHAPRandom(seed: 5)
    func random(_ shape: [Int], scale: Double) -> Tensor {
        Tensor(shape: shape, data: (0..<shape.reduce(1, *)).map { _ in Float((rng.uniform() * 2 - 1) * scale) })
    }
    var tensors: [(String, Tensor)] = [
        ("conv1.weight", random([8, 3, 3, 3], scale: 0.4)), ("conv2.weight", random([8, 8, 5, 5], scale: 0.1)),
        ("conv3.weight", random([16, 8, 5, 5], scale: 0.1)), ("conv4.weight", random([16, 16, 5, 5], scale: 0.08)),
        ("fc1.weight", random([16, 16], scale: 0.5)), ("fc1.bias", random([16], scale: 0.1)),
        ("fc2.weight", random([1, 16], scale: 0.5)), ("fc2.bias", random([1], scale: 0.1)),
    ]
    for (name, c) in [("bn1", 8), ("bn2", 16)] {
        tensors += [("\(name).weight", Tensor(shape: [c], repeating: 1)), ("\(name).bias", random([c], scale: 0.1)),
                    ("\(name).running_mean", random([c], scale: 0.1)), ("\(name).running_var", Tensor(shape: [c], repeating: 1))]
    }
    return try Meso4(inputSize: 32, tensors: tensors)
}

/// A detector linear in its input: global average pool then one linear unit. Its coalition game is additive,
/// so Kernel SHAP must return each supervoxel's own contribution whatever coalitions it samples.
final class PooledLinear: Network {
    let weight = Tensor(shape: [1, 3], data: [0.7, -1.3, 0.4])
    let bias = Tensor(shape: [1], data: [0.25])
    var parameterKeys: [String] { ["fc.weight", "fc.bias"] }
    var layerNames: [String] { ["fc"] }
    func forward(_ x: Variable, in g: Graph) -> Variable {
        g.linear(g.flatten(g.globalAvgPool(x)), weight: g.constant(weight), bias: g.constant(bias))
    }
}

/// Counts the images a network is asked to score, to see coalitions evaluated once.
final class Counting: Network, @unchecked Sendable {
    let inner: Network
    private let lock = NSLock()
    private var images = 0
    init(_ inner: Network) { self.inner = inner }
    var parameterKeys: [String] { inner.parameterKeys }
    var layerNames: [String] { inner.layerNames }
    var count: Int { lock.withLock { images } }
    func forward(_ x: Variable, in g: Graph) -> Variable {
        lock.withLock { images += x.shape[0] }
        return inner.forward(x, in: g)
    }
}

let logit = ExplainTarget(name: "fake") { out, _ in out }
let imagenet: SHAPPreprocess = { SHAPExplainer.normalize($0, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225]) }
let mesoInput: SHAPPreprocess = { crops in SHAPExplainer.normalize(crops.map { $0.resizedBilinear(width: 32, height: 32) }) }

func faceClip(_ crops: [RGBImage]) -> FaceClip {
    FaceClip(input: SHAPExplainer.normalize(crops), crops: crops, frames: Array(10..<(10 + crops.count)), track: 1)
}

// MARK: - Tests

@Suite(.timeLimit(.minutes(1)))
struct SHAPExplainerTests {
    @Test func additiveDetectorGetsEachSupervoxelsContribution() throws {
        let crops = try fixtureClip()
        var options = SHAPOptions()
        options.segments = 20
        options.frames = 4
        let explainer = SHAPExplainer(network: PooledLinear(), target: logit, preprocess: imagenet, options: options)
        let result = try explainer.explainDetailed(faceClip(crops), cancellation: Cancellation()) { _ in }
        #expect(result.clips.count == 1 && result.maps.count == 4)
        let details = result.clips[0]
        #expect(details.frames == [10, 11, 12, 13])
        #expect(details.samples == SHAPSamples.automatic.budget(features: details.supervoxels.count))

        // Each supervoxel's own effect on the frame-averaged output: Σ over its pixels of w·(x − background) / HW.
        let segments = details.supervoxels
        let background = crops.map { SHAPVideoGame.blurred($0, sigma: 3) }
        let w: [Double] = [0.7, -1.3, 0.4], std: [Double] = [0.229, 0.224, 0.225]
        var expected = [Double](repeating: 0, count: segments.count)
        let area = segments.width * segments.height
        for t in 0..<crops.count {
            for i in 0..<area {
                let s = Int(segments.labels[t * area + i])
                for c in 0..<3 {
                    let d = Double(crops[t].pixels[3 * i + c]) - Double(background[t].pixels[3 * i + c])
                    expected[s] += w[c] * d / 255 / std[c] / Double(area) / Double(crops.count)
                }
            }
        }
        for s in 0..<segments.count {
            #expect(abs(details.phi[s] - expected[s]) < 2e-5, "segment \(s): \(details.phi[s]) vs \(expected[s])")
        }
        #expect(details.additivityError < 1e-9)
        // Every pixel carries its supervoxel's value.
        for t in 0..<4 {
            for i in stride(from: 0, to: area, by: 37) {
                #expect(result.maps[t].values[i] == Float(details.phi[Int(segments.labels[t * area + i])]))
            }
        }
    }

    @Test func fullEnumerationOnARealDetectorIsExactShapley() throws {
        let crops = Array(try fixtureClip().prefix(2))
        let meso = try randomMeso4()
        let segments = Supervoxels(slic: crops, options: SLICOptions(segments: 7))
        let m = segments.count
        #expect((3...10).contains(m))
        var options = SHAPOptions()
        options.samples = .all
        options.mask = .mean
        options.frames = 2
        options.segments = 7
        let counting = Counting(meso)
        let explainer = SHAPExplainer(network: counting, target: logit, preprocess: mesoInput, options: options)
        let details = try explainer.explainDetailed(faceClip(crops), cancellation: Cancellation()) { _ in }.clips[0]
        #expect(details.supervoxels == segments)
        // All 2^M coalitions, each scored once on both frames.
        #expect(counting.count == (1 << m) * 2)

        let game = SHAPVideoGame(crops: crops, segments: segments, mask: .mean, blurSigma: 0, network: meso,
                                 target: logit, preprocess: mesoInput, batchImages: 64)
        let all = (0..<(1 << m)).map { bits in (0..<m).map { bits & (1 << $0) != 0 } }
        let values = try game.values(of: all, cancellation: Cancellation()) { _ in }
        let exact = bruteForceShapley(players: m) { z in values[z.enumerated().reduce(0) { $0 | ($1.1 ? 1 << $1.0 : 0) }] }
        for s in 0..<m { #expect(abs(details.phi[s] - exact[s]) < 1e-6, "segment \(s): \(details.phi[s]) vs \(exact[s])") }
        #expect(abs(details.fullValue - values[(1 << m) - 1]) < 1e-9 && abs(details.emptyValue - values[0]) < 1e-9)
        #expect(details.additivityError < 1e-9)
        #expect(exact.contains { abs($0) > 1e-4 }, "the random detector should react to the clip")
    }

    @Test func repeatedCoalitionsAreScoredOnce() throws {
        let crops = Array(try fixtureClip().prefix(2))
        let counting = Counting(try randomMeso4())
        let segments = Supervoxels(slic: crops, options: SLICOptions(segments: 10))
        let game = SHAPVideoGame(crops: crops, segments: segments, mask: .blur, blurSigma: 3, network: counting,
                                 target: logit, preprocess: mesoInput, batchImages: 6)
        let a = (0..<segments.count).map { $0 % 2 == 0 }, b = a.map { !$0 }
        let values = try game.values(of: [a, b, a, a, b], cancellation: Cancellation()) { _ in }
        #expect(counting.count == 2 * 2)
        #expect(values[0] == values[2] && values[0] == values[3] && values[1] == values[4])
        // Batched scores equal one-at-a-time scores.
        let alone = try game.values(of: [b], cancellation: Cancellation()) { _ in }
        #expect(abs(alone[0] - values[1]) < 1e-6)
    }

    @Test func longTracksAreExplainedClipByClipReproducibly() throws {
        let crops = try fixtureClip()
        var options = SHAPOptions()
        options.frames = 3
        options.segments = 12
        options.samples = .count(60)
        options.seed = 9
        let explainer = SHAPExplainer(network: try randomMeso4(), target: logit, preprocess: mesoInput, options: options)
        let steps = Steps()
        let a = try explainer.explainDetailed(faceClip(crops), cancellation: Cancellation()) { steps.add($0) }
        #expect(a.maps.count == 4 && a.clips.map(\.frames) == [[10, 11, 12], [13]])
        #expect(a.clips.allSatisfy { $0.seed == 9 && $0.additivityError < 1e-9 })
        let p = steps.values
        #expect(p.last == 1 && zip(p, p.dropFirst()).allSatisfy { $0 <= $1 } && p.count > 3)
        let b = try explainer.explain(faceClip(crops), cancellation: Cancellation()) { _ in }
        #expect(a.maps == b)

        // summary.json's record of a clip.
        let json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(a.clips[0])) as! [String: Any]
        #expect(json["segments"] as? Int == a.clips[0].supervoxels.count)
        #expect(json["samples"] as? Int == 60 && json["seed"] as? Int == 9 && json["frames"] as? [Int] == [10, 11, 12])
        #expect((json["phi"] as? [Double])?.count == a.clips[0].phi.count && json["additivity_error"] is Double)
    }

    @Test func cancellationStopsBetweenBatches() throws {
        let crops = Array(try fixtureClip().prefix(2))
        var options = SHAPOptions()
        options.batchImages = 4
        options.segments = 10
        let counting = Counting(try randomMeso4())
        let explainer = SHAPExplainer(network: counting, target: logit, preprocess: mesoInput, options: options)
        let cancel = Cancellation()
        #expect(throws: ExplainError.cancelled) {
            _ = try explainer.explain(faceClip(crops), cancellation: cancel) { f in if f > 0.1 { cancel.cancel() } }
        }
        // Stopped soon after 10%: far fewer than the 2M + 2048 coalitions.
        #expect(counting.count < 2 * 600)
        let already = Cancellation()
        already.cancel()
        #expect(throws: ExplainError.cancelled) { _ = try explainer.explain(faceClip(crops), cancellation: already) { _ in } }
    }

    @Test func isABackgroundExplainerNamedShap() throws {
        let explainer: any Explainer = SHAPExplainer(network: PooledLinear(), target: logit, preprocess: imagenet)
        #expect(explainer.name == "shap" && explainer.cost == .background)
        #expect(SHAPMask(rawValue: "blur") == .blur && SHAPMask(rawValue: "mean") == .mean && SHAPMask(rawValue: "zero") == nil)
        let defaults = SHAPOptions()
        #expect(defaults.segments == 50 && defaults.samples == .automatic && defaults.mask == .blur && defaults.selectFeatures == nil)
    }

    @Test func exhaustiveEnumerationRefusesManySegments() throws {
        var options = SHAPOptions()
        options.samples = .all
        let explainer = SHAPExplainer(network: PooledLinear(), target: logit, preprocess: imagenet, options: options)
        #expect(throws: ExplainError.self) { _ = try explainer.explain(faceClip(try fixtureClip()), cancellation: Cancellation()) { _ in } }
    }
}

/// Collects progress reports from the explainer's callback.
final class Steps: @unchecked Sendable {
    private let lock = NSLock()
    private var list: [Double] = []
    func add(_ v: Double) { lock.withLock { list.append(v) } }
    var values: [Double] { lock.withLock { list } }
}
