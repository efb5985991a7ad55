// ShapeOps: reshape, flatten, permute/transpose, concat, constant padding, slicing, reductions and dropout,
// forward and backward.
//
// Letters: any shapes; concat and slice name their axis; pad works on the last two axes (H, W).
// Kept for backward: only shapes and the permutation (reshape and permute need no values).

// MARK: - Permute kernel

func permuteForward(_ x: Tensor, _ order: [Int]) -> Tensor {
    let rank = x.rank
    precondition(order.sorted() == Array(0..<rank), "permute: \(order) is not a permutation of rank \(rank)")
    let outShape = order.map { x.shape[$0] }
    var inStrides = [Int](repeating: 1, count: rank)
    for i in stride(from: rank - 2, through: 0, by: -1) { inStrides[i] = inStrides[i + 1] * x.shape[i + 1] }
    let strides = order.map { inStrides[$0] }
    return Tensor(shape: outShape) { out in
        x.data.withUnsafeBufferPointer { src in
            var index = [Int](repeating: 0, count: rank)
            var offset = 0
            for i in 0..<out.count {
                out[i] = src[offset]
                var axis = rank - 1
                while axis >= 0 {
                    index[axis] += 1; offset += strides[axis]
                    if index[axis] < outShape[axis] { break }
                    offset -= strides[axis] * outShape[axis]; index[axis] = 0
                    axis -= 1
                }
            }
        }
    }
}

// MARK: - Concat and slice kernels

func concatForward(_ parts: [Tensor], axis: Int) -> Tensor {
    precondition(!parts.isEmpty, "concat: no tensors")
    let ax = normalizedAxis(axis, rank: parts[0].rank)
    for t in parts {
        precondition(t.rank == parts[0].rank && (0..<t.rank).allSatisfy { $0 == ax || t.shape[$0] == parts[0].shape[$0] },
                     "concat: shape \(t.shape) does not match \(parts[0].shape) outside axis \(axis)")
    }
    var shape = parts[0].shape
    shape[ax] = parts.reduce(0) { $0 + $1.shape[ax] }
    let outer = shape[..<ax].reduce(1, *)
    var data = [Float]()
    data.reserveCapacity(shape.reduce(1, *))
    for o in 0..<outer {
        for t in parts {
            let run = t.count / max(outer, 1)
            data.append(contentsOf: t.data[(o * run)..<((o + 1) * run)])
        }
    }
    return Tensor(shape: shape, data: data)
}

/// Elements start..<end along `axis`.
func sliceForward(_ x: Tensor, axis: Int, range: Range<Int>) -> Tensor {
    let ax = normalizedAxis(axis, rank: x.rank)
    precondition(range.lowerBound >= 0 && range.upperBound <= x.shape[ax], "slice: \(range) outside axis size \(x.shape[ax])")
    var shape = x.shape
    shape[ax] = range.count
    let outer = x.shape[..<ax].reduce(1, *), inner = x.shape[(ax + 1)...].reduce(1, *)
    var data = [Float]()
    data.reserveCapacity(shape.reduce(1, *))
    for o in 0..<outer {
        let base = (o * x.shape[ax] + range.lowerBound) * inner
        data.append(contentsOf: x.data[base..<(base + range.count * inner)])
    }
    return Tensor(shape: shape, data: data)
}

// MARK: - Padding kernel

/// Pads the last two axes with `value`; negative amounts crop (used by the backward).
func pad2dForward(_ x: Tensor, _ pad: Padding2D, value: Float) -> Tensor {
    precondition(x.rank >= 2, "pad: needs at least two axes, got \(x.shape)")
    let h = x.shape[x.rank - 2], w = x.shape[x.rank - 1], planes = x.count / max(h * w, 1)
    let p = h + pad.top + pad.bottom, q = w + pad.left + pad.right
    precondition(p > 0 && q > 0, "pad: \(pad) leaves nothing of \(x.shape)")
    var y = Tensor(shape: Array(x.shape.dropLast(2)) + [p, q], repeating: value)
    y.data.withUnsafeMutableBufferPointer { yp in
        x.data.withUnsafeBufferPointer { xp in
            for plane in 0..<planes {
                for oy in 0..<p {
                    let iy = oy - pad.top
                    guard iy >= 0 && iy < h else { continue }
                    for ox in max(0, pad.left)..<min(q, w + pad.left) {
                        yp[plane * p * q + oy * q + ox] = xp[plane * h * w + iy * w + ox - pad.left]
                    }
                }
            }
        }
    }
    return y
}

// MARK: - Reductions

