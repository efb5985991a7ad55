// Broadcast: elementwise add, subtract and multiply with NumPy/PyTorch broadcasting, forward and backward.
//
// Letters: any shapes that broadcast (aligned from the right, size-1 axes stretch), e.g. NCHW × NC11 for
// squeeze-excite and attention gates, N1HW × NCHW for spatial maps.
// Kept for backward: nothing for add/subtract; both operands for multiply (each is the other's derivative).

// MARK: - Broadcast plan

/// Output shape and, after merging neighbouring axes that broadcast alike, each operand's strides in the
/// output index space (0 on stretched axes). Merging turns NCHW × NC11 into [NC, HW] with strides [1, 0].
struct BroadcastPlan {
    var shape: [Int]
    var dims: [Int]
    var strideA: [Int]
    var strideB: [Int]

    init(_ a: [Int], _ b: [Int]) {
        let rank = max(a.count, b.count)
        let pa = [Int](repeating: 1, count: rank - a.count) + a
        let pb = [Int](repeating: 1, count: rank - b.count) + b
        shape = zip(pa, pb).map { x, y in
            precondition(x == y || x == 1 || y == 1, "broadcast: shapes \(a) and \(b) do not broadcast")
            return max(x, y)
        }
        // Merge from the right: axes join while each operand keeps its broadcast status.
        var dims: [Int] = [], kindA: [Bool] = [], kindB: [Bool] = []
        for axis in 0..<rank where shape[axis] != 1 {
            let ka = pa[axis] != 1, kb = pb[axis] != 1
            if let last = dims.indices.last, kindA[last] == ka, kindB[last] == kb {
                dims[last] *= shape[axis]
            } else {
                dims.append(shape[axis]); kindA.append(ka); kindB.append(kb)
            }
        }
        if dims.isEmpty { dims = [1]; kindA = [true]; kindB = [true] }
        self.dims = dims
        func strides(_ kinds: [Bool]) -> [Int] {
            var result = [Int](repeating: 0, count: dims.count), running = 1
            for i in stride(from: dims.count - 1, through: 0, by: -1) where kinds[i] {
                result[i] = running; running *= dims[i]
            }
            return result
        }
        strideA = strides(kindA)
        strideB = strides(kindB)
    }

    var count: Int { dims.reduce(1, *) }

    /// The number of runs of the innermost axis.
    var runs: Int { count / dims[dims.count - 1] }

    /// Calls `body(outOffset, aOffset, bOffset, length, aStep, bStep)` for every run of the innermost axis, or
    /// for the runs in `selection` (run r starts at output offset r · length).
    func forEachRun(in selection: Range<Int>? = nil, _ body: (Int, Int, Int, Int, Int, Int) -> Void) {
        let last = dims.count - 1, inner = dims[last]
        let selected = selection ?? 0..<runs
        guard !selected.isEmpty else { return }
        // The multi-index of the first selected run, and the operands' offsets there.
        var index = [Int](repeating: 0, count: dims.count)
        var oa = 0, ob = 0, rest = selected.lowerBound
        for axis in stride(from: last - 1, through: 0, by: -1) {
            index[axis] = rest % dims[axis]; rest /= dims[axis]
            oa += index[axis] * strideA[axis]; ob += index[axis] * strideB[axis]
        }
        for run in selected {
            body(run * inner, oa, ob, inner, strideA[last], strideB[last])
            var axis = last - 1
            while axis >= 0 {
                index[axis] += 1; oa += strideA[axis]; ob += strideB[axis]
                if index[axis] < dims[axis] { break }
                oa -= strideA[axis] * dims[axis]; ob -= strideB[axis] * dims[axis]
                index[axis] = 0
                axis -= 1
            }
        }
    }
}

enum BinaryOp { case add, subtract, multiply }

// MARK: - Forward

