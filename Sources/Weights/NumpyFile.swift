import Foundation
import Neural

/// Reads and writes NumPy `.npy` files (format versions 1.0, 2.0 and 3.0): a magic string, a Python-literal
/// header giving dtype, memory order and shape, then the raw array.
public enum NumpyFile {
    /// Reads a `.npy` file; floats, integers and bools of either byte order are widened to Float32, Fortran
    /// order is gathered into C order.
    ///
    /// Example: `let x = try NumpyFile.read(contentsOf: URL(fileURLWithPath: "input.npy"))`
    public static func read(contentsOf url: URL) throws -> Tensor {
        let file = try TensorFile.load(contentsOf: url)
        guard file.format == .npy, let entry = file.entries.first else {
            throw WeightsError.inFile(path: url.path, .unrecognizedFormat("expected a .npy file, found \(file.format.rawValue)"))
        }
        return entry.tensor
    }

    /// Writes `tensor` as a little-endian float32 C-order `.npy` (version 1.0), atomically.
    public static func write(_ tensor: Tensor, to url: URL) throws {
        do { try encode(tensor).write(to: url, options: .atomic) } catch {
            throw WeightsError.unwritable(path: url.path, reason: error.localizedDescription)
        }
    }

    /// The bytes of a float32 `.npy` file holding `tensor`.
    public static func encode(_ tensor: Tensor) -> Data {
        let shape = tensor.shape.count == 1 ? "(\(tensor.shape[0]),)" : "(\(tensor.shape.map(String.init).joined(separator: ", ")))"
        var header = Array("{'descr': '<f4', 'fortran_order': False, 'shape': \(shape), }".utf8)
        // NumPy pads the header with spaces so the data starts 64-byte aligned, ending it with a newline.
        while (10 + header.count + 1) % 64 != 0 { header.append(0x20) }
        header.append(0x0a)
        var out = Data([0x93] + Array("NUMPY".utf8) + [1, 0])
        withUnsafeBytes(of: UInt16(header.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(contentsOf: header)
        for v in tensor.data { withUnsafeBytes(of: v.bitPattern.littleEndian) { out.append(contentsOf: $0) } }
        return out
    }

    // MARK: - Parsing

    static func read(_ bytes: UnsafeRawBufferPointer) throws -> (Tensor, DType) {
        var reader = ByteReader(bytes)
        _ = try reader.slice(6, "npy magic")
        let major = try reader.byte("npy version")
        _ = try reader.byte("npy version")
        let headerLength: Int
        switch major {
        case 1: headerLength = Int(try reader.integer(UInt16.self, "npy header length"))
        case 2, 3: headerLength = Int(try reader.integer(UInt32.self, "npy header length"))
        default: throw WeightsError.unsupported("npy format version \(major)")
        }
        let headerBytes = try reader.slice(headerLength, "npy header")
        let header = try NpyHeader(String(decoding: headerBytes, as: UTF8.self))
        guard let count = checkedProduct(header.shape),
              case let (length, false) = count.multipliedReportingOverflow(by: header.dtype.size) else {
            throw WeightsError.corrupt("npy shape \(header.shape) overflows")
        }
        let raw = try reader.slice(length, "npy data of shape \(header.shape)")
        // Fortran order is C order of the reversed shape; gather it back through strides.
        var strides = StridedView.contiguousStrides(header.shape)
        if header.fortranOrder { strides = StridedView.contiguousStrides(header.shape.reversed()).reversed() }
        let view = StridedView(offset: 0, shape: header.shape, strides: strides)
        return (view.gather(from: raw, dtype: header.dtype, bigEndian: header.bigEndian, count: count), header.dtype)
    }
}

/// The header dictionary of a `.npy` file, e.g. `{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }`.
struct NpyHeader {
    var dtype: DType
    var bigEndian: Bool
    var fortranOrder: Bool
    var shape: [Int]

    init(_ text: String) throws {
        func field(_ key: String) throws -> Substring {
            guard let range = text.range(of: "'\(key)':") else { throw WeightsError.corrupt("npy header has no '\(key)'") }
            return text[range.upperBound...].drop { $0 == " " }
        }
        let descrField = try field("descr")
        guard let quote = descrField.first, quote == "'" || quote == "\"",
              let close = descrField.dropFirst().firstIndex(of: quote) else {
            throw WeightsError.corrupt("npy header 'descr' is not a simple dtype string (structured arrays are not read)")
        }
        let descr = descrField[descrField.index(after: descrField.startIndex)..<close]
        guard descr.count >= 3, let order = descr.first, "<>|=".contains(order),
              let size = Int(descr.dropFirst(2)), let kind = descr.dropFirst().first else {
            throw WeightsError.corrupt("npy dtype '\(descr.prefix(20))' is not understood")
        }
        let table: [String: DType] = [
            "f2": .float16, "f4": .float32, "f8": .float64, "i1": .int8, "i2": .int16, "i4": .int32, "i8": .int64,
            "u1": .uint8, "u2": .uint16, "u4": .uint32, "u8": .uint64, "b1": .bool,
        ]
        guard let dtype = table["\(kind)\(size)"] else { throw WeightsError.unsupported("npy dtype '\(descr)'") }
        self.dtype = dtype
        bigEndian = order == ">"

        let fortran = try field("fortran_order")
        if fortran.hasPrefix("True") { fortranOrder = true }
        else if fortran.hasPrefix("False") { fortranOrder = false }
        else { throw WeightsError.corrupt("npy header 'fortran_order' is neither True nor False") }

        let shapeField = try field("shape")
        guard shapeField.first == "(", let end = shapeField.firstIndex(of: ")") else {
            throw WeightsError.corrupt("npy header 'shape' is not a tuple")
        }
        let parts = shapeField[shapeField.index(after: shapeField.startIndex)..<end]
            .split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard parts.count <= 64 else { throw WeightsError.corrupt("npy rank \(parts.count) is absurd (over 64)") }
        shape = try parts.map {
            guard let n = Int($0.hasSuffix("L") ? String($0.dropLast()) : $0), n >= 0 else {
                throw WeightsError.corrupt("npy shape entry '\($0.prefix(20))' is not a non-negative integer")
            }
            return n
        }
    }
}
