import ArgumentParser
import Faces
import Foundation
import Media
import Neural
import Training

/// `deepscope train --data DIR --head autoatt --loss bce --out BUNDLE`: trains a small detector on forged crops.
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a small EfficientNet detector on CPU from `deepscope forge --crops` output; writes a detector bundle.")

    @Option(help: "Crop folder written by deepscope forge --crops.") var data: String = ""
    @Option(help: "Head: autoatt (binary + attention), ltpa, softmax (attribution), embedding.") var head = "autoatt"
    @Option(help: "Loss: bce, focal, ce, arcface, arcfacemod, triplet.") var loss = "bce"
    @Option(help: "EfficientNet variant wWdDrR; R is the input size.") var variant = "w0.35d0.3r64"
    @Option(help: "Embedding size (embedding head).") var embedding = 64
    @Option(help: "Optimiser: adamw or sgd (momentum 0.9).") var optimizer = "adamw"
    @Option(help: "Peak learning rate (cosine schedule).") var lr = 2e-3
    @Option(help: "Weight decay.") var weightDecay = 1e-4
    @Option(help: "Epochs.") var epochs = 8
    @Option(help: "Batch size.") var batch = 16
    @Option(help: "Seed (weights, shuffles, augmentation).") var seed: UInt64 = 1
    @Option(help: "Frames before this train; the rest validate.") var splitFrame = 72
    @Option(help: "Write the bundle (manifest.json, weights.safetensors) into this folder.") var out: String = ""
    // scripts/bench_train.sh: time N steps on random crops (plain efficientnet, one logit, BCE) and print images/s.
    @Option(help: .hidden) var benchSteps = 0
    @Option(help: "Bundle name in the manifest.") var name: String?
    @Option(help: "Checkpoint file, written after every epoch.") var checkpoint: String?
    @Flag(help: "Continue from --checkpoint.") var resume = false
    @Flag(help: "Two classes, real and fake, instead of one class per method (embedding and softmax heads).") var binary = false
    @Flag(help: "Batches of (pristine, forged) pairs of the same frame (SBI-style); binary losses.") var paired = false
    @Option(help: "Engine threads (1 gives bit-identical weights across machines with the same build).") var threads = 0

    func run() throws {
        if threads > 0 { Engine.threads = threads }
        if benchSteps > 0 { return try benchmark() }
        guard !data.isEmpty, !out.isEmpty else { throw CLIError("--data DIR and --out DIR are required") }
        guard let netHead = NetHead(rawValue: head) else { throw CLIError("--head must be autoatt, ltpa, softmax or embedding, got \(head)") }
        let folder: CropFolder
        do { folder = try CropFolder.read(URL(fileURLWithPath: data)) } catch { throw CLIError("\(error)") }
        var (train, validation) = folder.split(at: splitFrame)
        if ["bce", "focal"].contains(loss) && !paired { train = balanced(train) }
        let methodLabels = train.labels
        if binary {
            train.labels = train.labels.map { min($0, 1) }
            validation.labels = validation.labels.map { min($0, 1) }
        }
        let classes = binary ? 2 : ForgeryMethod.allCases.count
        var o = TrainOptions()
        o.epochs = epochs; o.batchSize = batch; o.seed = seed; o.learningRate = lr; o.paired = paired
        switch optimizer {
        case "adamw": o.optimizer = .adamW(beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: weightDecay)
        case "sgd": o.optimizer = .sgd(momentum: 0.9, weightDecay: weightDecay)
        default: throw CLIError("--optimizer must be adamw or sgd, got \(optimizer)")
        }
        switch loss {
        case "bce": o.objective = .bce
        case "focal": o.objective = .focal(gamma: 2, alpha: 0.25)
        case "ce": o.objective = .softmax
        case "arcface": o.objective = .arcFace(scale: 16, margins: [0.5])
        case "arcfacemod": o.objective = .arcFace(scale: 16, margins: [0.7] + [Double](repeating: 0.3, count: classes - 1))
        case "triplet": o.objective = .triplet(margin: 0.3)
        default: throw CLIError("--loss must be bce, focal, ce, arcface, arcfacemod or triplet, got \(loss)")
        }
        let outputs: Int
        switch netHead {
        case .autoatt: outputs = 1
        case .ltpa, .softmax: outputs = loss == "bce" || loss == "focal" ? 1 : classes
        case .embedding: outputs = embedding
        }
        do {
            let net = try TrainableNet(variant: variant, head: netHead, outputs: outputs, seed: seed)
            guard train.images.first?.width == net.config.resolution else {
                throw CLIError("crops are \(train.images.first?.width ?? 0) px but variant \(variant) takes \(net.config.resolution) px")
            }
            let trainer = try Trainer(net: net, data: train, options: o)
            let ckpt = checkpoint.map { URL(fileURLWithPath: $0) }
            if resume {
                guard let ckpt else { throw CLIError("--resume needs --checkpoint FILE") }
                try trainer.resume(from: ckpt)
            }
            let bar = TrainingProgress(total: trainer.totalSteps)
            let started = Date()
            try trainer.run(validation: validation, checkpoint: ckpt, progress: { bar.update($0, loss: $1) }, epochDone: { r in
                bar.finishLine()
                print(String(format: "epoch %d  loss %.4f  validation %@ %.4f", r.epoch, r.meanLoss,
                             o.objective == .softmax ? "accuracy" : (netHead == .embedding ? "1-NN accuracy" : "AUC"), r.validation ?? .nan))
            })
            let seconds = Date().timeIntervalSince(started)
            print(String(format: "trained %d steps of %d crops in %.0f s", trainer.step, batch, seconds))
            try report(trainer, validation: validation, classes: classes)
            let names = ["real"] + ForgeryMethod.allCases.dropFirst().map(\.rawValue)
            var d = BundleDescription(name: name ?? "deepscope demo \(head)", classes: outputs == 1 || binary ? ["real", "fake"] : names)
            d.provenance = ["command": CommandLine.arguments.dropFirst().joined(separator: " "), "seed": String(seed),
                            "split": "frames < \(splitFrame) train, ≥ \(splitFrame) validate"]
            var gallery: (Tensor, [Int])? = nil
            if netHead == .embedding {
                let picks = galleryIndices(methods: methodLabels, binary: binary)
                gallery = (trainer.outputs(picks.map { train.images[$0] }), picks.map { train.labels[$0] })
            }
            try writeBundle(net, d, to: URL(fileURLWithPath: out), gallery: gallery)
            print("wrote \(out)")
        } catch let e as CLIError { throw e } catch { throw CLIError("\(error)") }
    }

    /// Times `benchSteps` training steps (after one warm-up) of the plain network on random crops.
    private func benchmark() throws {
        let net = try TrainableNet(variant: variant, head: .softmax, outputs: 1, seed: seed)
        let side = net.config.resolution
        var rng = SeededGenerator(seed: seed)
        var crops = LabelledCrops()
        for i in 0..<(batch * 2) {
            crops.images.append(RGBImage(width: side, height: side, pixels: (0..<(side * side * 3)).map { _ in UInt8(rng.next() % 256) }))
            crops.labels.append(i % 2)
        }
        var o = TrainOptions()
        o.batchSize = batch; o.epochs = benchSteps + 1; o.augmentation = .none
        o.optimizer = .sgd(momentum: 0.9, weightDecay: 0)
        let trainer = try Trainer(net: net, data: crops, options: o)
        trainer.trainStep()
        let start = Date()
        for _ in 0..<benchSteps { trainer.trainStep() }
        let seconds = Date().timeIntervalSince(start)
        print(String(format: "deepscope images/s %.1f (batch %d, %d steps, %@ at %d px)", Double(benchSteps * batch) / seconds,
                     batch, benchSteps, variant, side))
    }

    /// Prints the confusion matrix (attribution) or the AUC (binary) on the validation crops.
    private func report(_ trainer: Trainer, validation: LabelledCrops, classes: Int) throws {
        guard validation.count > 0 else { return }
        let out = trainer.outputs(validation.images)
        let k = out.count / validation.count
        if k == classes {
            let predicted = (0..<validation.count).map { i in (0..<k).max { out.data[i * k + $0] < out.data[i * k + $1] }! }
            let m = confusionMatrix(truth: validation.labels, predicted: predicted, classes: classes)
            print("confusion matrix on held-out crops (rows truth, columns predicted): "
                  + ForgeryMethod.allCases.map(\.rawValue).joined(separator: ", "))
            for (i, row) in m.enumerated() { print(ForgeryMethod.allCases[i].rawValue.padding(toLength: 16, withPad: " ", startingAt: 0) + row.map { String(format: "%4d", $0) }.joined()) }
        }
        print(String(format: "held-out validation: %.4f", trainer.evaluate(validation)))
        guard k == 1 else { return }
        // AUC of pristine against each method alone: which artefacts the detector has learnt.
        for m in ForgeryMethod.allCases.dropFirst() {
            let idx = validation.labels.indices.filter { validation.labels[$0] == 0 || validation.labels[$0] == m.label }
            let auc = rocAUC(scores: idx.map { Double(out.data[$0]) }, labels: idx.map { validation.labels[$0] == 0 ? 0 : 1 })
            print(String(format: "  AUC pristine vs %@: %.4f", m.rawValue, auc))
        }
    }
}

/// The crops with each pristine crop repeated so that real and fake are equally frequent (binary objectives;
/// SBI trains on real/fake pairs for the same reason).
func balanced(_ data: LabelledCrops) -> LabelledCrops {
    let real = data.labels.indices.filter { data.labels[$0] == 0 }
    let fake = data.count - real.count
    guard !real.isEmpty, fake > real.count else { return data }
    var out = data
    for _ in 1..<(fake / real.count) {
        for i in real { out.images.append(data.images[i]); out.labels.append(0) }
    }
    return out
}

/// A one-line progress bar on stderr, drawn only when stderr is a terminal.
final class TrainingProgress {
    let total: Int
    let active = isatty(2) == 1
    init(total: Int) { self.total = total }
    func update(_ step: Int, loss: Double) {
        guard active else { return }
        let width = 30, done = total > 0 ? step * width / total : width
        let line = "\r[" + String(repeating: "#", count: done) + String(repeating: ".", count: width - done)
            + String(format: "] %d/%d loss %.4f", step, total, loss)
        FileHandle.standardError.write(Data(line.utf8))
    }
    func finishLine() { if active { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) } }
}