func broadcastForward(_ a: Tensor, _ b: Tensor, _ op: BinaryOp) -> Tensor {
    if a.shape == b.shape { return elementwise(a, b, op) }
    let plan = BroadcastPlan(a.shape, b.shape)
    return Tensor(shape: plan.shape) { out in
        a.data.withUnsafeBufferPointer { ap in
            b.data.withUnsafeBufferPointer { bp in
                let o = out.baseAddress!, x = ap.baseAddress!, y = bp.baseAddress!
                // Runs write disjoint output ranges: split them over the workers.
                let perRun = max(1, plan.count / max(plan.runs, 1))
                Engine.parallelChunks(plan.runs, minimumPerThread: max(1, Engine.elementwiseChunk / perRun)) { runs in
                    plan.forEachRun(in: runs) { oo, ao, bo, len, sa, sb in
                        switch (op, sa, sb) {
                        case (.add, 1, 1): for i in 0..<len { o[oo + i] = x[ao + i] + y[bo + i] }
                        case (.add, 1, 0): let v = y[bo]; for i in 0..<len { o[oo + i] = x[ao + i] + v }
                        case (.multiply, 1, 1): for i in 0..<len { o[oo + i] = x[ao + i] * y[bo + i] }
                        case (.multiply, 1, 0): let v = y[bo]; for i in 0..<len { o[oo + i] = x[ao + i] * v }
                        case (.multiply, 0, 1): let v = x[ao]; for i in 0..<len { o[oo + i] = v * y[bo + i] }
                        default:
                            for i in 0..<len {
                                let u = x[ao + i * sa], v = y[bo + i * sb]
                                switch op {
                                case .add: o[oo + i] = u + v
                                case .subtract: o[oo + i] = u - v
                                case .multiply: o[oo + i] = u * v
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// a op b for equal shapes (residual adds and their gradients): contiguous runs, one per worker.
private func elementwise(_ a: Tensor, _ b: Tensor, _ op: BinaryOp) -> Tensor {
    Tensor(shape: a.shape, unsafeUninitialized: { out in
        a.data.withUnsafeBufferPointer { ap in
            b.data.withUnsafeBufferPointer { bp in
                let (o, x, y) = (out.baseAddress!, ap.baseAddress!, bp.baseAddress!)
                Engine.parallelChunks(out.count, minimumPerThread: Engine.elementwiseChunk) { range in
                    switch op {
                    case .add: for i in range { o[i] = x[i] + y[i] }
                    case .subtract: for i in range { o[i] = x[i] - y[i] }
                    case .multiply: for i in range { o[i] = x[i] * y[i] }
                    }
                }
            }
        }
    })
}

// MARK: - Backward

/// Sums `grad` (shaped like the broadcast output) down to `shape`, the inverse of broadcasting.
func sumToShape(_ grad: Tensor, _ shape: [Int]) -> Tensor {
    if grad.shape == shape { return grad }
    let plan = BroadcastPlan(grad.shape, shape)
    precondition(plan.shape == grad.shape, "sumToShape: \(shape) does not broadcast to \(grad.shape)")
    var sums = [Double](repeating: 0, count: shape.reduce(1, *))
    // Squeeze-excite and attention gates ([N, C, 1, 1] from [N, C, H, W]): each run sums into its own element.
    let lastAxis = plan.dims.count - 1
    if plan.strideB[lastAxis] == 0 && sums.count == plan.runs {
        grad.data.withUnsafeBufferPointer { g in
            sums.withUnsafeMutableBufferPointer { out in
                let (gb, ob, inner) = (g.baseAddress!, out.baseAddress!, plan.dims[lastAxis])
                Engine.parallelFor(plan.runs, minimumPerThread: max(1, Engine.elementwiseChunk / max(inner, 1))) { run in
                    ob[run] = blockedSum(gb + run * inner, inner)
                }
            }
        }
        return Tensor(shape: shape, data: sums.map(Float.init))
    }
    grad.data.withUnsafeBufferPointer { g in
        plan.forEachRun { oo, _, bo, len, _, sb in
            if sb == 0 {
                var acc = 0.0
                for i in 0..<len { acc += Double(g[oo + i]) }
                sums[bo] += acc
            } else {
                for i in 0..<len { sums[bo + i * sb] += Double(g[oo + i]) }
            }
        }
    }
    return Tensor(shape: shape, data: sums.map(Float.init))
}

// MARK: - Graph ops

extension Graph {
    /// a + b with broadcasting.
    public func add(_ a: Variable, _ b: Variable) -> Variable {
        let (sa, sb) = (a.shape, b.shape)
        return record(timed("add") { broadcastForward(a.tensor, b.tensor, .add) }, inputs: [a, b]) { g, wanted in
            [wanted[0] ? sumToShape(g, sa) : nil, wanted[1] ? sumToShape(g, sb) : nil]
        }
    }

    /// a − b with broadcasting.
    public func subtract(_ a: Variable, _ b: Variable) -> Variable {
        let (sa, sb) = (a.shape, b.shape)
        return record(broadcastForward(a.tensor, b.tensor, .subtract), inputs: [a, b]) { g, wanted in
            [wanted[0] ? sumToShape(g, sa) : nil,
             wanted[1] ? sumToShape(broadcastForward(g, Tensor(shape: [1], data: [-1]), .multiply), sb) : nil]
        }
    }

    /// a · b elementwise with broadcasting (squeeze-excite: `g.multiply(x, gate)` with gate NC11).
    public func multiply(_ a: Variable, _ b: Variable) -> Variable {
        let (at, bt) = (a.tensor, b.tensor)
        return record(timed("multiply") { broadcastForward(at, bt, .multiply) }, inputs: [a, b]) { g, wanted in
            [wanted[0] ? sumToShape(broadcastForward(g, bt, .multiply), at.shape) : nil,
             wanted[1] ? sumToShape(broadcastForward(g, at, .multiply), bt.shape) : nil]
        }
    }

    /// x · factor + offset, elementwise (input normalisation, sign flips).
    public func affine(_ x: Variable, scale factor: Float, offset: Float = 0) -> Variable {
        var y = x.tensor
        y.data.withUnsafeMutableBufferPointer { p in for i in 0..<p.count { p[i] = p[i] * factor + offset } }
        return record(y, inputs: [x]) { g, _ in
            var dx = g
            dx.data.withUnsafeMutableBufferPointer { p in for i in 0..<p.count { p[i] *= factor } }
            return [dx]
        }
    }
}
