// Trainer: seeded mini-batch training of a `TrainableNet` with the chosen objective, optimiser and cosine
// schedule; checkpoints hold weights, optimiser state and the step, so `--resume` continues bit-identically.
import Foundation
import Media
import Neural
import Weights

// MARK: - Configuration

/// The training objective, with its hyper-parameters.
public enum Objective: Sendable, Equatable {
    case bce
    case focal(gamma: Double, alpha: Double)
    case softmax
    /// ArcFace (one margin) or ArcFaceMod (one margin per class, real first) on the L2-normalised embedding.
    case arcFace(scale: Double, margins: [Double])
    /// Triplet loss with online semi-hard mining on the L2-normalised embedding.
    case triplet(margin: Double)

    var isBinary: Bool { if case .bce = self { return true }; if case .focal = self { return true }; return false }
    var isEmbedding: Bool { if case .arcFace = self { return true }; if case .triplet = self { return true }; return false }
}

/// Labelled S×S RGB face crops. Labels: 0 = real, 1… = forgery methods (binary objectives use label ≠ 0).
public struct LabelledCrops: Sendable {
    public var images: [RGBImage]
    public var labels: [Int]
    /// The source frame of each crop (optional; paired sampling needs it).
    public var frames: [Int]
    public init(images: [RGBImage] = [], labels: [Int] = [], frames: [Int] = []) {
        self.images = images; self.labels = labels; self.frames = frames
    }
    public var count: Int { images.count }
}

/// Everything that decides the weights a run produces.
public struct TrainOptions: Sendable {
    public var objective: Objective = .bce
    public var optimizer: OptimizerKind = .adamW(beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 1e-4)
    public var learningRate = 2e-3
    public var warmup = 0
    public var epochs = 1
    public var batchSize = 16
    public var seed: UInt64 = 1
    public var augmentation = Augmentation()
    /// Batches of (pristine, forged) pairs of the same frame, as Self-Blended Images trains: the only difference
    /// inside a pair is the forgery, so the network cannot separate the classes by pose or expression.
    public var paired = false
    public init() {}
}

/// One epoch's numbers (what the progress line and the log show).
public struct EpochReport: Sendable {
    public var epoch: Int
    public var meanLoss: Double
    /// AUC (binary), accuracy (softmax) or k-NN accuracy (embedding) on the validation crops; nil without any.
    public var validation: Double?
}

// MARK: - Trainer

/// Trains a network in place; one instance per run.
public final class Trainer {
    public let net: TrainableNet
    public let options: TrainOptions
    public private(set) var optimizer: Optimizer
    /// ArcFace class centres (K×D), trained beside the network and not part of the bundle.
    public private(set) var centres: Tensor?
    public private(set) var step = 0
    let schedule: CosineSchedule
    let stepsPerEpoch: Int
    let train: LabelledCrops
    /// Sampling units: single crops, or [pristine, forged] pairs.
    let units: [[Int]]
    let perStep: Int

    public init(net: TrainableNet, data: LabelledCrops, options: TrainOptions) throws {
        guard data.count >= 2 else { throw TrainingError.invalidOption("at least 2 training crops are needed, got \(data.count)") }
        guard options.batchSize >= 2 else { throw TrainingError.invalidOption("--batch must be at least 2") }
        self.net = net
        self.options = options
        train = data
        if options.paired {
            guard data.frames.count == data.count else { throw TrainingError.invalidOption("paired sampling needs each crop's frame") }
            var pristine: [Int: Int] = [:]
            for i in 0..<data.count where data.labels[i] == 0 { pristine[data.frames[i]] = i }
            units = (0..<data.count).compactMap { i in
                data.labels[i] == 0 ? nil : pristine[data.frames[i]].map { [$0, i] }
            }
            guard !units.isEmpty else { throw TrainingError.invalidOption("paired sampling found no frame with both a pristine and a forged crop") }
        } else {
            units = (0..<data.count).map { [$0] }
        }
        let perStep = max(1, options.batchSize / units[0].count)
        self.perStep = perStep
        stepsPerEpoch = max(1, units.count / perStep)
        schedule = CosineSchedule(base: options.learningRate, total: stepsPerEpoch * options.epochs, warmup: options.warmup)
        var shapes = net.trainableIndices.map { net.parameters[$0].value.shape }
        if case .arcFace(_, let margins) = options.objective {
            let k = max(margins.count, (data.labels.max() ?? 0) + 1)
            var rng = SeededGenerator(seed: options.seed &+ 0xA5C)
            centres = Tensor(shape: [k, net.outputs], data: (0..<(k * net.outputs)).map { _ in Float(rng.normal()) })
            shapes.append([k, net.outputs])
        }
        optimizer = Optimizer(kind: options.optimizer, shapes: shapes)
    }

