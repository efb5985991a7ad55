// Neural: float32 tensors, primitive ops with forward and backward side by side, BLAS kernels, gradient tape.
//
// Conventions, stated once for the whole module:
// - Image tensors are NCHW, row-major; weights use PyTorch's layouts verbatim (conv [K, C/groups, R, S],
//   linear [O, I]) so that checkpoints bind without transposes.
// - Models are written once against `Graph`. A graph made with `recording: false` computes values and records
//   nothing; with `recording: true` every op also pushes a node holding what its backward needs.
// - `Graph.backward(from:seed:to:)` walks only the nodes that lie on a path from the output to the requested
//   targets, and computes only the input gradients those nodes need (GradCAM never pays for weight grads).
// - Gradients accumulate, as in PyTorch: contributions from several paths are summed, and a second backward on
//   the same graph adds to the gradients stored from the first until `zeroGradients()`.
// - Every kernel gives bit-identical results for any `Engine.threads`: work is split over independent output
//   channels or rows, never over a reduction, and sgemm is tiled by shape alone (OpenBLAS single-threaded per tile).
//
// Public surface: `Tensor`; `Graph` (input/parameter/constant, name/activation, backward, zeroGradients, profile)
// and `Variable`; ops on Graph — conv2d (stride, dilation, groups, `Padding2D` incl. `.same`, fused activation,
// inputScale), batchNorm, batchNormTraining, linear, activate/relu/relu6/silu/sigmoid/tanh/leakyReLU/prelu,
// add/subtract/multiply (broadcasting), affine, maxPool2d, avgPool2d, adaptiveAvgPool2d, globalAvgPool, resize
// (bilinear/nearest, size or scale factor, align corners), softmax, logSoftmax, concat, slice, reshape, flatten,
// permute, transpose, pad, sum, mean, dropout, exp, log, sqrt, softplus, l2Normalize; `foldBatchNorm`;
// `Engine.threads`.

// MARK: - Tensor

/// A dense float32 tensor in row-major (C) order; image tensors are NCHW.
///
/// Value semantics: `data` is a copy-on-write array, so passing a tensor around never copies it, and mutating a
/// shared one copies once.
public struct Tensor: Sendable, Equatable {
    public var shape: [Int]
    public var data: [Float]

    public init(shape: [Int], data: [Float]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "Tensor: negative dimension in \(shape)")
        precondition(shape.reduce(1, *) == data.count, "Tensor: shape \(shape) does not hold \(data.count) values")
        self.shape = shape
        self.data = data
    }

    /// A tensor of `shape` filled with `value`.
    public init(shape: [Int], repeating value: Float = 0) {
        self.init(shape: shape, data: [Float](repeating: value, count: shape.reduce(1, *)))
    }

    /// A tensor whose values are written by `body` into uninitialised storage of `shape.reduce(1, *)` floats;
    /// `body` must write every element.
    @inlinable
    public init(shape: [Int], unsafeUninitialized body: (UnsafeMutableBufferPointer<Float>) -> Void) {
        let n = shape.reduce(1, *)
        self.shape = shape
        self.data = [Float](unsafeUninitializedCapacity: n) { buffer, count in
            body(buffer)
            count = n
        }
    }

    public var count: Int { data.count }
    public var rank: Int { shape.count }

    /// The same values viewed with another shape of equal element count.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        Tensor(shape: Tensor.resolve(newShape, count: count), data: data)
    }

    /// Replaces a single −1 in `shape` by the size that makes the element count `count`.
    static func resolve(_ shape: [Int], count: Int) -> [Int] {
        guard let hole = shape.firstIndex(of: -1) else { return shape }
        let known = shape.enumerated().reduce(1) { $1.offset == hole ? $0 : $0 * $1.element }
        precondition(known > 0 && count % known == 0, "reshape: \(count) values do not fit \(shape)")
        var resolved = shape
        resolved[hole] = count / known
        return resolved
    }
}

// MARK: - Shape helpers

extension Tensor {
    /// Sizes of an NCHW tensor; traps with the shape when the rank is not 4.
    var nchw: (n: Int, c: Int, h: Int, w: Int) {
        precondition(shape.count == 4, "expected an NCHW tensor, got shape \(shape)")
        return (shape[0], shape[1], shape[2], shape[3])
    }
}