/// Sums over `axes`, keeping them as size 1 when `keepDims`.
func sumForward(_ x: Tensor, axes: [Int]) -> Tensor {
    let axesSet = Set(axes.map { normalizedAxis($0, rank: x.rank) })
    let kept = x.shape.enumerated().map { axesSet.contains($0.offset) ? 1 : $0.element }
    return sumToShape(x, kept)
}

// MARK: - Graph ops

extension Graph {
    /// The same values with another shape (one −1 is inferred).
    public func reshape(_ x: Variable, _ shape: [Int]) -> Variable {
        let old = x.shape
        return record(x.tensor.reshaped(shape), inputs: [x]) { g, _ in [g.reshaped(old)] }
    }

    /// Flattens axes from `startAxis` on into one, as `torch.flatten(x, start_dim)`.
    public func flatten(_ x: Variable, from startAxis: Int = 1) -> Variable {
        let s = x.shape, ax = normalizedAxis(startAxis, rank: s.count)
        return reshape(x, Array(s[..<ax]) + [s[ax...].reduce(1, *)])
    }

    /// Reorders axes: output axis i is input axis `order[i]`.
    public func permute(_ x: Variable, _ order: [Int]) -> Variable {
        var inverse = [Int](repeating: 0, count: order.count)
        for (i, o) in order.enumerated() { inverse[o] = i }
        return record(permuteForward(x.tensor, order), inputs: [x]) { g, _ in [permuteForward(g, inverse)] }
    }

    /// Swaps two axes.
    public func transpose(_ x: Variable, _ a: Int, _ b: Int) -> Variable {
        var order = Array(0..<x.tensor.rank)
        order.swapAt(normalizedAxis(a, rank: order.count), normalizedAxis(b, rank: order.count))
        return permute(x, order)
    }

    /// Concatenates along `axis` (channels: 1).
    public func concat(_ parts: [Variable], axis: Int = 1) -> Variable {
        let y = concatForward(parts.map(\.tensor), axis: axis)
        let sizes = parts.map { $0.shape[normalizedAxis(axis, rank: $0.tensor.rank)] }
        return record(y, inputs: parts) { g, wanted in
            var start = 0
            return sizes.enumerated().map { i, size in
                defer { start += size }
                return wanted[i] ? sliceForward(g, axis: axis, range: start..<(start + size)) : nil
            }
        }
    }

    /// Elements `range` along `axis`.
    public func slice(_ x: Variable, axis: Int, _ range: Range<Int>) -> Variable {
        let shape = x.shape, ax = normalizedAxis(axis, rank: shape.count)
        return record(sliceForward(x.tensor, axis: ax, range: range), inputs: [x]) { g, _ in
            let before = Array(shape[..<ax]), after = Array(shape[(ax + 1)...])
            let parts = [range.lowerBound, range.count, shape[ax] - range.upperBound].enumerated().compactMap { i, n in
                n == 0 ? nil : (i == 1 ? g : Tensor(shape: before + [n] + after))
            }
            return [concatForward(parts, axis: ax)]
        }
    }

    /// Pads H and W with a constant (zero by default), as `F.pad(x, (left, right, top, bottom), value=)`.
    public func pad(_ x: Variable, _ padding: Padding2D, value: Float = 0) -> Variable {
        let crop = Padding2D(top: -padding.top, bottom: -padding.bottom, left: -padding.left, right: -padding.right)
        return record(pad2dForward(x.tensor, padding, value: value), inputs: [x]) { g, _ in
            [pad2dForward(g, crop, value: 0)]
        }
    }

    /// Sum over `axes`; the axes stay as size 1 unless `keepDims` is false.
    public func sum(_ x: Variable, axes: [Int], keepDims: Bool = true) -> Variable {
        let shape = x.shape
        var y = record(sumForward(x.tensor, axes: axes), inputs: [x]) { g, _ in
            [broadcastForward(Tensor(shape: shape), g, .add)]
        }
        if !keepDims {
            let drop = Set(axes.map { normalizedAxis($0, rank: shape.count) })
            y = reshape(y, shape.enumerated().filter { !drop.contains($0.offset) }.map(\.element))
        }
        return y
    }

    /// Mean over `axes`.
    public func mean(_ x: Variable, axes: [Int], keepDims: Bool = true) -> Variable {
        let n = axes.map { x.shape[normalizedAxis($0, rank: x.shape.count)] }.reduce(1, *)
        return affine(sum(x, axes: axes, keepDims: keepDims), scale: 1 / Float(n))
    }

    /// Dropout in inference: the identity (PyTorch scales at training time, so nothing to undo here).
    public func dropout(_ x: Variable) -> Variable { x }
}
