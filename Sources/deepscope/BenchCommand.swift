// `deepscope bench model`: median forward and forward+GradCAM latency and peak memory of a detector, as JSON.
import ArgumentParser
import Foundation
import Explain
import Models
import Neural
import Training
import Weights
#if canImport(Glibc)
import Glibc
#endif

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bench", abstract: "Benchmarks (timings as JSON).",
                                                    subcommands: [BenchModelCommand.self, BenchSHAPCommand.self,
                                                                  BenchRenderCommand.self])
}

struct BenchModelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "model", abstract: "Time a detector's forward pass and forward+GradCAM.",
        discussion: "Without --weights the network gets seeded random weights of the right shapes (timing only).")

    @Option(help: "A detector manifest or ARCH[:VARIANT[:PADDING]].") var detector: String
    @Option(help: "The weights file; random weights when absent.") var weights: String?
    @Option(help: "Input height and width.") var size = 224
    @Option(help: "Batch size.") var batch = 1
    @Option(help: "Timed runs (after one warm-up run).") var runs = 10
    @Option(help: "Engine and OpenBLAS threads.") var threads = 2
    @Option(name: .customLong("gradcam-layer"), help: "GradCAM layer (default: the manifest's or the head conv).")
    var gradcamLayer: String?
    @Flag(help: "Also print, to stderr, each op kind's share of one forward (CPU ms of the whole process, mean of the runs; ops by path and shape).")
    var profile = false

    func run() throws {
        guard size > 0, batch > 0, runs > 0, threads > 0 else {
            throw CLIError("bench model: --size, --batch, --runs and --threads must be positive")
        }
        Engine.threads = threads
        var spec = try DetectorSpec(detector, weights: weights)
        let network: Network
        let random = spec.weights == nil
        if random {
            network = try randomNetwork(spec)
        } else {
            network = try spec.makeNetwork()
        }
        spec.inputSize = size
        var rng = SeededGenerator(seed: 1)
        let x = Tensor(shape: [batch, 3, size, size], data: (0..<(batch * 3 * size * size)).map { _ in Float(rng.normal()) })
        let layer = spec.layer(for: network, override: gradcamLayer)

        func median(_ body: () throws -> Void) rethrows -> Double {
            try body()  // warm-up: first-touch allocation and OpenBLAS thread start are not the steady state
            var times: [Double] = []
            for _ in 0..<runs {
                let t0 = DispatchTime.now().uptimeNanoseconds
                try body()
                times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6)
            }
            times.sort()
            return times.count % 2 == 1 ? times[times.count / 2] : (times[times.count / 2 - 1] + times[times.count / 2]) / 2
        }
        // As detectors score: a batch runs image by image on the workers (Models.forwardImagewise).
        if profile {
            // One batched pass per run (not image by image), so each op is timed once per run.
            let warmUp = Graph()
            _ = network.forward(warmUp.input(x), in: warmUp)
            let g = Graph(profiling: true)
            for _ in 0..<runs { _ = network.forward(g.input(x), in: g) }
            var lines = ""
            for (kind, entry) in g.profile.sorted(by: { $0.value.seconds > $1.value.seconds }) {
                lines += String(format: "%9.2f ms %5d× %@\n", entry.seconds * 1000 / Double(runs), entry.calls / runs, kind)
            }
            FileHandle.standardError.write(lines.data(using: .utf8)!)
        }
        let forward = median { _ = forwardImagewise(network, x) }
        var gradcam: Double? = nil
        if let layer {
            // As the explainers run GradCAM: image by image on the workers (Explain.camImagewise).
            gradcam = try median {
                _ = try camImagewise(.gradcam, network: network, input: x, layer: layer, target: .predicted)
            }
        }
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        var fields: [(String, String)] = [
            ("detector", "\"\(detector)\""), ("size", "\(size)"), ("batch", "\(batch)"), ("threads", "\(threads)"),
            ("runs", "\(runs)"), ("forward_ms", String(format: "%.2f", forward)),
        ]
        if let gradcam { fields.append(("forward_gradcam_ms", String(format: "%.2f", gradcam))) }
        fields.append(("peak_rss_mb", String(format: "%.1f", Double(usage.ru_maxrss) / 1024)))
        fields.append(("weights", random ? "\"random (seeded; timing only)\"" : "\"\(spec.weights!.path)\""))
        fields.append(("blas_core", "\"\(Engine.blasCoreName)\""))
        print("{" + fields.map { "\"\($0.0)\": \($0.1)" }.joined(separator: ", ") + "}")
    }

    /// A network of the spec's architecture with seeded He-normal convolutions and identity batch norms, so the
    /// activations stay O(1) (no denormals or overflow to distort timings).
    private func randomNetwork(_ spec: DetectorSpec) throws -> Network {
        guard spec.architecture == "efficientnet" || spec.architecture == "efficientnet-autoatt" else {
            throw CLIError("bench model: random weights are available for efficientnet only; pass --weights")
        }
        let config = try EfficientNetConfig(variant: spec.variant ?? "b4")
        guard let padding = EfficientNetPadding(rawValue: spec.padding ?? "lukemelas-0.7") else {
            throw CLIError("bench model: unknown padding '\(spec.padding ?? "")'")
        }
        let attention = spec.architecture == "efficientnet-autoatt"
        let shapes = try EfficientNet.parameterShapes(config: config, padding: padding, attention: attention, classes: 1)
        var rng = SeededGenerator(seed: 0)
        let tensors: [(String, Tensor)] = shapes.map { key, shape in
            let n = shape.reduce(1, *)
            if key.hasSuffix("running_var") || (key.hasSuffix(".weight") && shape.count == 1) {
                return (key, Tensor(shape: shape, repeating: 1))
            }
            if shape.count == 1 { return (key, Tensor(shape: shape)) }
            let fanIn = shape.dropFirst().reduce(1, *)
            let std = Float((2.0 / Double(fanIn)).squareRoot())
            return (key, Tensor(shape: shape, data: (0..<n).map { _ in Float(rng.normal()) * std }))
        }
        return try EfficientNet(config: config, padding: padding, attention: attention, tensors: tensors)
    }
}
