// AttentionMaps: explainers that read a detector's own attention (Bonettini's AutoAtt map, LTPA's levels).
import Models
import Neural

// MARK: - Bonettini attention

/// The EfficientNetAutoAtt detector's own sigmoid map (28×28 for B4 at 224), upsampled bilinearly to the input
/// size (half-pixel centres, `F.interpolate(align_corners=False)`). Values stay the sigmoid's, in (0, 1): no
/// rescaling, so maps of different frames compare as the model made them.
public struct AttentionExplainer: Explainer {
    public let network: Network
    public var batchSize: Int

    public init(network: Network, batchSize: Int = 8) {
        self.network = network
        self.batchSize = max(1, batchSize)
    }

    public var name: String { "attention" }
    public var cost: ExplainerCost { .instant }

    public func explain(_ clip: FaceClip, cancellation: Cancellation,
                        progress: @Sendable (Double) -> Void) throws -> [HeatMap] {
        guard network.layerNames.contains(EfficientNet.attentionName) else {
            throw ExplainError.unsupported("the detector has no attention map (only efficientnet-autoatt has one)")
        }
        return try forEachBatch(of: clip.input, size: batchSize, cancellation: cancellation, progress: progress) { x in
            try upsampledActivation(network, input: x, name: EfficientNet.attentionName, normalise: false)
        }
    }
}

// MARK: - LTPA levels

/// One of an LTPA detector's three attention maps (level 1 = the finest), upsampled bilinearly to the input
/// size and divided by its maximum: a softmax over positions sums to one, so its raw values shrink with the map
/// size, and the division puts every level on the [0, 1] scale overlays and metrics use.
public struct LTPAExplainer: Explainer {
    public let network: Network
    /// 1, 2 or 3.
    public let level: Int
    public var batchSize: Int

    public init(network: Network, level: Int, batchSize: Int = 8) {
        precondition((1...3).contains(level), "LTPAExplainer: level \(level) is not 1, 2 or 3")
        self.network = network
        self.level = level
        self.batchSize = max(1, batchSize)
    }

    public var name: String { "ltpa\(level)" }
    public var cost: ExplainerCost { .instant }

    public func explain(_ clip: FaceClip, cancellation: Cancellation,
                        progress: @Sendable (Double) -> Void) throws -> [HeatMap] {
        guard network is LTPA else { throw ExplainError.unsupported("the detector is not an efficientnet-ltpa model") }
        return try forEachBatch(of: clip.input, size: batchSize, cancellation: cancellation, progress: progress) { x in
            try upsampledActivation(network, input: x, name: LTPA.levelNames[level - 1], normalise: true)
        }
    }
}

/// Runs inference keeping the N×1×h×w activation `name` and returns it resized to the input, one map per item.
func upsampledActivation(_ network: Network, input x: Tensor, name: String, normalise: Bool) throws -> [HeatMap] {
    let g = Graph(capturing: [name])
    _ = network.forward(g.constant(x), in: g)
    guard let a = g.activation(name), a.shape.count == 4, a.shape[1] == 1 else {
        throw ExplainError.unknownLayer(name, known: network.layerNames)
    }
    let (height, width) = (x.shape[2], x.shape[3])
    let up = (a.shape[2] == height && a.shape[3] == width) ? a.tensor
        : Graph().resize(Variable(a.tensor), to: Size2D(height, width)).tensor
    let per = height * width
    return (0..<x.shape[0]).map { i in
        var values = Array(up.data[(i * per)..<((i + 1) * per)])
        if normalise, let top = values.max(), top > 0 { for k in values.indices { values[k] /= top } }
        return HeatMap(width: width, height: height, values: values)
    }
}
