// The trainable network against Models' loader, and the trainer's determinism, resume and learning.
import Foundation
import Media
import Models
import Neural
import TestSupport
import Testing
@testable import Training

/// Tiny crops: bright squares (label 1) vs dark ones (label 0) with seeded noise, so a few steps can learn them.
func toyCrops(count: Int, size: Int = 32, seed: UInt64 = 5, classes: Int = 2) -> LabelledCrops {
    var rng = SeededGenerator(seed: seed)
    var data = LabelledCrops()
    for i in 0..<count {
        let label = i % classes
        var px = [UInt8](repeating: 0, count: size * size * 3)
        for p in 0..<(size * size) {
            let inside = (p / size) % 16 < 8 && (p % size) % 16 < 8
            for c in 0..<3 {
                let base = inside ? 60.0 + 70.0 * Double(label) * Double(c + 1) / 2 : 120.0
                px[p * 3 + c] = UInt8(max(0, min(255, base + rng.normal() * 20)))
            }
        }
        data.images.append(RGBImage(width: size, height: size, pixels: px))
        data.labels.append(label)
    }
    return data
}

@Suite(.timeLimit(.minutes(1)), .serialized)
struct TrainerTests {
    static let variant = "w0.1d0.1r32"

    @Test(arguments: [NetHead.autoatt, .ltpa, .softmax])
    func bundleLoadsInModelsAndMatches(head: NetHead) throws {
        let net = try TrainableNet(variant: Self.variant, head: head, outputs: head == .softmax ? 3 : 1, seed: 2)
        // A couple of training-mode passes move the running statistics off their defaults.
        let crops = toyCrops(count: 4)
        for s in 0..<2 {
            let g = Graph(recording: true)
            _ = net.forward(g.constant(makeBatch(crops.images, augmentation: Augmentation(), seed: UInt64(s))), in: g,
                            bound: net.bind(in: g), training: true)
        }
        let loaded = try makeNetwork(architecture: head.architecture, variant: Self.variant, padding: "lukemelas-0.7",
                                     inputSize: 32, keyPrefix: "", tensors: net.stateDict())
        let batch = makeBatch(crops.images, augmentation: .none, seed: 0)
        let g = Graph()
        let theirs = loaded.forward(g.constant(batch), in: g).tensor
        let ours = inferenceOutputs(net, crops.images)
        expectClose(ours.data, theirs.data, atol: 1e-4, rtol: 1e-3, "\(head)")
        if head == .autoatt {
            let shapes = try EfficientNet.parameterShapes(config: EfficientNetConfig(variant: Self.variant),
                                                          padding: .lukemelas07, attention: true, classes: 1)
            #expect(shapes.map(\.0) == net.stateDict().map(\.0))
        }
    }

    @Test func parameterGradientMatchesFiniteDifference() throws {
        let net = try TrainableNet(variant: Self.variant, head: .softmax, outputs: 2, seed: 3)
        let crops = toyCrops(count: 4)
        let batch = makeBatch(crops.images, augmentation: .none, seed: 0)
        func loss(_ n: TrainableNet, _ g: Graph, _ vars: [Variable]) -> (Variable, LossResult) {
            let out = n.forward(g.constant(batch), in: g, bound: vars, training: true)
            return (out, softmaxCrossEntropy(out.tensor, labels: crops.labels))
        }
        let momentum = net.batchNormMomentum
        net.batchNormMomentum = 0  // keep the running buffers still while probing
        let g = Graph(recording: true)
        let vars = net.bind(in: g)
        let (out, r) = loss(net, g, vars)
        for key in ["classifier.weight", "efficientnet._conv_head.weight", "efficientnet._blocks.3._depthwise_conv.weight", "efficientnet._blocks.1._bn1.weight", "efficientnet._conv_stem.weight"] {
        let i = net.parameters.firstIndex { $0.name == key }!
        let grad = g.backward(from: out, seed: r.gradient, to: [vars[i]])[0]
        g.zeroGradients()
        let h: Float = 1e-3
        for j in [0, 7] {
            let original = net.parameters[i].value.data[j]
            net.parameters[i].value.data[j] = original + h
            let gp = Graph(); let lp = loss(net, gp, net.bind(in: gp)).1.value
            net.parameters[i].value.data[j] = original - h
            let gm = Graph(); let lm = loss(net, gm, net.bind(in: gm)).1.value
            net.parameters[i].value.data[j] = original
            let numeric = Float((lp - lm) / Double(2 * h))
            #expect(abs(numeric - grad.data[j]) <= 2e-3 + 5e-2 * abs(grad.data[j]), "\(key)[\(j)]: \(grad.data[j]) vs \(numeric)")
        }
        }
        net.batchNormMomentum = momentum
    }

