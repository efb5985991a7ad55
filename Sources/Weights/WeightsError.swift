// MARK: - Errors

/// Why a weights file could not be read. Every message is one line and names the field, key or tensor at fault.
public indirect enum WeightsError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The file could not be opened or read.
    case unreadable(path: String, reason: String)
    /// The bytes are none of the formats deepscope reads.
    case unrecognizedFormat(String)
    /// A real format, or a feature of one, that deepscope deliberately does not read.
    case unsupported(String)
    /// The file ends before a structure it declares.
    case truncated(String)
    /// A structural field is out of range, inconsistent or malformed.
    case corrupt(String)
    /// One named tensor's dtype, shape, offsets or strides are invalid.
    case invalidTensor(name: String, reason: String)
    /// A pickle asked for a global that could run code; nothing was run.
    case forbiddenGlobal(String)
    /// The checkpoint holds no tensors deepscope could find.
    case noTensors(String)
    /// An error while writing a file.
    case unwritable(path: String, reason: String)
    /// Another error, with the file it happened in.
    case inFile(path: String, WeightsError)

    public var description: String {
        switch self {
        case let .unreadable(path, reason): return "\(path): cannot read: \(reason)"
        case let .unrecognizedFormat(what): return "not a weights file: \(what)"
        case let .unsupported(what): return "unsupported: \(what)"
        case let .truncated(what): return "truncated: \(what)"
        case let .corrupt(what): return "corrupt: \(what)"
        case let .invalidTensor(name, reason): return "tensor '\(name)': \(reason)"
        case let .forbiddenGlobal(name):
            return "checkpoint pickle asks for \(name), which could run code; refused (weights files never run code here)"
        case let .noTensors(what): return "no tensors found: \(what)"
        case let .unwritable(path, reason): return "\(path): cannot write: \(reason)"
        case let .inFile(path, inner): return "\(path): \(inner)"
        }
    }
}