    /// The total number of steps this run makes.
    public var totalSteps: Int { stepsPerEpoch * options.epochs }

    /// Runs one optimisation step on batch `step` and returns its loss.
    @discardableResult
    public func trainStep() -> Double {
        let epoch = step / stepsPerEpoch, within = step % stepsPerEpoch
        // Shuffles and augmentation are drawn from (seed, epoch) and (seed, step), never from a running stream,
        // so a resumed run draws exactly what an uninterrupted one would.
        var shuffleRNG = SeededGenerator(seed: options.seed &* 0x1_0000_0001 &+ UInt64(epoch))
        let order = shuffleRNG.permutation(units.count)
        let picks = order[(within * perStep)..<min((within + 1) * perStep, units.count)].flatMap { units[$0] }
        let images = picks.map { train.images[$0] }, labels = picks.map { train.labels[$0] }
        let batch = makeBatch(images, augmentation: options.augmentation, seed: options.seed ^ (UInt64(step) &* 0x9E37_79B9))

        let g = Graph(recording: true)
        let vars = net.bind(in: g)
        let out = net.forward(g.constant(batch), in: g, bound: vars, training: true)
        let trainable = net.trainableIndices.map { vars[$0] }
        var targets = trainable
        let lossInput: Variable
        let result: LossResult
        switch options.objective {
        case .bce:
            lossInput = out; result = bceWithLogits(out.tensor, targets: labels.map { $0 == 0 ? 0 : 1 })
        case .focal(let gamma, let alpha):
            lossInput = out; result = binaryFocal(out.tensor, targets: labels.map { $0 == 0 ? 0 : 1 }, gamma: gamma, alpha: alpha)
        case .softmax:
            lossInput = out; result = softmaxCrossEntropy(out.tensor, labels: labels)
        case .triplet(let margin):
            lossInput = g.l2Normalize(out, axis: 1)
            result = semiHardTriplet(lossInput.tensor, labels: labels, margin: margin)
        case .arcFace(let scale, let margins):
            let w = g.parameter(centres!)
            targets.append(w)
            lossInput = g.linear(g.l2Normalize(out, axis: 1), weight: g.l2Normalize(w, axis: 1))
            result = arcFace(lossInput.tensor, labels: labels, scale: scale, margins: margins)
        }
        let grads = g.backward(from: lossInput, seed: result.gradient, to: targets)
        var values = net.trainableIndices.map { net.parameters[$0].value }
        if let centres { values.append(centres) }
        let decays = net.trainableIndices.map { net.parameters[$0].decays } + (centres == nil ? [] : [false])
        optimizer.update(&values, gradients: grads, lr: schedule.rate(at: step), decays: decays)
        for (k, i) in net.trainableIndices.enumerated() { net.parameters[i].value = values[k] }
        if centres != nil { centres = values.last }
        step += 1
        return result.value
    }

