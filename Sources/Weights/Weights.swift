// Weights: safetensors and PyTorch checkpoint readers giving named tensors; .npy read and write.
import Foundation
import Neural

// MARK: - Named tensors

/// The on-disk format a `TensorFile` was read from.
public enum TensorFileFormat: String, Sendable, Equatable {
    case safetensors
    /// `torch.save` since PyTorch 1.6: a ZIP archive with `data.pkl` and one record per storage.
    case torchZip = "torch-zip"
    /// `torch.save(..., _use_new_zipfile_serialization=False)` and PyTorch < 1.6: consecutive pickles, then storages.
    case torchLegacy = "torch-legacy"
    case npy
}

/// One tensor of a weights file, widened to Float32, with the dtype it had in the file.
public struct NamedTensor: Sendable, Equatable {
    public var name: String
    public var tensor: Tensor
    public var dtype: DType

    public init(name: String, tensor: Tensor, dtype: DType) {
        self.name = name
        self.tensor = tensor
        self.dtype = dtype
    }
}

/// The named tensors of a weights file, in file order, plus what was learned about the file on the way.
///
/// Knows nothing of models: binding names to a model's parameters is the caller's job.
public struct TensorFile: Sendable {
    public var format: TensorFileFormat
    /// The tensors in the order the file lists them (a state dict's insertion order; safetensors data order).
    public var entries: [NamedTensor]
    /// Format metadata: safetensors `__metadata__`; for PyTorch files the archive version and byte order.
    public var metadata: [String: String]
    /// Where in a checkpoint the state dict was found, e.g. `net` or `model.state_dict`; empty at top level.
    public var statePath: String
    /// Prefixes removed from every key (`module.`, `backbone.`), in the order removed.
    public var removedPrefixes: [String]

    public init(format: TensorFileFormat, entries: [NamedTensor], metadata: [String: String] = [:],
                statePath: String = "", removedPrefixes: [String] = []) {
        self.format = format
        self.entries = entries
        self.metadata = metadata
        self.statePath = statePath
        self.removedPrefixes = removedPrefixes
    }

    /// The tensor names in order.
    public var names: [String] { entries.map(\.name) }

    /// The tensor called `name`, or nil.
    public subscript(name: String) -> Tensor? { entry(named: name)?.tensor }

    /// The entry called `name`, or nil.
    public func entry(named name: String) -> NamedTensor? { entries.first { $0.name == name } }

    /// Total number of elements over all tensors (the parameter count `inspect` reports).
    public var elementCount: Int { entries.reduce(0) { $0 + $1.tensor.count } }

    /// Name → tensor, for binding code that looks up many keys (the subscript is a linear search).
    public var tensorsByName: [String: Tensor] {
        Dictionary(entries.map { ($0.name, $0.tensor) }, uniquingKeysWith: { first, _ in first })
    }

    /// `[(name, tensor)]` in order, the shape model binding takes.
    public var namedTensors: [(String, Tensor)] { entries.map { ($0.name, $0.tensor) } }

    /// The entries whose names start with `prefix`, with the prefix removed (a manifest's `keyPrefix`).
    ///
    /// Example: `file.selecting(prefix: "model.")` turns `model.conv1.weight` into `conv1.weight`.
    public func selecting(prefix: String) -> TensorFile {
        guard !prefix.isEmpty else { return self }
        var copy = self
        copy.entries = entries.compactMap { e in
            guard e.name.hasPrefix(prefix) else { return nil }
            var renamed = e
            renamed.name = String(e.name.dropFirst(prefix.count))
            return renamed
        }
        return copy
    }

    // MARK: - Loading

    /// Loads a weights file, detecting its format from its first bytes: safetensors, a PyTorch checkpoint (zip
    /// or legacy; the state dict is unwrapped from `state_dict`/`model`/`network`/`net` nesting or a whole
    /// pickled module, and a `module.`/`backbone.` prefix carried by every key is dropped) or `.npy`.
    ///
    /// Never executes code from the file. Errors name the file and the field or tensor at fault.
    ///
    /// Example: `let weights = try TensorFile.load(contentsOf: URL(fileURLWithPath: "model.pth"))`
    public static func load(contentsOf url: URL) throws -> TensorFile {
        let data: Data
        do {
            // Mapped, so a 300 MB checkpoint is not copied before decoding.
            data = try Data(contentsOf: url, options: .alwaysMapped)
        } catch {
            throw WeightsError.unreadable(path: url.path, reason: (error as NSError).localizedFailureReason ?? error.localizedDescription)
        }
        do {
            return try load(data: data)
        } catch let error as WeightsError {
            throw WeightsError.inFile(path: url.path, error)
        }
    }

    /// Loads a weights file from memory; see `load(contentsOf:)`.
    public static func load(data: Data) throws -> TensorFile {
        try data.withUnsafeBytes { try load(bytes: $0) }
    }

    static func load(bytes: UnsafeRawBufferPointer) throws -> TensorFile {
        switch sniff(bytes) {
        case .zip: return try TorchCheckpoint.readZip(bytes).removingCommonPrefixes()
        case .pickle: return try TorchCheckpoint.readLegacy(bytes).removingCommonPrefixes()
        case .npy:
            let (tensor, dtype) = try NumpyFile.read(bytes)
            return TensorFile(format: .npy, entries: [NamedTensor(name: "", tensor: tensor, dtype: dtype)])
        case .safetensors: return try SafeTensors.read(bytes).removingCommonPrefixes()
        case .tar:
            throw WeightsError.unsupported("PyTorch tar checkpoint (torch < 0.4); re-save it with a newer torch.save")
        case .unknown:
            throw WeightsError.unrecognizedFormat(bytes.isEmpty ? "the file is empty"
                : "expected safetensors, a PyTorch checkpoint (.pt/.pth) or .npy")
        }
    }

    private enum Sniffed { case zip, pickle, npy, safetensors, tar, unknown }

    private static func sniff(_ b: UnsafeRawBufferPointer) -> Sniffed {
        func starts(_ prefix: [UInt8]) -> Bool { b.count >= prefix.count && zip(b, prefix).allSatisfy { $0 == $1 } }
        if starts([0x50, 0x4b, 0x03, 0x04]) || starts([0x50, 0x4b, 0x05, 0x06]) { return .zip }
        if starts([0x93] + Array("NUMPY".utf8)) { return .npy }
        if b.count >= 262, Array(b[257..<262]) == Array("ustar".utf8) { return .tar }
        // safetensors: a header length, then the JSON header's '{'. Checked before pickles because the length's
        // low byte may well be 0x80, the pickle PROTO opcode; a legacy checkpoint has magic-number bytes there.
        if b.count >= 9, b[8] == UInt8(ascii: "{") { return .safetensors }
        // Legacy torch.save starts with a pickle (PROTO opcode) of the magic number.
        if starts([0x80]) { return .pickle }
        return .unknown
    }
}
