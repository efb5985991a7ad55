// A tiny conv-bn-silu / squeeze-excite / depthwise / residual / pool / linear network end to end against PyTorch
// (Tests/Fixtures/make_neural_composite.py): logits and the gradient wrt an intermediate activation.
import Testing
import TestSupport
@testable import Neural

// MARK: - The network, written once for both modes

/// The PyTorch `Tiny` module of make_neural_composite.py, key names verbatim.
private struct Tiny {
    let t: GoldenFile
    var foldBN = false

    func bn(_ g: Graph, _ x: Variable, _ name: String) -> Variable {
        g.batchNorm(x, weight: Variable(t.tensor("\(name).weight")), bias: Variable(t.tensor("\(name).bias")),
                    runningMean: t.tensor("\(name).running_mean"), runningVar: t.tensor("\(name).running_var"), eps: 1e-3)
    }

    /// conv then batch norm; with `foldBN` the batch norm is folded into the conv weights instead.
    func convBN(_ g: Graph, _ x: Variable, _ conv: String, _ norm: String, stride: Size2D = 1, padding: Padding2D = 0,
                groups: Int = 1, activation: Activation = .identity) -> Variable {
        let w = t.tensor("\(conv).weight")
        if foldBN {
            let (fw, fb) = foldBatchNorm(convWeight: w, convBias: nil, gamma: t.tensor("\(norm).weight"),
                                         beta: t.tensor("\(norm).bias"), mean: t.tensor("\(norm).running_mean"),
                                         var: t.tensor("\(norm).running_var"), eps: 1e-3)
            return g.conv2d(x, weight: Variable(fw), bias: Variable(fb), stride: stride, padding: padding,
                            groups: groups, activation: activation)
        }
        let y = g.conv2d(x, weight: Variable(w), stride: stride, padding: padding, groups: groups)
        return g.activate(bn(g, y, norm), activation)
    }

    func forward(_ g: Graph, _ input: Variable) -> Variable {
        var x = convBN(g, input, "stem", "bn0", stride: 2, padding: 1, activation: .silu)
        let skip = x
        x = g.name("act", convBN(g, x, "dw", "bn1", padding: 1, groups: 8, activation: .silu))
        var s = g.globalAvgPool(x)
        s = g.conv2d(s, weight: Variable(t.tensor("se_reduce.weight")), bias: Variable(t.tensor("se_reduce.bias")),
                     activation: .silu)
        s = g.conv2d(s, weight: Variable(t.tensor("se_expand.weight")), bias: Variable(t.tensor("se_expand.bias")),
                     activation: .sigmoid)
        x = g.multiply(x, s)
        x = g.add(convBN(g, x, "project", "bn2"), skip)
        x = g.flatten(g.globalAvgPool(x))
        return g.linear(x, weight: Variable(t.tensor("fc.weight")), bias: Variable(t.tensor("fc.bias")))
    }
}

/// max |a − b| relative to the largest |b|.
private func relativeError(_ a: [Float], _ b: [Float]) -> Float {
    maxAbsDifference(a, b) / max(b.map(abs).max() ?? 0, 1e-12)
}

// MARK: - Tests

@Suite struct CompositeTests {
    @Test(arguments: [false, true])
    func logitsMatchPyTorch(foldBN: Bool) {
        let t = GoldenFile.composite
        let g = Graph()
        let logits = Tiny(t: t, foldBN: foldBN).forward(g, g.input(t.tensor("input")))
        #expect(logits.shape == [2, 3])
        #expect(relativeError(logits.tensor.data, t.tensor("logits").data) <= 1e-4)
        #expect(g.activation("act") == nil, "inference must keep no activations it was not asked for")
    }

    @Test func gradientWrtIntermediateActivationMatchesPyTorch() {
        let t = GoldenFile.composite
        let g = Graph(recording: true)
        let logits = Tiny(t: t).forward(g, g.input(t.tensor("input")))
        let act = try! #require(g.activation("act"))
        expectClose(act.tensor.data, t.tensor("act").data, atol: 1e-5, rtol: 1e-4, "act")
        var seed = Tensor(shape: [2, 3])
        seed.data[1] = 1; seed.data[4] = 1
        let grad = g.backward(from: logits, seed: seed, to: [act])[0]
        #expect(relativeError(grad.data, t.tensor("act.grad").data) <= 1e-3)
        expectClose(logits.tensor.data, t.tensor("logits").data, atol: 1e-5, rtol: 1e-4, "logits while recording")
    }

    @Test func capturedActivationsAreKeptWithoutRecording() {
        let t = GoldenFile.composite
        let g = Graph(capturing: ["act"])
        _ = Tiny(t: t).forward(g, g.input(t.tensor("input")))
        let act = try! #require(g.activation("act"))
        expectClose(act.tensor.data, t.tensor("act").data, atol: 1e-5, rtol: 1e-4, "captured act")
    }
}
