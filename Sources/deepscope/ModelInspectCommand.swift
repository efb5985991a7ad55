import ArgumentParser
import Foundation
import Weights

/// `deepscope model inspect FILE [--json]`: what a weights file holds, read without running any of its code.
struct ModelInspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "List the tensors of a weights file and guess its architecture.",
        discussion: "Reads safetensors, PyTorch checkpoints (zip and legacy) and .npy without executing any code from them.")

    @Argument(help: "The weights file (.safetensors, .pt/.pth/.ckpt, .npy).") var file: String
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        let loaded: TensorFile
        do {
            loaded = try TensorFile.load(contentsOf: URL(fileURLWithPath: file))
        } catch {
            throw CLIError("model inspect: \(error)")
        }
        let report = InspectReport(file: file, loaded: loaded, guess: ArchitectureGuess.guess(loaded))
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            print(report.text, terminator: "")
        }
    }
}

// MARK: - Report

/// The inspect output; its Codable form is the `--json` schema.
struct InspectReport: Codable {
    struct Entry: Codable {
        var name: String
        var dtype: String
        var shape: [Int]
    }

    var file: String
    var format: String
    var metadata: [String: String]
    var statePath: String
    var removedPrefixes: [String]
    var tensorCount: Int
    var parameterCount: Int
    var dtypes: [String: Int]
    var architecture: ArchitectureGuess?
    var tensors: [Entry]

    init(file: String, loaded: TensorFile, guess: ArchitectureGuess?) {
        self.file = file
        format = loaded.format.rawValue
        metadata = loaded.metadata
        statePath = loaded.statePath
        removedPrefixes = loaded.removedPrefixes
        tensorCount = loaded.entries.count
        parameterCount = loaded.elementCount
        dtypes = Dictionary(loaded.entries.map { ($0.dtype.rawValue, 1) }, uniquingKeysWith: +)
        architecture = guess
        tensors = loaded.entries.map { Entry(name: $0.name, dtype: $0.dtype.rawValue, shape: $0.tensor.shape) }
    }

    private enum CodingKeys: String, CodingKey {
        case file, format, metadata, statePath, removedPrefixes, tensorCount, parameterCount, dtypes, architecture, tensors
    }

    /// Written out so an unrecognised architecture is an explicit `null` rather than a missing key.
    func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(file, forKey: .file)
        try c.encode(format, forKey: .format)
        try c.encode(metadata, forKey: .metadata)
        try c.encode(statePath, forKey: .statePath)
        try c.encode(removedPrefixes, forKey: .removedPrefixes)
        try c.encode(tensorCount, forKey: .tensorCount)
        try c.encode(parameterCount, forKey: .parameterCount)
        try c.encode(dtypes, forKey: .dtypes)
        try c.encode(architecture, forKey: .architecture)
        try c.encode(tensors, forKey: .tensors)
    }

    var text: String {
        var lines: [String] = []
        func field(_ label: String, _ value: String) { lines.append(label.padding(toLength: 14, withPad: " ", startingAt: 0) + value) }
        field("file", file)
        let meta = metadata.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        field("format", meta.isEmpty ? format : "\(format) (\(meta))")
        if !statePath.isEmpty || !removedPrefixes.isEmpty {
            var where_ = statePath.isEmpty ? "top level" : "under '\(statePath)'"
            if !removedPrefixes.isEmpty { where_ += ", removed prefix " + removedPrefixes.map { "'\($0)'" }.joined(separator: " then ") }
            field("state dict", where_)
        }
        field("tensors", String(tensorCount))
        field("parameters", grouped(parameterCount))
        field("dtypes", dtypes.sorted { $0.value > $1.value || ($0.value == $1.value && $0.key < $1.key) }
            .map { "\($0.key) ×\($0.value)" }.joined(separator: ", "))
        if let architecture {
            field("architecture", architecture.summary)
            field("", architecture.evidence)
        } else {
            field("architecture", "not recognised")
        }
        lines.append("")
        let width = min(max(tensors.map(\.name.count).max() ?? 4, 4), 72)
        lines.append("name".padding(toLength: width, withPad: " ", startingAt: 0) + "  dtype     shape")
        for t in tensors {
            let name = t.name.isEmpty ? "(unnamed)" : t.name
            lines.append(name.padding(toLength: max(width, name.count), withPad: " ", startingAt: 0) + "  "
                + t.dtype.padding(toLength: 8, withPad: " ", startingAt: 0) + "  [" + t.shape.map(String.init).joined(separator: ", ") + "]")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    private func grouped(_ n: Int) -> String {
        let digits = Array(String(n))
        var out = ""
        for (i, d) in digits.enumerated() {
            if i > 0, (digits.count - i) % 3 == 0 { out += "," }
            out.append(d)
        }
        return out
    }
}