    func run(_ objective: Objective, optimizer: OptimizerKind, steps: Int, seed: UInt64 = 9) throws -> Trainer {
        var o = TrainOptions()
        o.objective = objective; o.optimizer = optimizer; o.batchSize = 4; o.epochs = steps; o.seed = seed
        o.learningRate = 1e-2
        let outputs: Int
        switch objective { case .softmax: outputs = 2; case .triplet, .arcFace: outputs = 8; default: outputs = 1 }
        let head: NetHead = objective.isBinary ? .autoatt : objective.isEmbedding ? .embedding : .softmax
        let net = try TrainableNet(variant: Self.variant, head: head, outputs: outputs, seed: seed)
        let trainer = try Trainer(net: net, data: toyCrops(count: 4), options: o)
        try trainer.run()
        return trainer
    }

    @Test func sameSeedGivesBitIdenticalWeightsWithOneThread() throws {
        let saved = Engine.threads
        Engine.threads = 1
        defer { Engine.threads = saved }
        let a = try run(.bce, optimizer: .adamW(beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 1e-2), steps: 3)
        let b = try run(.bce, optimizer: .adamW(beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 1e-2), steps: 3)
        let c = try run(.bce, optimizer: .adamW(beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 1e-2), steps: 3, seed: 10)
        #expect(a.net.stateDict().map(\.1) == b.net.stateDict().map(\.1))
        #expect(a.net.stateDict().map(\.1) != c.net.stateDict().map(\.1))
    }

    @Test func resumeContinuesExactly() throws {
        let dir = try makeTemporaryDirectory("train-resume")
        var o = TrainOptions()
        o.objective = .softmax; o.optimizer = .sgd(momentum: 0.9, weightDecay: 1e-3); o.batchSize = 4; o.epochs = 4
        let data = toyCrops(count: 8)
        let whole = try Trainer(net: TrainableNet(variant: Self.variant, head: .softmax, outputs: 2, seed: 4), data: data, options: o)
        try whole.run()
        let first = try Trainer(net: TrainableNet(variant: Self.variant, head: .softmax, outputs: 2, seed: 4), data: data, options: o)
        for _ in 0..<3 { first.trainStep() }
        let ckpt = dir.appendingPathComponent("ckpt.safetensors")
        try first.save(to: ckpt)
        let second = try Trainer(net: TrainableNet(variant: Self.variant, head: .softmax, outputs: 2, seed: 99), data: data, options: o)
        try second.resume(from: ckpt)
        #expect(second.step == 3)
        try second.run()
        #expect(second.net.stateDict().map(\.1) == whole.net.stateDict().map(\.1))
    }

    @Test(arguments: [Objective.bce, .focal(gamma: 2, alpha: 0.5), .softmax, .triplet(margin: 0.3),
                      .arcFace(scale: 16, margins: [0.5, 0.3])])
    func lossFallsOnToyData(objective: Objective) throws {
        var o = TrainOptions()
        o.objective = objective; o.batchSize = 8; o.epochs = 12; o.learningRate = 1e-2; o.augmentation = .none
        let outputs: Int
        switch objective { case .softmax: outputs = 2; case .triplet, .arcFace: outputs = 8; default: outputs = 1 }
        let head: NetHead = objective.isBinary ? .autoatt : objective.isEmbedding ? .embedding : .softmax
        let data = toyCrops(count: 8)
        let trainer = try Trainer(net: TrainableNet(variant: Self.variant, head: head, outputs: outputs, seed: 1), data: data, options: o)
        var losses: [Double] = []
        try trainer.run(epochDone: { losses.append($0.meanLoss) })
        #expect(losses.count == 12)
        #expect(losses.suffix(3).reduce(0, +) < losses.prefix(3).reduce(0, +), "\(objective): \(losses)")
    }
}

