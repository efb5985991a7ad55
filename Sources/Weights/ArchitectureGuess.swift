// MARK: - Guessing the architecture from key names

/// What a state dict's key names and shapes say about the network that wrote it — a hint for
/// `deepscope model inspect` and for writing a manifest, never used to bind weights.
public struct ArchitectureGuess: Sendable, Equatable, Codable {
    /// A manifest `architecture` identifier: `efficientnet`, `efficientnet-autoatt`, `xception`, `resnet`,
    /// `meso4`, `mesoinception4`, `mtcnn-pnet`, `mtcnn-rnet`, `mtcnn-onet`.
    public var architecture: String
    /// `b0`…`b7` for EfficientNet, `18`/`34`/`50`/`101`/`152` for ResNet; nil when the counts match no variant.
    public var variant: String?
    /// Whose key layout: `efficientnet_pytorch` or `timm` for EfficientNet; `cadene`, `ffpp` or `timm` for Xception.
    public var layout: String?
    /// The prefix in front of the backbone's keys (`efficientnet.`, `model.`), empty when none.
    public var backbonePrefix: String
    /// Rows of the final classifier, when one was recognised.
    public var outputs: Int?
    /// The key pattern and counts the guess rests on, in one line.
    public var evidence: String

    /// One line for people, e.g. `efficientnet-autoatt b4 (efficientnet_pytorch layout, prefix 'efficientnet.', 1 output)`.
    public var summary: String {
        var details: [String] = []
        if let layout { details.append("\(layout) layout") }
        if !backbonePrefix.isEmpty { details.append("prefix '\(backbonePrefix)'") }
        if let outputs { details.append("\(outputs) output\(outputs == 1 ? "" : "s")") }
        let name = variant.map { "\(architecture) \($0)" } ?? architecture
        return details.isEmpty ? name : "\(name) (\(details.joined(separator: ", ")))"
    }

    /// Guesses from a loaded file's names and shapes; nil when no known pattern matches.
    ///
    /// Example: `ArchitectureGuess.guess(try TensorFile.load(contentsOf: url))?.summary`
    public static func guess(_ file: TensorFile) -> ArchitectureGuess? {
        let shapes = Dictionary(file.entries.map { ($0.name, $0.tensor.shape) }, uniquingKeysWith: { a, _ in a })
        return guess(names: file.names, shapes: shapes)
    }

    static func guess(names: [String], shapes: [String: [Int]]) -> ArchitectureGuess? {
        let keys = Keys(names: names, shapes: shapes)
        return efficientNet(keys) ?? timmEfficientNet(keys) ?? xception(keys) ?? resNet(keys) ?? mtcnn(keys) ?? meso(keys)
    }

    // MARK: - Families

    /// (blocks, head channels) of EfficientNet B0…B7; the same in efficientnet_pytorch and timm.
    private static let efficientNetVariants: [(blocks: Int, head: Int, name: String)] = [
        (16, 1280, "b0"), (23, 1280, "b1"), (23, 1408, "b2"), (26, 1536, "b3"),
        (32, 1792, "b4"), (39, 2048, "b5"), (45, 2304, "b6"), (55, 2560, "b7"),
    ]

    private static func efficientNetVariant(blocks: Int, head: Int?) -> String? {
        efficientNetVariants.first { $0.blocks == blocks && $0.head == head }?.name
    }

    private static func efficientNet(_ k: Keys) -> ArchitectureGuess? {
        // efficientnet_pytorch: _blocks.N._depthwise_conv.weight
        let matches = k.names.compactMap { k.split($0, around: "_blocks.", then: "._depthwise_conv.weight") }
        guard let prefix = matches.first?.prefix else { return nil }
        let blocks = Set(matches.filter { $0.prefix == prefix }.compactMap { Int($0.middle) }).count
        let head = k.shapes[prefix + "_conv_head.weight"]?.first
        let attention = k.names.contains { $0.hasSuffix("attconv.weight") }
        return ArchitectureGuess(
            architecture: attention ? "efficientnet-autoatt" : "efficientnet",
            variant: efficientNetVariant(blocks: blocks, head: head), layout: "efficientnet_pytorch", backbonePrefix: prefix,
            outputs: k.outputs(["classifier.weight", prefix + "_fc.weight"]),
            evidence: "\(blocks) _blocks with _depthwise_conv, head of \(head.map(String.init) ?? "?") channels"
                + (attention ? ", attconv attention" : ""))
    }

    private static func timmEfficientNet(_ k: Keys) -> ArchitectureGuess? {
        // timm: blocks.S.I.conv_dw.weight
        let matches = k.names.compactMap { k.split($0, around: "blocks.", then: ".conv_dw.weight") }
            .filter { $0.middle.split(separator: ".").count == 2 }
        guard let prefix = matches.first?.prefix else { return nil }
        let blocks = Set(matches.filter { $0.prefix == prefix }.map(\.middle)).count
        let head = k.shapes[prefix + "conv_head.weight"]?.first
        return ArchitectureGuess(
            architecture: "efficientnet", variant: efficientNetVariant(blocks: blocks, head: head), layout: "timm",
            backbonePrefix: prefix, outputs: k.outputs([prefix + "classifier.weight", "classifier.weight"]),
            evidence: "\(blocks) blocks.S.I with conv_dw, head of \(head.map(String.init) ?? "?") channels")
    }