    /// Trains to the end, reporting each finished epoch (and validating when `validation` is given).
    public func run(validation: LabelledCrops? = nil, checkpoint: URL? = nil,
                    progress: ((Int, Double) -> Void)? = nil, epochDone: ((EpochReport) -> Void)? = nil) throws {
        var sum = 0.0, n = 0
        while step < totalSteps {
            let loss = trainStep()
            sum += loss; n += 1
            progress?(step, loss)
            if step % stepsPerEpoch == 0 {
                if let checkpoint { try save(to: checkpoint) }
                let score = validation.map { evaluate($0) }
                epochDone?(EpochReport(epoch: step / stepsPerEpoch, meanLoss: sum / Double(max(n, 1)), validation: score))
                sum = 0; n = 0
            }
        }
    }

    // MARK: Evaluation

    /// Network outputs for `crops` in inference mode (running statistics), in batches of 16.
    public func outputs(_ crops: [RGBImage]) -> Tensor { inferenceOutputs(net, crops) }

    /// AUC for binary objectives, accuracy for softmax, 1-NN accuracy against the training set for embeddings.
    public func evaluate(_ data: LabelledCrops) -> Double {
        let out = outputs(data.images)
        let n = data.count, k = out.count / max(n, 1)
        switch options.objective {
        case .bce, .focal:
            return rocAUC(scores: out.data.map(Double.init), labels: data.labels.map { $0 == 0 ? 0 : 1 })
        case .softmax:
            let predicted = (0..<n).map { i in (0..<k).max { out.data[i * k + $0] < out.data[i * k + $1] }! }
            return Double(zip(predicted, data.labels).filter { $0 == $1 }.count) / Double(max(n, 1))
        case .arcFace, .triplet:
            let gallery = KNNHead(embeddings: outputs(train.images), labels: train.labels, k: 1)
            let predicted = gallery.predict(out)
            return Double(zip(predicted, data.labels).filter { $0 == $1 }.count) / Double(max(n, 1))
        }
    }

    // MARK: Checkpoints

    /// Writes weights, optimiser state and the step (safetensors, float32, atomically).
    public func save(to url: URL) throws {
        var tensors = net.stateDict() + optimizer.stateTensors().map { ("trainer." + $0.0, $0.1) }
        if let centres { tensors.append(("trainer.centres", centres)) }
        try SafeTensors.write(tensors, metadata: ["step": String(step), "seed": String(options.seed)], to: url)
    }

    /// Restores a checkpoint written by `save` (same network and options).
    public func resume(from url: URL) throws {
        let file: TensorFile
        do { file = try TensorFile.load(contentsOf: url) } catch {
            throw TrainingError.checkpoint(path: url.path, reason: "\(error)")
        }
        var map: [String: Tensor] = [:]
        for (k, v) in file.namedTensors { map[k] = v }
        do {
            try net.load(map)
            var optimState: [String: Tensor] = [:]
            for (k, v) in map where k.hasPrefix("trainer.optim.") { optimState[String(k.dropFirst(8))] = v }
            try optimizer.restore(from: optimState)
        } catch {
            throw TrainingError.checkpoint(path: url.path, reason: "\(error)")
        }
        if centres != nil {
            guard let c = map["trainer.centres"] else { throw TrainingError.checkpoint(path: url.path, reason: "no trainer.centres") }
            centres = c
        }
        step = optimizer.step
    }
}

/// Inference-mode outputs of `net` for `crops`, without augmentation.
func inferenceOutputs(_ net: TrainableNet, _ crops: [RGBImage]) -> Tensor {
    var data: [Float] = []
    var width = 0
    for start in stride(from: 0, to: crops.count, by: 16) {
        let g = Graph()
        let batch = makeBatch(Array(crops[start..<min(start + 16, crops.count)]), augmentation: .none, seed: 0)
        let y = net.forward(g.constant(batch), in: g, bound: net.bind(in: g), training: false)
        width = y.count / y.shape[0]
        data += y.tensor.data
    }
    return Tensor(shape: [crops.count, width], data: data)
}