@Suite(.timeLimit(.minutes(1)))
struct OptimizerTests {
    @Test func cosineScheduleEnds() {
        let s = CosineSchedule(base: 1, floor: 0.1, total: 10, warmup: 2)
        #expect(abs(s.rate(at: 0) - 0.5) < 1e-12)
        #expect(abs(s.rate(at: 2) - 1) < 1e-12)
        #expect(abs(s.rate(at: 10) - 0.1) < 1e-12)
        #expect(s.rate(at: 6) < s.rate(at: 4))
    }

    @Test func adamWFirstStepIsSignedLearningRate() {
        // With bias correction the first Adam step is lr·g/(|g| + eps), after the decoupled decay p(1 − lr·λ).
        var opt = Optimizer(kind: .adamW(beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.1), shapes: [[2]])
        var p = [Tensor(shape: [2], data: [1, -2])]
        opt.update(&p, gradients: [Tensor(shape: [2], data: [0.5, -3])], lr: 0.01, decays: [true])
        expectClose(p[0].data, [1 * (1 - 0.001) - 0.01, -2 * (1 - 0.001) + 0.01], atol: 1e-6)
    }

    @Test func sgdMomentumMatchesPyTorchRule() {
        var opt = Optimizer(kind: .sgd(momentum: 0.9, weightDecay: 0), shapes: [[1]])
        var p = [Tensor(shape: [1], data: [1])]
        opt.update(&p, gradients: [Tensor(shape: [1], data: [1])], lr: 0.1, decays: [true])
        opt.update(&p, gradients: [Tensor(shape: [1], data: [1])], lr: 0.1, decays: [true])
        // v1 = 1, p = 0.9; v2 = 0.9 + 1 = 1.9, p = 0.9 − 0.19.
        expectClose(p[0].data, [0.71], atol: 1e-6)
    }

    @Test func aucAndHeads() {
        #expect(rocAUC(scores: [0.1, 0.4, 0.35, 0.8], labels: [0, 0, 1, 1]) == 0.75)
        let x = Tensor(shape: [4, 2], data: [1, 0.1, 0.9, -0.1, -1, 0.2, -0.8, 0])
        let knn = KNNHead(embeddings: x, labels: [0, 0, 1, 1], k: 1)
        #expect(knn.predict(Tensor(shape: [2, 2], data: [0.7, 0, -0.5, 0.1])) == [0, 1])
        for hinge in [false, true] {
            let head = LinearHead.fit(x, fake: [false, false, true, true], hinge: hinge)
            let s = head.scores(x)
            #expect(s[0] < 0 && s[1] < 0 && s[2] > 0 && s[3] > 0)
        }
    }

    /// The k-NN gallery of a bundle: balanced real/fake with every method present, whatever the file order
    /// (the crop folder lists all pristine crops first, then each method), and every third crop per class.
    @Test func galleryIsBalancedAcrossClassesAndMethods() {
        let methodCount = ForgeryMethod.allCases.count, frames = 20
        let byMethod = (0..<methodCount).flatMap { m in [Int](repeating: m, count: frames) }
        let byFrame = (0..<frames).flatMap { _ in Array(0..<methodCount) }
        for order in [byMethod, byFrame] {
            let binary = galleryIndices(methods: order, binary: true).map { order[$0] }
            let real = binary.filter { $0 == 0 }.count, fake = binary.count - real
            #expect(real == frames && fake == frames, "real \(real), fake \(fake)")
            for m in 1..<methodCount { #expect(binary.filter { $0 == m }.count == frames / (methodCount - 1)) }
            let perClass = galleryIndices(methods: order, binary: false).map { order[$0] }
            for m in 0..<methodCount { #expect(perClass.filter { $0 == m }.count == (frames + 2) / 3) }
        }
    }
}
