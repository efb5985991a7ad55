// Helpers for the CNN parity tests: the golden files written by Tests/Fixtures/make_models_cnn.py and one
// forward + backward run compared against them with the brief's tolerances.
import Foundation
import Testing
import TestSupport
import Neural
import Weights
import Models

enum CNNFixture {
    /// `Tests/Fixtures/models_cnn/<name>`.
    static func url(_ name: String) -> URL { fixtureURL("models_cnn/\(name)") }

    /// The named tensors of a fixture file as a dictionary.
    static func tensors(_ name: String) throws -> [String: Tensor] {
        var out: [String: Tensor] = [:]
        for (k, v) in try TensorFile.load(contentsOf: url(name)).namedTensors { out[k] = v }
        return out
    }

    /// A checkpoint's named tensors, read by the real Weights reader.
    static func checkpoint(_ name: String) throws -> [(String, Tensor)] {
        try TensorFile.load(contentsOf: url(name)).namedTensors
    }

    /// FF++ / DeepfakeBench preprocessing of a uint8 image: (x / 255 − 0.5) / 0.5, as the script computes it.
    static func normalised(_ u8: Tensor) -> Tensor {
        Tensor(shape: u8.shape, data: u8.data.map { ($0 / 255 - 0.5) / 0.5 })
    }

    /// Runs `net` on `input` recording, and returns the output, the named activations and
    /// d(Σₙ output[n, target]) / d(activation) for each of `layers`.
    static func run(_ net: Network, input: Tensor, layers: [String], target: Int)
        -> (output: Tensor, activations: [String: Tensor], gradients: [String: Tensor]) {
        let g = Graph(recording: true)
        let y = net.forward(g.input(input), in: g)
        var seed = Tensor(shape: y.shape)
        let classes = y.shape[1]
        for n in 0..<y.shape[0] { seed.data[n * classes + target] = 1 }
        let acts = layers.map { g.activation($0)! }
        let grads = g.backward(from: y, seed: seed, to: acts)
        var a: [String: Tensor] = [:], d: [String: Tensor] = [:]
        for (i, name) in layers.enumerated() { a[name] = acts[i].tensor; d[name] = grads[i] }
        return (y.tensor, a, d)
    }

    /// The largest |value|, at least `floor` (the "output scale" tolerances are relative to).
    static func scale(_ t: Tensor, floor: Float = 1) -> Float { t.data.reduce(floor) { max($0, abs($1)) } }

    /// Checks output, activations (1e-4 of their scale) and gradients (1e-3 of their scale) against `io`.
    /// `channels` limits activations and gradients to their first channels, where the fixture stores only those.
    static func expectParity(_ net: Network, input: Tensor, io: [String: Tensor], layers: [String], target: Int,
                             channels: Int? = nil, sourceLocation: SourceLocation = #_sourceLocation) {
        let (output, acts, grads) = run(net, input: input, layers: layers, target: target)
        let logits = io["logits"]!
        #expect(output.shape == logits.shape, sourceLocation: sourceLocation)
        #expect(maxAbsDifference(output.data, logits.data) <= 1e-4 * scale(logits), "logits: \(output.data) vs \(logits.data)",
                sourceLocation: sourceLocation)
        // Plain inference takes other paths (folded batch norms, Winograd 3×3 convolutions): the same logits.
        let plainGraph = Graph()
        let plain = net.forward(plainGraph.input(input), in: plainGraph).tensor
        #expect(maxAbsDifference(plain.data, logits.data) <= 1e-4 * scale(logits),
                "inference logits: \(plain.data) vs \(logits.data)", sourceLocation: sourceLocation)
        for name in layers {
            let expectedA = io["act.\(name)"]!, expectedG = io["grad.\(name)"]!
            let a = firstChannels(acts[name]!, channels), d = firstChannels(grads[name]!, channels)
            #expect(a.shape == expectedA.shape, "\(name) shape", sourceLocation: sourceLocation)
            #expect(d.shape == expectedG.shape, "\(name) gradient shape", sourceLocation: sourceLocation)
            guard a.shape == expectedA.shape, d.shape == expectedG.shape else { continue }
            let errA = maxAbsDifference(a.data, expectedA.data), errG = maxAbsDifference(d.data, expectedG.data)
            #expect(errA <= 1e-4 * scale(expectedA), "\(name): activation error \(errA)", sourceLocation: sourceLocation)
            #expect(errG <= 1e-3 * scale(expectedG, floor: 0), "\(name): gradient error \(errG) of scale \(scale(expectedG, floor: 0))",
                    sourceLocation: sourceLocation)
            #expect(scale(expectedG, floor: 0) > 0, "\(name): the reference gradient is all zero", sourceLocation: sourceLocation)
        }
    }

    /// The first `channels` channels of an NCHW tensor (all when nil).
    static func firstChannels(_ t: Tensor, _ channels: Int?) -> Tensor {
        guard let channels, t.rank == 4, channels < t.shape[1] else { return t }
        let (n, c, plane) = (t.shape[0], t.shape[1], t.shape[2] * t.shape[3])
        var data: [Float] = []
        for i in 0..<n { data += t.data[(i * c * plane)..<((i * c + channels) * plane)] }
        return Tensor(shape: [n, channels, t.shape[2], t.shape[3]], data: data)
    }

    /// The binding error a throwing initialiser raised, or nil.
    static func bindingError(_ body: () throws -> Void) -> ModelError? {
        do { try body() } catch let e as ModelError { return e } catch { return nil }
        return nil
    }
}
