// Elementwise: exp, log, square root, softplus and L2 normalisation along an axis, forward and backward.
//
// Letters: any shape; l2Normalize views the tensor as [O, A, I] with A the normalised axis.
// Kept for backward: the output for exp and sqrt, the input for log and softplus; for l2Normalize the output
// and each vector's norm.
import Foundation

// MARK: - Kernels

func mapValues(_ x: Tensor, _ f: (Float) -> Float) -> Tensor {
    var y = x
    y.data.withUnsafeMutableBufferPointer { p in for i in 0..<p.count { p[i] = f(p[i]) } }
    return y
}

func zipValues(_ a: Tensor, _ b: Tensor, _ f: (Float, Float) -> Float) -> Tensor {
    var y = a
    y.data.withUnsafeMutableBufferPointer { p in
        b.data.withUnsafeBufferPointer { q in for i in 0..<p.count { p[i] = f(p[i], q[i]) } }
    }
    return y
}

/// x / max(‖x‖₂, eps) along `axis`, as `F.normalize(x, dim: axis, eps:)`; also returns the clamped norms.
func l2NormalizeForward(_ x: Tensor, axis: Int, eps: Float) -> (Tensor, [Float]) {
    let (outer, a, inner) = axisSplit(x.shape, axis)
    var norms = [Float](repeating: 0, count: outer * inner)
    var y = x
    y.data.withUnsafeMutableBufferPointer { p in
        for o in 0..<outer {
            for i in 0..<inner {
                let base = o * a * inner + i
                var s = 0.0
                for j in 0..<a { let v = Double(p[base + j * inner]); s += v * v }
                let norm = max(Float(s.squareRoot()), eps)
                norms[o * inner + i] = norm
                for j in 0..<a { p[base + j * inner] /= norm }
            }
        }
    }
    return (y, norms)
}

/// dx = (dy − y · ⟨dy, y⟩) / ‖x‖ where the norm was not clamped, dy / eps where it was.
func l2NormalizeBackward(_ dy: Tensor, output y: Tensor, norms: [Float], axis: Int, eps: Float) -> Tensor {
    let (outer, a, inner) = axisSplit(y.shape, axis)
    var dx = dy
    dx.data.withUnsafeMutableBufferPointer { d in
        for o in 0..<outer {
            for i in 0..<inner {
                let base = o * a * inner + i, norm = norms[o * inner + i]
                var dot = 0.0
                if norm > eps { for j in 0..<a { dot += Double(d[base + j * inner]) * Double(y.data[base + j * inner]) } }
                for j in 0..<a {
                    let k = base + j * inner
                    d[k] = (d[k] - y.data[k] * Float(dot)) / norm
                }
            }
        }
    }
    return dx
}

// MARK: - Graph ops

extension Graph {
    /// eˣ elementwise.
    public func exp(_ x: Variable) -> Variable {
        let y = mapValues(x.tensor) { Foundation.exp($0) }
        return record(y, inputs: [x]) { g, _ in [zipValues(g, y, *)] }
    }

    /// Natural log elementwise.
    public func log(_ x: Variable) -> Variable {
        let xt = x.tensor
        return record(mapValues(xt) { Foundation.log($0) }, inputs: [x]) { g, _ in [zipValues(g, xt, /)] }
    }

    /// √x elementwise.
    public func sqrt(_ x: Variable) -> Variable {
        let y = mapValues(x.tensor) { $0.squareRoot() }
        return record(y, inputs: [x]) { g, _ in [zipValues(g, y) { $0 / (2 * $1) }] }
    }

    /// log(1 + eˣ), computed without overflow (PyTorch's softplus with beta 1 and its linear regime above 20).
    public func softplus(_ x: Variable) -> Variable {
        let xt = x.tensor
        let y = mapValues(xt) { $0 > 20 ? $0 : Float(Foundation.log1p(Foundation.exp(Double($0)))) }
        return record(y, inputs: [x]) { g, _ in
            [zipValues(g, xt) { d, v in v > 20 ? d : d / (1 + Foundation.exp(-v)) }]
        }
    }

    /// x / max(‖x‖₂, eps) along `axis`, as `F.normalize` (cosine heads, embeddings).
    public func l2Normalize(_ x: Variable, axis: Int, eps: Float = 1e-12) -> Variable {
        let (y, norms) = l2NormalizeForward(x.tensor, axis: axis, eps: eps)
        return record(y, inputs: [x]) { g, _ in [l2NormalizeBackward(g, output: y, norms: norms, axis: axis, eps: eps)] }
    }
}
