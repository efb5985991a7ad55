// Every op's backward against central finite differences of L = Σ output · seed, on small random cases.
import Testing
import TestSupport
@testable import Neural

// MARK: - Finite differences

/// Compares the tape's gradients of L = Σ out·seed wrt every input with central differences.
///
/// Float forward passes limit the step: eps = 1e-2 keeps rounding noise (≈ 1e-7·|L|/eps) well below the
/// tolerance while the O(eps²) truncation error stays small for these smooth-at-the-sample ops.
private func checkGradients(_ label: String, _ inputs: [Tensor], eps: Float = 1e-2, atol: Float = 2e-3,
                            rtol: Float = 1e-2, seed: UInt64 = 1, _ op: (Graph, [Variable]) -> Variable) {
    var rng = SeededRandom(seed: seed)
    let probe = Graph()
    let outShape = op(probe, inputs.map { probe.input($0) }).shape
    let weights = rng.tensor(outShape)
    func loss(_ xs: [Tensor]) -> Double {
        let g = Graph()
        let y = op(g, xs.map { g.input($0) })
        return zip(y.tensor.data, weights.data).reduce(0) { $0 + Double($1.0) * Double($1.1) }
    }
    let g = Graph(recording: true)
    let vars = inputs.map { g.input($0) }
    let grads = g.backward(from: op(g, vars), seed: weights, to: vars)
    for (k, input) in inputs.enumerated() {
        var numeric = [Float](repeating: 0, count: input.count)
        for i in 0..<input.count {
            var plus = inputs, minus = inputs
            plus[k].data[i] += eps
            minus[k].data[i] -= eps
            numeric[i] = Float((loss(plus) - loss(minus)) / Double(2 * eps))
        }
        expectClose(grads[k].data, numeric, atol: atol, rtol: rtol, "\(label) input \(k)")
    }
}

/// Values at least `gap` away from every point in `kinks`, so a finite-difference step never straddles one.
private func awayFrom(_ kinks: [Float], _ t: Tensor, gap: Float = 0.05) -> Tensor {
    var t = t
    for i in 0..<t.count {
        for k in kinks where abs(t.data[i] - k) < gap { t.data[i] = k + (t.data[i] >= k ? gap : -gap) * 2 }
    }
    return t
}

/// A shuffled ramp: distinct values spaced `step` apart, so max-pool argmaxes never tie under a small step.
private func distinctValues(_ shape: [Int], step: Float = 0.05, rng: inout SeededRandom) -> Tensor {
    let n = shape.reduce(1, *)
    let values = (0..<n).map { Float($0) * step - Float(n) * step / 2 }.shuffled(using: &rng)
    return Tensor(shape: shape, data: values)
}

// MARK: - Tests

@Suite struct GradientCheckTests {
    @Test func conv2dGeneralStridedDilatedGrouped() {
        var r = SeededRandom(seed: 11)
        checkGradients("conv", [r.tensor([2, 4, 7, 6]), r.tensor([6, 2, 3, 2]), r.tensor([6])]) { g, v in
            g.conv2d(v[0], weight: v[1], bias: v[2], stride: Size2D(2, 1),
                     padding: Padding2D(top: 1, bottom: 0, left: 2, right: 1), dilation: Size2D(1, 2), groups: 2)
        }
    }

    @Test func conv2dPointwiseAndDepthwise() {
        var r = SeededRandom(seed: 12)
        checkGradients("1x1", [r.tensor([1, 5, 3, 4]), r.tensor([3, 5, 1, 1])]) { g, v in
            g.conv2d(v[0], weight: v[1])
        }
        checkGradients("depthwise", [r.tensor([2, 3, 7, 8]), r.tensor([6, 1, 3, 3]), r.tensor([6])]) { g, v in
            g.conv2d(v[0], weight: v[1], bias: v[2], stride: 2, padding: Padding2D(top: 0, bottom: 1, left: 1, right: 1),
                     groups: 3)
        }
    }

    @Test func batchNormInferenceAndTraining() {
        var r = SeededRandom(seed: 13)
        let mean = r.tensor([3]), variance = Tensor(shape: [3], data: [0.5, 1.2, 2])
        checkGradients("bn", [r.tensor([2, 3, 2, 3]), r.tensor([3]), r.tensor([3])]) { g, v in
            g.batchNorm(v[0], weight: v[1], bias: v[2], runningMean: mean, runningVar: variance, eps: 1e-3)
        }
        checkGradients("bn train", [r.tensor([3, 3, 2, 2], scale: 2), r.tensor([3]), r.tensor([3])]) { g, v in
            g.batchNormTraining(v[0], weight: v[1], bias: v[2]).output
        }
    }

