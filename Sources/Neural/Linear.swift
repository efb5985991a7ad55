// Linear: y = x · Wᵀ + b over the last axis (PyTorch's nn.Linear), forward and backward.
//
// Letters: B rows (all leading axes flattened), I input features, O output features; weight [O, I], bias [O].
// Kept for backward: the input (for d W) and the weight (for d x).

// MARK: - Forward

func linearForward(_ x: Tensor, _ weight: Tensor, _ bias: Tensor?, activation: Activation = .identity) -> Tensor {
    precondition(weight.rank == 2, "linear: weight must be [O, I], got \(weight.shape)")
    let (o, i) = (weight.shape[0], weight.shape[1])
    precondition(x.rank >= 1 && x.shape.last == i, "linear: input \(x.shape) does not end in \(i) features")
    if let bias { precondition(bias.count == o, "linear: bias has \(bias.count) values for \(o) outputs") }
    let rows = x.count / max(i, 1)
    var y = Tensor(shape: Array(x.shape.dropLast()) + [o]) { _ in }
    y.data.withUnsafeMutableBufferPointer { yp in
        x.data.withUnsafeBufferPointer { xp in
            weight.data.withUnsafeBufferPointer { wp in
                sgemm(transB: true, m: rows, n: o, k: i, a: xp.baseAddress!, lda: i, b: wp.baseAddress!, ldb: i,
                      c: yp.baseAddress!, ldc: o)
            }
        }
        if bias != nil || activation != .identity {
            let b = bias?.data
            for r in 0..<rows {
                let row = yp.baseAddress! + r * o
                if let b { for j in 0..<o { row[j] += b[j] } }
                activation.apply(row, o)
            }
        }
    }
    return y
}

/// The Double-accumulating reference.
func linearNaive(_ x: Tensor, _ weight: Tensor, _ bias: Tensor?) -> Tensor {
    let (o, i) = (weight.shape[0], weight.shape[1]), rows = x.count / i
    var y = [Float](repeating: 0, count: rows * o)
    for r in 0..<rows {
        for j in 0..<o {
            var acc = Double(bias?.data[j] ?? 0)
            for k in 0..<i { acc += Double(x.data[r * i + k]) * Double(weight.data[j * i + k]) }
            y[r * o + j] = Float(acc)
        }
    }
    return Tensor(shape: Array(x.shape.dropLast()) + [o], data: y)
}

// MARK: - Backward

/// d x = d y · W.
func linearBackwardInput(_ dy: Tensor, _ weight: Tensor, inputShape: [Int]) -> Tensor {
    let (o, i) = (weight.shape[0], weight.shape[1]), rows = dy.count / max(o, 1)
    var dx = Tensor(shape: inputShape) { _ in }
    dx.data.withUnsafeMutableBufferPointer { dxp in
        dy.data.withUnsafeBufferPointer { dyp in
            weight.data.withUnsafeBufferPointer { wp in
                sgemm(m: rows, n: i, k: o, a: dyp.baseAddress!, lda: o, b: wp.baseAddress!, ldb: i,
                      c: dxp.baseAddress!, ldc: i)
            }
        }
    }
    return dx
}

/// d W = d yᵀ · x.
func linearBackwardWeight(_ dy: Tensor, _ x: Tensor, weightShape: [Int]) -> Tensor {
    let (o, i) = (weightShape[0], weightShape[1]), rows = dy.count / max(o, 1)
    var dw = Tensor(shape: weightShape) { _ in }
    dw.data.withUnsafeMutableBufferPointer { dwp in
        dy.data.withUnsafeBufferPointer { dyp in
            x.data.withUnsafeBufferPointer { xp in
                sgemm(transA: true, m: o, n: i, k: rows, a: dyp.baseAddress!, lda: o, b: xp.baseAddress!, ldb: i,
                      c: dwp.baseAddress!, ldc: i)
            }
        }
    }
    return dw
}

// MARK: - Graph op

extension Graph {
    /// y = x · Wᵀ + b over the last axis, with an optional fused activation.
    public func linear(_ x: Variable, weight: Variable, bias: Variable? = nil,
                       activation: Activation = .identity) -> Variable {
        guard isRecording else {
            return Variable(timed("linear") { linearForward(x.tensor, weight.tensor, bias?.tensor, activation: activation) })
        }
        let y = linearForward(x.tensor, weight.tensor, bias?.tensor)
        let xt = x.tensor, wt = weight.tensor
        let inputs = bias.map { [x, weight, $0] } ?? [x, weight]
        let out = record(y, inputs: inputs) { dy, wanted in
            var grads: [Tensor?] = [
                wanted[0] ? linearBackwardInput(dy, wt, inputShape: xt.shape) : nil,
                wanted[1] ? linearBackwardWeight(dy, xt, weightShape: wt.shape) : nil,
            ]
            if wanted.count > 2 {
                grads.append(wanted[2] ? sumToShape(dy, [wt.shape[0]]) : nil)
            }
            return grads
        }
        return activate(out, activation)
    }
}
