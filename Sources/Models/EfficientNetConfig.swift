// EfficientNetConfig: compound scaling (B0–B7 and custom coefficients), the four padding conventions in use,
// and the block list every EfficientNet code base derives from the same B0 table.
import Neural

// MARK: - Padding conventions

/// How an EfficientNet code base pads its convolutions; the same weights give different outputs under each.
public enum EfficientNetPadding: String, Sendable, CaseIterable {
    /// efficientnet_pytorch ≥ 0.7: TensorFlow SAME computed once per layer for the model's nominal image size,
    /// then applied unchanged whatever the real input size is.
    case lukemelas07 = "lukemelas-0.7"
    /// efficientnet_pytorch ≤ 0.6: TensorFlow SAME computed for the nominal image size at *every* layer (the
    /// global size, not the layer's own input size) — the bug 0.7 fixed, kept because 0.6 checkpoints were
    /// trained with it.
    case lukemelas06 = "lukemelas-0.6"
    /// timm `efficientnet_*`: PyTorch symmetric padding ((stride − 1) + (k − 1)) / 2, BatchNorm eps 1e-5.
    case timm = "timm"
    /// timm `tf_efficientnet_*`: TensorFlow SAME from the actual input size in forward, BatchNorm eps 1e-3.
    case timmTF = "timm-tf"

    /// Whether parameters use efficientnet_pytorch's key names (`_blocks.N`) rather than timm's (`blocks.S.I`).
    var lukemelasKeys: Bool { self == .lukemelas07 || self == .lukemelas06 }

    var batchNormEps: Float { self == .timm ? 1e-5 : 1e-3 }
}

/// How one convolution finds its zero padding.
enum PaddingRule: Sendable, Equatable {
    case fixed(Padding2D)
    /// TensorFlow SAME for the size of the tensor actually arriving.
    case dynamicSame

    func resolve(height: Int, width: Int, kernel: Int, stride: Int) -> Padding2D {
        switch self {
        case .fixed(let p): return p
        case .dynamicSame:
            return .same(height: height, width: width, kernel: Size2D(kernel, kernel), stride: Size2D(stride, stride))
        }
    }
}

// MARK: - Stage table

/// One stage of the B0 table before scaling: `repeats` blocks of kernel `kernel`, the first with `stride`.
struct StageArgs: Sendable, Equatable {
    var repeats: Int, kernel: Int, stride: Int, expand: Int, input: Int, output: Int
}

/// One block after compound scaling.
struct BlockArgs: Sendable, Equatable {
    var stage: Int, index: Int, kernel: Int, stride: Int, expand: Int, input: Int, output: Int
    var hasSkip: Bool { stride == 1 && input == output }
}

// MARK: - Configuration

/// The architecture-defining numbers of an EfficientNet: width/depth coefficients and nominal resolution.
public struct EfficientNetConfig: Sendable, Equatable {
    /// Channel multiplier (B4: 1.4).
    public var width: Double
    /// Block-count multiplier (B4: 1.8).
    public var depth: Double
    /// The image size the model is built for (B4: 380); static SAME padding is computed for it.
    public var resolution: Int
    /// The variant string it was made from (`b4`, or `w0.25d0.34r64`).
    public var name: String

    /// The B0 table shared by efficientnet_pytorch, timm and the TensorFlow reference.
    static let baseStages: [StageArgs] = [
        StageArgs(repeats: 1, kernel: 3, stride: 1, expand: 1, input: 32, output: 16),
        StageArgs(repeats: 2, kernel: 3, stride: 2, expand: 6, input: 16, output: 24),
        StageArgs(repeats: 2, kernel: 5, stride: 2, expand: 6, input: 24, output: 40),
        StageArgs(repeats: 3, kernel: 3, stride: 2, expand: 6, input: 40, output: 80),
        StageArgs(repeats: 3, kernel: 5, stride: 1, expand: 6, input: 80, output: 112),
        StageArgs(repeats: 4, kernel: 5, stride: 2, expand: 6, input: 112, output: 192),
        StageArgs(repeats: 1, kernel: 3, stride: 1, expand: 6, input: 192, output: 320),
    ]

    static let standard: [String: (Double, Double, Int)] = [
        "b0": (1.0, 1.0, 224), "b1": (1.0, 1.1, 240), "b2": (1.1, 1.2, 260), "b3": (1.2, 1.4, 300),
        "b4": (1.4, 1.8, 380), "b5": (1.6, 2.2, 456), "b6": (1.8, 2.6, 528), "b7": (2.0, 3.1, 600),
    ]

    /// Parses `b0`…`b7`, or `wW` `dD` `rR` in that order for custom coefficients (`w0.25d0.34r64`, used by the
    /// reduced test models; efficientnet_pytorch's `GlobalParams` and timm's multipliers take the same numbers).
    public init(variant: String) throws {
        let v = variant.lowercased()
        if let (w, d, r) = Self.standard[v] {
            self.init(width: w, depth: d, resolution: r, name: v)
            return
        }
        guard v.first == "w", let dIdx = v.firstIndex(of: "d"), let rIdx = v.firstIndex(of: "r"), dIdx < rIdx,
              let w = Double(v[v.index(after: v.startIndex)..<dIdx]),
              let d = Double(v[v.index(after: dIdx)..<rIdx]),
              let r = Int(v[v.index(after: rIdx)...]), w > 0, d > 0, r > 0 else {
            throw ModelError.invalidConfiguration(
                "EfficientNet variant '\(variant)': expected b0…b7 or wWIDTHdDEPTHrRESOLUTION such as w0.25d0.34r64")
        }
        self.init(width: w, depth: d, resolution: r, name: v)
    }

    init(width: Double, depth: Double, resolution: Int, name: String) {
        self.width = width; self.depth = depth; self.resolution = resolution; self.name = name
    }

    // MARK: Scaling rules

    /// Channels scaled by `width`, rounded to a multiple of 8 and never more than 10 % below the exact value.
    func roundFilters(_ filters: Int) -> Int {
        let divisor = 8.0
        let scaled = Double(filters) * width
        var rounded = max(divisor, Double(Int(scaled + divisor / 2) / Int(divisor)) * divisor)
        if rounded < 0.9 * scaled { rounded += divisor }
        return Int(rounded)
    }

    /// Block count scaled by `depth`, rounded up.
    func roundRepeats(_ repeats: Int) -> Int { Int((depth * Double(repeats)).rounded(.up)) }

    var stemChannels: Int { roundFilters(32) }
    var headChannels: Int { roundFilters(1280) }

    /// Every block in execution order, with stage and index within the stage (timm's `blocks.S.I`).
    var blocks: [BlockArgs] {
        var out: [BlockArgs] = []
        for (s, stage) in Self.baseStages.enumerated() {
            let input = roundFilters(stage.input), output = roundFilters(stage.output)
            for i in 0..<roundRepeats(stage.repeats) {
                out.append(BlockArgs(stage: s, index: i, kernel: stage.kernel, stride: i == 0 ? stage.stride : 1,
                                     expand: stage.expand, input: i == 0 ? input : output, output: output))
            }
        }
        return out
    }

    /// The block after which EfficientNetAutoAtt inserts its attention: the last block of the third stage
    /// (icpr2020dfdc's `att_block_idx` = 9 for B4, the only variant that repository defines; the same
    /// position — end of the stride-8 stage — for the others).
    var attentionBlockIndex: Int {
        (0..<3).reduce(0) { $0 + roundRepeats(Self.baseStages[$1].repeats) } - 1
    }
}