    @Test func linearAndSoftmax() {
        var r = SeededRandom(seed: 14)
        checkGradients("linear", [r.tensor([3, 5]), r.tensor([4, 5]), r.tensor([4])]) { g, v in
            g.linear(v[0], weight: v[1], bias: v[2], activation: .tanh)
        }
        checkGradients("softmax", [r.tensor([2, 4, 3], scale: 2)]) { g, v in g.softmax(v[0], axis: 1) }
        checkGradients("log softmax", [r.tensor([3, 5], scale: 2)]) { g, v in g.logSoftmax(v[0], axis: -1) }
    }

    @Test func activations() {
        var r = SeededRandom(seed: 15)
        let x = awayFrom([0, 6], r.tensor([2, 3, 4, 3], scale: 7))
        for a in [Activation.relu, .relu6, .silu, .sigmoid, .tanh, .leakyReLU(0.1)] {
            checkGradients("\(a)", [x]) { g, v in g.activate(v[0], a) }
        }
        checkGradients("prelu", [x, r.tensor([3])]) { g, v in g.prelu(v[0], weight: v[1]) }
    }

    @Test func broadcastingArithmetic() {
        var r = SeededRandom(seed: 16)
        checkGradients("mul nc11", [r.tensor([2, 3, 3, 4]), r.tensor([2, 3, 1, 1])]) { g, v in g.multiply(v[0], v[1]) }
        checkGradients("mul n1hw", [r.tensor([2, 1, 3, 4]), r.tensor([2, 3, 3, 4])]) { g, v in g.multiply(v[0], v[1]) }
        checkGradients("add", [r.tensor([2, 3, 3, 4]), r.tensor([3, 1, 4])]) { g, v in g.add(v[0], v[1]) }
        checkGradients("sub", [r.tensor([4]), r.tensor([2, 3, 4])]) { g, v in g.subtract(v[0], v[1]) }
    }

    @Test func pooling() {
        var r = SeededRandom(seed: 17)
        let x = distinctValues([1, 2, 7, 6], rng: &r)
        checkGradients("max", [x]) { g, v in g.maxPool2d(v[0], kernel: 3, stride: 2, padding: 1, ceilMode: true) }
        checkGradients("avg", [x]) { g, v in
            g.avgPool2d(v[0], kernel: 3, stride: 2, padding: 1, ceilMode: true, countIncludePad: false)
        }
        checkGradients("adaptive", [x]) { g, v in g.adaptiveAvgPool2d(v[0], output: Size2D(3, 4)) }
    }

    @Test func elementwiseMath() {
        var r = SeededRandom(seed: 19)
        let positive = mapValues(r.tensor([2, 3, 4])) { abs($0) + 0.5 }
        checkGradients("exp", [r.tensor([2, 3, 4])]) { g, v in g.exp(v[0]) }
        checkGradients("log", [positive]) { g, v in g.log(v[0]) }
        checkGradients("sqrt", [positive]) { g, v in g.sqrt(v[0]) }
        checkGradients("softplus", [r.tensor([2, 3, 4], scale: 4)]) { g, v in g.softplus(v[0]) }
        checkGradients("l2Normalize", [r.tensor([3, 5, 2])]) { g, v in g.l2Normalize(v[0], axis: 1) }
    }

    @Test func resizeAndShapeOps() {
        var r = SeededRandom(seed: 18)
        let x = r.tensor([1, 2, 4, 5])
        checkGradients("bilinear", [x]) { g, v in g.resize(v[0], to: Size2D(7, 3), alignCorners: false) }
        checkGradients("bilinear ac", [x]) { g, v in g.resize(v[0], scaleFactor: 1.7, alignCorners: true) }
        checkGradients("concat+permute+pad+mean", [x, r.tensor([1, 3, 4, 5])]) { g, v in
            let c = g.concat([v[0], v[1]], axis: 1)
            let p = g.pad(g.permute(c, [0, 3, 1, 2]), Padding2D(top: 1, bottom: 0, left: 0, right: 2), value: 1)
            return g.mean(g.slice(p, axis: 1, 1..<4), axes: [3])
        }
    }
}
