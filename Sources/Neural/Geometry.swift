// Geometry: small value types that describe windows (stride, padding, dilation) for convolution and pooling.

// MARK: - Size2D

/// A height/width pair; an integer literal means the same value for both (`stride: 2`).
public struct Size2D: Sendable, Equatable, ExpressibleByIntegerLiteral, CustomStringConvertible {
    public var h: Int
    public var w: Int
    public init(_ h: Int, _ w: Int) { self.h = h; self.w = w }
    public init(integerLiteral value: Int) { self.init(value, value) }
    public var description: String { "(\(h), \(w))" }
}

// MARK: - Padding2D

/// Explicit, possibly asymmetric, zero padding of the two spatial axes.
public struct Padding2D: Sendable, Equatable, ExpressibleByIntegerLiteral, CustomStringConvertible {
    public var top: Int, bottom: Int, left: Int, right: Int

    public init(top: Int, bottom: Int, left: Int, right: Int) {
        self.top = top; self.bottom = bottom; self.left = left; self.right = right
    }
    /// Symmetric padding, PyTorch's `padding=(h, w)`.
    public init(_ h: Int, _ w: Int) { self.init(top: h, bottom: h, left: w, right: w) }
    public init(integerLiteral value: Int) { self.init(value, value) }

    public static let zero = Padding2D(0, 0)

    /// TensorFlow "SAME" padding for an input of `height`×`width`: the output is ⌈input / stride⌉ and the odd
    /// pixel of padding goes to the bottom/right (what timm's `tf_` models and efficientnet_pytorch compute).
    public static func same(height: Int, width: Int, kernel: Size2D, stride: Size2D = 1,
                            dilation: Size2D = 1) -> Padding2D {
        func split(_ input: Int, _ k: Int, _ s: Int, _ d: Int) -> (Int, Int) {
            let out = (input + s - 1) / s
            let total = max((out - 1) * s + (k - 1) * d + 1 - input, 0)
            return (total / 2, total - total / 2)
        }
        let (t, b) = split(height, kernel.h, stride.h, dilation.h)
        let (l, r) = split(width, kernel.w, stride.w, dilation.w)
        return Padding2D(top: t, bottom: b, left: l, right: r)
    }

    public var description: String { "(top \(top), bottom \(bottom), left \(left), right \(right))" }
}

// MARK: - Convolution geometry

/// All sizes of one conv2d call. Letters: N batch, C input channels, H×W input, K output channels,
/// R×S kernel, P×Q output, G groups.
struct ConvGeometry: Equatable {
    var n: Int, c: Int, h: Int, w: Int
    var k: Int, r: Int, s: Int
    var stride: Size2D, dilation: Size2D, padding: Padding2D, groups: Int
    var p: Int, q: Int

    init(input: [Int], weight: [Int], stride: Size2D, padding: Padding2D, dilation: Size2D, groups: Int) {
        precondition(input.count == 4, "conv2d: input must be NCHW, got \(input)")
        precondition(weight.count == 4, "conv2d: weight must be [K, C/groups, R, S], got \(weight)")
        precondition(groups >= 1 && input[1] % groups == 0 && weight[0] % groups == 0,
                     "conv2d: groups \(groups) must divide channels \(input[1]) and \(weight[0])")
        precondition(weight[1] * groups == input[1],
                     "conv2d: weight \(weight) with groups \(groups) does not take \(input[1]) input channels")
        precondition(stride.h > 0 && stride.w > 0 && dilation.h > 0 && dilation.w > 0, "conv2d: bad stride/dilation")
        (n, c, h, w) = (input[0], input[1], input[2], input[3])
        (k, r, s) = (weight[0], weight[2], weight[3])
        self.stride = stride; self.padding = padding; self.dilation = dilation; self.groups = groups
        p = (h + padding.top + padding.bottom - dilation.h * (r - 1) - 1) / stride.h + 1
        q = (w + padding.left + padding.right - dilation.w * (s - 1) - 1) / stride.w + 1
        precondition(p > 0 && q > 0, "conv2d: input \(input) too small for kernel \(r)×\(s) with padding \(padding)")
    }

    var cg: Int { c / groups }
    var kg: Int { k / groups }
    /// Rows of the im2col matrix of one group.
    var colRows: Int { cg * r * s }
    var isPointwise: Bool {
        r == 1 && s == 1 && stride == 1 && padding == .zero
    }
    var isDepthwise: Bool { groups == c && groups > 1 && k % c == 0 }
    var outputShape: [Int] { [n, k, p, q] }
}
