// Shared loading for the Explain tests: networks and inputs from the committed Models fixtures, expected maps
// from Tests/Fixtures/explain (written by Tests/Fixtures/make_explain.py).
import Foundation
import Explain
import Media
import Models
import Neural
import TestSupport
import Weights

enum ExplainFixture {
    /// The named tensors of a fixture file (path under Tests/Fixtures) as a dictionary.
    static func tensors(_ path: String) throws -> [String: Tensor] {
        var out: [String: Tensor] = [:]
        for (k, v) in try TensorFile.load(contentsOf: fixtureURL(path)).namedTensors { out[k] = v }
        return out
    }

    static func network(_ architecture: String, variant: String?, padding: String? = nil, weights: String) throws -> Network {
        try makeNetwork(architecture: architecture, variant: variant, padding: padding, inputSize: 72, keyPrefix: "",
                        tensors: TensorFile.load(contentsOf: fixtureURL(weights)).namedTensors)
    }

    /// The reduced EfficientNet width/depth/resolution the Models fixtures use.
    static let effnetVariant = "w0.1d0.25r100"

    /// The two ImageNet-normalised 72×72 crops of the EfficientNet fixtures.
    static func effnetInput() throws -> Tensor {
        try NumpyFile.read(contentsOf: fixtureURL("models/effnet_input.npy"))
    }

    /// The first item of a CNN fixture's uint8 input, with FF++/DeepfakeBench's (x/255 − 0.5)/0.5.
    static func cnnInput(_ io: String) throws -> Tensor {
        let u8 = try tensors("models_cnn/\(io)")["input"]!
        let per = u8.count / u8.shape[0]
        return Tensor(shape: [1] + u8.shape.dropFirst(), data: u8.data[0..<per].map { ($0 / 255 - 0.5) / 0.5 })
    }

    /// A clip around an input batch (crops are blank: CAM explainers never read them).
    static func clip(_ x: Tensor) -> FaceClip {
        let n = x.shape[0]
        return FaceClip(input: x, crops: Array(repeating: RGBImage(width: x.shape[3], height: x.shape[2]), count: n),
                        frames: Array(0..<n), track: 0)
    }

    /// Concatenated values of maps, in order.
    static func values(_ maps: [HeatMap]) -> [Float] { maps.flatMap(\.values) }
}

