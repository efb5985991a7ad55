// Every primitive op's forward and backward against PyTorch autograd (Tests/Fixtures/make_neural_ops.py).
import Foundation
import Testing
import TestSupport
@testable import Neural

// MARK: - Running a golden case

/// Builds the case's op on `g` from its recorded parameters.
private func runCase(_ c: [String: Any], _ g: Graph, _ x: [String: Variable], _ file: GoldenFile) -> Variable {
    let params = c["params"] as? [String: Any] ?? [:]
    func size(_ key: String) -> Size2D {
        if let v = params[key] as? Int { return Size2D(v, v) }
        let v = params[key] as! [Int]
        return Size2D(v[0], v[1])
    }
    func float(_ key: String) -> Float { Float(params[key] as! Double) }
    switch c["op"] as! String {
    case "conv2d":
        let p = params["pad"] as! [Int]
        return g.conv2d(x["x"]!, weight: x["w"]!, bias: x["b"], stride: size("stride"),
                        padding: Padding2D(top: p[0], bottom: p[1], left: p[2], right: p[3]),
                        dilation: size("dilation"), groups: params["groups"] as! Int)
    case "batchNorm":
        return g.batchNorm(x["x"]!, weight: x["g"]!, bias: x["b"]!, runningMean: file.tensor("bn_eval.mean"),
                           runningVar: file.tensor("bn_eval.var"), eps: float("eps"))
    case "batchNormTraining":
        return g.batchNormTraining(x["x"]!, weight: x["g"]!, bias: x["b"]!, eps: float("eps")).output
    case "linear": return g.linear(x["x"]!, weight: x["w"]!, bias: x["b"])
    case "relu": return g.relu(x["x"]!)
    case "relu6": return g.relu6(x["x"]!)
    case "silu": return g.silu(x["x"]!)
    case "sigmoid": return g.sigmoid(x["x"]!)
    case "tanh": return g.tanh(x["x"]!)
    case "leaky": return g.leakyReLU(x["x"]!, slope: float("slope"))
    case "prelu": return g.prelu(x["x"]!, weight: x["a"]!)
    case "add": return g.add(x["a"]!, x["b"]!)
    case "subtract": return g.subtract(x["a"]!, x["b"]!)
    case "multiply": return g.multiply(x["a"]!, x["b"]!)
    case "maxPool2d":
        return g.maxPool2d(x["x"]!, kernel: size("kernel"), stride: size("stride"), padding: size("padding"),
                           ceilMode: params["ceil"] as! Bool)
    case "avgPool2d":
        return g.avgPool2d(x["x"]!, kernel: size("kernel"), stride: size("stride"), padding: size("padding"),
                           ceilMode: params["ceil"] as! Bool, countIncludePad: params["countIncludePad"] as! Bool)
    case "adaptiveAvgPool2d": return g.adaptiveAvgPool2d(x["x"]!, output: size("size"))
    case "resize":
        let mode: ResizeMode = (params["mode"] as! String) == "nearest" ? .nearest : .bilinear
        let align = params["alignCorners"] as! Bool
        if let scale = params["scale"] as? Double {
            return g.resize(x["x"]!, scaleFactor: scale, mode: mode, alignCorners: align)
        }
        return g.resize(x["x"]!, to: size("size"), mode: mode, alignCorners: align)
    case "softmax": return g.softmax(x["x"]!, axis: params["axis"] as! Int)
    case "logSoftmax": return g.logSoftmax(x["x"]!, axis: params["axis"] as! Int)
    case "concat": return g.concat([x["a"]!, x["b"]!], axis: params["axis"] as! Int)
    case "permute": return g.permute(x["x"]!, params["order"] as! [Int])
    case "pad":
        let p = params["pad"] as! [Int]
        return g.pad(x["x"]!, Padding2D(top: p[0], bottom: p[1], left: p[2], right: p[3]), value: float("value"))
    case "mean": return g.mean(x["x"]!, axes: params["axes"] as! [Int])
    case "exp": return g.exp(x["x"]!)
    case "log": return g.log(x["x"]!)
    case "sqrt": return g.sqrt(x["x"]!)
    case "softplus": return g.softplus(x["x"]!)
    case "l2Normalize": return g.l2Normalize(x["x"]!, axis: params["axis"] as! Int)
    case let op: fatalError("golden case \(c["name"]!): unknown op \(op)")
    }
}

// MARK: - Tests

@Suite struct OpsGoldenTests {
    @Test(arguments: GoldenFile.ops.caseNames)
    func forwardAndBackwardMatchPyTorch(_ name: String) {
        let file = GoldenFile.ops, c = file.cases[name]!
        let inputNames = (c["inputs"] as! [String: String]).keys.sorted()
        for recording in [false, true] {
            let g = Graph(recording: recording)
            var vars: [String: Variable] = [:]
            for key in inputNames { vars[key] = g.input(file.tensor((c["inputs"] as! [String: String])[key]!)) }
            let out = runCase(c, g, vars, file)
            let expected = file.tensor(c["output"] as! String)
            #expect(out.shape == expected.shape, "\(name): shape \(out.shape) vs \(expected.shape)")
            expectClose(out.tensor.data, expected.data, atol: 2e-5, rtol: 1e-4, "\(name) forward (recording \(recording))")
            guard recording, let grads = c["grads"] as? [String: String] else { continue }
            let keys = grads.keys.sorted()
            let result = g.backward(from: out, seed: file.tensor(c["seed"] as! String), to: keys.map { vars[$0]! })
            for (key, got) in zip(keys, result) {
                let want = file.tensor(grads[key]!)
                #expect(got.shape == want.shape, "\(name) d\(key): shape \(got.shape) vs \(want.shape)")
                expectClose(got.data, want.data, atol: 5e-5, rtol: 2e-4, "\(name) d\(key)")
            }
        }
    }
}
