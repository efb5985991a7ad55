// `deepscope bench shap`: times 3-D Kernel SHAP on a clip (SLIC, coalition scoring, solve), as JSON.
import ArgumentParser
import Explain
import Foundation
import Media
import Models
import Neural
import Weights

struct BenchSHAPCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shap", abstract: "Time Kernel SHAP over supervoxels of a clip (scripts/bench_shap.sh).",
        discussion: "The clip is a T×H×W×3 uint8 .npy of crops at the detector's input size; ImageNet normalisation.")

    @Option(help: "A detector manifest or ARCH[:VARIANT[:PADDING]].") var detector: String
    @Option(help: "The weights file.") var weights: String
    @Option(help: "The clip (.npy, T×H×W×3 uint8).") var clip: String
    @Option(help: "Supervoxels M.") var segments = 50
    @Option(help: "Coalitions: auto (2M+2048), all, or a count.") var samples = "auto"
    @Option(help: "Frames T taken from the start of the clip.") var frames = 8
    @Option(help: "Hidden supervoxels: blur or mean.") var mask = "blur"
    @Option(help: "Images per forward pass.") var batch = 32
    @Option(help: "Engine threads.") var threads = 2
    @Option(help: "Sampling seed.") var seed: UInt64 = 0
    @Option(name: .customLong("labels-out"), help: "Write the supervoxel labels (T×H×W, float32 .npy) here.")
    var labelsOut: String?

    func run() throws {
        guard let count = SHAPSamples(parsing: samples) else { throw CLIError("bench shap: --samples '\(samples)' is not auto, all or a count") }
        guard let maskKind = SHAPMask(rawValue: mask) else { throw CLIError("bench shap: --mask '\(mask)' is not blur or mean") }
        Engine.threads = threads
        let network = try DetectorSpec(detector, weights: weights).makeNetwork()
        let t = try NumpyFile.read(contentsOf: URL(fileURLWithPath: clip))
        guard t.rank == 4, t.shape[3] == 3, t.shape[0] >= frames else {
            throw CLIError("bench shap: \(clip) is \(t.shape), expected at least \(frames)×H×W×3")
        }
        let (h, w) = (t.shape[1], t.shape[2])
        let crops = (0..<frames).map { f in
            RGBImage(width: w, height: h, pixels: t.data[(f * h * w * 3)..<((f + 1) * h * w * 3)].map { UInt8($0) })
        }
        var options = SHAPOptions()
        options.segments = segments
        options.samples = count
        options.frames = frames
        options.mask = maskKind
        options.seed = seed
        options.batchImages = batch
        let target = ExplainTarget(name: "fake") { out, _ in out }
        let explainer = SHAPExplainer(network: network, target: target, preprocess: {
            SHAPExplainer.normalize($0, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225])
        }, options: options)
        let faceClip = FaceClip(input: SHAPExplainer.normalize(crops), crops: crops, frames: Array(0..<frames), track: 0)

        func seconds(_ body: () throws -> Void) rethrows -> Double {
            let t0 = DispatchTime.now().uptimeNanoseconds
            try body()
            return Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
        }
        var segmentsFound = 0
        let slic = seconds {
            segmentsFound = Supervoxels(slic: crops, options: SLICOptions(segments: segments)).count
        }
        var result: SHAPExplanation?
        let total = try seconds { result = try explainer.explainDetailed(faceClip, cancellation: Cancellation()) { _ in } }
        let details = result!.clips[0]
        if let labelsOut {
            let s = details.supervoxels
            try NumpyFile.write(Tensor(shape: [s.depth, s.height, s.width], data: s.labels.map(Float.init)),
                                to: URL(fileURLWithPath: labelsOut))
        }
        let coalitions = details.samples + 2
        let fields: [(String, String)] = [
            ("segments", "\(segments)"), ("players", "\(segmentsFound)"), ("samples", "\(details.samples)"),
            ("frames", "\(frames)"), ("batch", "\(batch)"), ("threads", "\(threads)"),
            ("slic_s", String(format: "%.3f", slic)), ("total_s", String(format: "%.3f", total)),
            ("per_coalition_ms", String(format: "%.2f", (total - slic) / Double(coalitions) * 1000)),
            ("additivity_error", String(format: "%.3g", details.additivityError)),
            ("full_value", String(format: "%.5f", details.fullValue)), ("empty_value", String(format: "%.5f", details.emptyValue)),
        ]
        print("{" + fields.map { "\"\($0.0)\": \($0.1)" }.joined(separator: ", ") + "}")
    }
}
