// Neural: float32 tensors, primitive ops with forward and backward side by side, BLAS kernels, gradient tape.

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

    public var count: Int { data.count }
    public var rank: Int { shape.count }
}