    private static func xception(_ k: Keys) -> ArchitectureGuess? {
        guard let prefix = k.names.compactMap({ k.split($0, around: "block1.rep.", then: "") }).first?.prefix,
              k.names.contains(where: { $0.hasPrefix(prefix) && $0.contains(".pointwise.") }),
              k.nameSet.contains(prefix + "conv4.pointwise.weight") || k.nameSet.contains(prefix + "conv3.pointwise.weight") else { return nil }
        let pointwiseRank = k.shapes[prefix + "conv3.pointwise.weight"]?.count
        let layout: String
        if k.nameSet.contains(prefix + "last_linear.1.weight") { layout = "ffpp" }
        else if k.nameSet.contains(prefix + "fc.weight") { layout = "timm" }
        else { layout = "cadene" }
        let blocks = Set(k.names.compactMap { name -> Int? in
            guard name.hasPrefix(prefix + "block") else { return nil }
            let rest = name.dropFirst(prefix.count + "block".count)
            let digits = rest.prefix { $0.isNumber }
            return rest.dropFirst(digits.count).hasPrefix(".rep.") ? Int(digits) : nil
        }).count
        return ArchitectureGuess(
            architecture: "xception", variant: nil, layout: layout, backbonePrefix: prefix,
            outputs: k.outputs([prefix + "last_linear.1.weight", prefix + "last_linear.weight", prefix + "fc.weight"]),
            evidence: "\(blocks) blockN.rep blocks, separable convs with \(pointwiseRank.map { "\($0)-D" } ?? "?") pointwise weights")
    }

    private static func resNet(_ k: Keys) -> ArchitectureGuess? {
        guard let prefix = k.names.compactMap({ k.split($0, around: "layer1.0.", then: "conv1.weight") })
            .first(where: { $0.middle.isEmpty })?.prefix else { return nil }
        let bottleneck = k.nameSet.contains(prefix + "layer1.0.conv3.weight")
        let counts = (1...4).map { layer in
            Set(k.names.compactMap { k.split($0, around: "\(prefix)layer\(layer).", then: ".conv1.weight") }
                .filter { $0.prefix.isEmpty }.compactMap { Int($0.middle) }).count
        }
        let table: [String: [Int]] = bottleneck
            ? ["50": [3, 4, 6, 3], "101": [3, 4, 23, 3], "152": [3, 8, 36, 3]]
            : ["18": [2, 2, 2, 2], "34": [3, 4, 6, 3]]
        return ArchitectureGuess(
            architecture: "resnet", variant: table.first { $0.value == counts }?.key, layout: nil, backbonePrefix: prefix,
            outputs: k.outputs([prefix + "fc.weight"]),
            evidence: "\(bottleneck ? "Bottleneck" : "BasicBlock") layers of \(counts.map(String.init).joined(separator: "/")) blocks")
    }

    private static func mtcnn(_ k: Keys) -> ArchitectureGuess? {
        guard k.nameSet.contains("prelu1.weight"), k.nameSet.contains("conv1.weight") else { return nil }
        let stage: String
        if k.nameSet.contains("conv4_1.weight") { stage = "pnet" }
        else if k.nameSet.contains("dense5_1.weight") { stage = "rnet" }
        else if k.nameSet.contains("dense6_3.weight") { stage = "onet" }
        else { return nil }
        return ArchitectureGuess(architecture: "mtcnn-\(stage)", variant: nil, layout: nil, backbonePrefix: "", outputs: nil,
                                 evidence: "conv1/prelu1 with \(stage == "pnet" ? "conv4_1" : stage == "rnet" ? "dense5_1" : "dense6_3")")
    }

    private static func meso(_ k: Keys) -> ArchitectureGuess? {
        // The MesoNet port misspells "Inception" as "Incption"; accept both.
        for marker in ["Incption1_conv1", "Inception1_conv1"] {
            guard let name = k.names.first(where: { $0.contains(marker) }), let r = name.range(of: marker) else { continue }
            let prefix = String(name[..<r.lowerBound])
            return ArchitectureGuess(architecture: "mesoinception4", variant: nil, layout: nil, backbonePrefix: prefix,
                                     outputs: k.outputs([prefix + "fc2.weight"]), evidence: "Inception1/Inception2 modules, then conv1/conv2, fc1/fc2")
        }
        guard let prefix = k.names.compactMap({ k.split($0, around: "conv4.", then: "weight") }).first(where: { $0.middle.isEmpty })?.prefix,
              ["conv1.weight", "conv2.weight", "conv3.weight", "fc1.weight", "fc2.weight"].allSatisfy({ k.nameSet.contains(prefix + $0) }),
              !k.nameSet.contains(prefix + "conv5.weight") else { return nil }
        return ArchitectureGuess(architecture: "meso4", variant: nil, layout: nil, backbonePrefix: prefix,
                                 outputs: k.outputs([prefix + "fc2.weight"]), evidence: "conv1…conv4 with fc1/fc2")
    }
}

/// Key lookups shared by the family matchers.
private struct Keys {
    let names: [String]
    let nameSet: Set<String>
    let shapes: [String: [Int]]

    init(names: [String], shapes: [String: [Int]]) {
        self.names = names
        nameSet = Set(names)
        self.shapes = shapes
    }

    /// Splits `name` as prefix + `marker` + middle + `suffix`, or nil.
    func split(_ name: String, around marker: String, then suffix: String) -> (prefix: String, middle: String)? {
        guard name.hasSuffix(suffix), let r = name.range(of: marker) else { return nil }
        let rest = name[r.upperBound...]
        guard rest.count >= suffix.count else { return nil }
        return (String(name[..<r.lowerBound]), String(rest.dropLast(suffix.count)))
    }

    /// Rows of the first 2-D weight among `candidates`.
    func outputs(_ candidates: [String]) -> Int? {
        candidates.lazy.compactMap { self.shapes[$0] }.first { $0.count == 2 }?.first
    }
}
