// Softmax: softmax and log-softmax along one axis, forward and backward.
//
// Letters: the tensor viewed as [O, A, I] — O outer, A the softmax axis, I inner.
// Kept for backward: the output (softmax: dx = y ⊙ (dy − Σ dy·y); log-softmax: dx = dy − eʸ · Σ dy).
import Foundation

// MARK: - Forward

func softmaxForward(_ x: Tensor, axis: Int, log: Bool) -> Tensor {
    let (outer, a, inner) = axisSplit(x.shape, axis)
    var y = x
    y.data.withUnsafeMutableBufferPointer { p in
        for o in 0..<outer {
            for i in 0..<inner {
                let base = o * a * inner + i
                var m = -Float.infinity
                for j in 0..<a { m = max(m, p[base + j * inner]) }
                var sum: Double = 0
                for j in 0..<a { sum += Foundation.exp(Double(p[base + j * inner] - m)) }
                if log {
                    let lse = Float(Foundation.log(sum))
                    for j in 0..<a { p[base + j * inner] = p[base + j * inner] - m - lse }
                } else {
                    for j in 0..<a { p[base + j * inner] = Float(Foundation.exp(Double(p[base + j * inner] - m)) / sum) }
                }
            }
        }
    }
    return y
}

// MARK: - Backward

func softmaxBackward(_ dy: Tensor, output y: Tensor, axis: Int, log: Bool) -> Tensor {
    let (outer, a, inner) = axisSplit(y.shape, axis)
    var dx = dy
    dx.data.withUnsafeMutableBufferPointer { d in
        y.data.withUnsafeBufferPointer { yp in
            for o in 0..<outer {
                for i in 0..<inner {
                    let base = o * a * inner + i
                    var s: Double = 0
                    for j in 0..<a {
                        let k = base + j * inner
                        s += log ? Double(d[k]) : Double(d[k]) * Double(yp[k])
                    }
                    for j in 0..<a {
                        let k = base + j * inner
                        d[k] = log ? d[k] - Foundation.exp(yp[k]) * Float(s) : yp[k] * (d[k] - Float(s))
                    }
                }
            }
        }
    }
    return dx
}

/// [outer, axis size, inner] for `axis` (negative counts from the end).
func axisSplit(_ shape: [Int], _ axis: Int) -> (Int, Int, Int) {
    let ax = normalizedAxis(axis, rank: shape.count)
    return (shape[..<ax].reduce(1, *), shape[ax], shape[(ax + 1)...].reduce(1, *))
}

func normalizedAxis(_ axis: Int, rank: Int) -> Int {
    let ax = axis < 0 ? axis + rank : axis
    precondition(ax >= 0 && ax < rank, "axis \(axis) out of range for rank \(rank)")
    return ax
}

// MARK: - Graph ops

extension Graph {
    /// Softmax along `axis` (negative counts from the end).
    public func softmax(_ x: Variable, axis: Int) -> Variable {
        let y = softmaxForward(x.tensor, axis: axis, log: false)
        return record(y, inputs: [x]) { g, _ in [softmaxBackward(g, output: y, axis: axis, log: false)] }
    }

    /// Log-softmax along `axis`.
    public func logSoftmax(_ x: Variable, axis: Int) -> Variable {
        let y = softmaxForward(x.tensor, axis: axis, log: true)
        return record(y, inputs: [x]) { g, _ in [softmaxBackward(g, output: y, axis: axis, log: true)] }
    }
}
