import Foundation
import Neural

/// Reads and writes the safetensors format: an 8-byte little-endian header length, a JSON header naming each
/// tensor's dtype, shape and byte range, then the raw little-endian data.
public enum SafeTensors {
    /// The largest header accepted. The reference implementation uses the same bound.
    static let maxHeaderBytes = 100_000_000

    // MARK: - Reading

    /// Parses a safetensors file held in memory. Every offset, size and shape is checked before any tensor
    /// storage is allocated.
    static func read(_ bytes: UnsafeRawBufferPointer) throws -> TensorFile {
        var reader = ByteReader(bytes)
        let declared = try reader.integer(UInt64.self, "safetensors header length")
        guard declared <= UInt64(maxHeaderBytes) else {
            throw WeightsError.corrupt("safetensors header length \(declared) exceeds \(maxHeaderBytes) bytes")
        }
        let headerLength = Int(declared)
        guard headerLength <= reader.remaining else {
            throw WeightsError.truncated("safetensors header length \(headerLength) but only \(reader.remaining) bytes follow")
        }
        let header = try JSONParser.parse(try reader.slice(headerLength, "safetensors header"), what: "safetensors header")
        let data = UnsafeRawBufferPointer(rebasing: bytes[reader.position...])
        guard case let .object(members) = header else { throw WeightsError.corrupt("safetensors header is not a JSON object") }

        var entries: [Entry] = []
        var metadata: [String: String] = [:]
        var seen = Set<String>()
        for (name, value) in members {
            guard seen.insert(name).inserted else { throw WeightsError.corrupt("safetensors header lists '\(name)' twice") }
            if name == "__metadata__" {
                guard case let .object(pairs) = value else { throw WeightsError.corrupt("safetensors __metadata__ is not an object") }
                for (k, v) in pairs {
                    guard let s = v.string else { throw WeightsError.corrupt("safetensors __metadata__['\(k)'] is not a string") }
                    metadata[k] = s
                }
                continue
            }
            entries.append(try parseEntry(name: name, value: value, dataSize: data.count))
        }

        // Byte ranges must not overlap; sorting by start makes that one pass and gives the file's own order.
        entries.sort { ($0.begin, $0.end) < ($1.begin, $1.end) }
        var previous: Entry?
        for e in entries {
            if let p = previous, e.begin < p.end, e.end > e.begin {
                throw WeightsError.invalidTensor(name: e.name, reason: "data_offsets [\(e.begin), \(e.end)] overlap '\(p.name)' [\(p.begin), \(p.end)]")
            }
            if e.end > e.begin { previous = e }
        }

        let tensors = entries.map { e -> NamedTensor in
            let raw = UnsafeRawBufferPointer(rebasing: data[e.begin..<e.end])
            let count = e.shape.reduce(1, *)
            let view = StridedView(offset: 0, shape: e.shape, strides: StridedView.contiguousStrides(e.shape))
            return NamedTensor(name: e.name, tensor: view.gather(from: raw, dtype: e.dtype, bigEndian: false, count: count), dtype: e.dtype)
        }
        return TensorFile(format: .safetensors, entries: tensors, metadata: metadata)
    }

    private struct Entry { var name: String; var dtype: DType; var shape: [Int]; var begin: Int; var end: Int }

    private static func parseEntry(name: String, value: JSONValue, dataSize: Int) throws -> Entry {
        guard case let .object(fields) = value else { throw WeightsError.invalidTensor(name: name, reason: "header entry is not an object") }
        func field(_ key: String) throws -> JSONValue {
            guard let v = fields.first(where: { $0.0 == key })?.1 else {
                throw WeightsError.invalidTensor(name: name, reason: "header entry has no '\(key)'")
            }
            return v
        }
        guard let dtypeName = try field("dtype").string else { throw WeightsError.invalidTensor(name: name, reason: "'dtype' is not a string") }
        guard let dtype = DType(safetensors: dtypeName) else {
            throw WeightsError.invalidTensor(name: name, reason: "unknown dtype '\(dtypeName.prefix(20))'")
        }
        guard case let .array(dims) = try field("shape") else { throw WeightsError.invalidTensor(name: name, reason: "'shape' is not an array") }
        guard dims.count <= 64 else { throw WeightsError.invalidTensor(name: name, reason: "rank \(dims.count) is absurd (over 64)") }
        let shape = try dims.map { d -> Int in
            guard let n = d.integer, n >= 0 else { throw WeightsError.invalidTensor(name: name, reason: "shape entry is not a non-negative integer") }
            return n
        }
        guard case let .array(offsets) = try field("data_offsets"), offsets.count == 2,
              let begin = offsets[0].integer, let end = offsets[1].integer else {
            throw WeightsError.invalidTensor(name: name, reason: "'data_offsets' is not a pair of integers")
        }
        guard 0 <= begin, begin <= end, end <= dataSize else {
            throw WeightsError.invalidTensor(name: name, reason: "data_offsets [\(begin), \(end)] outside the data area of \(dataSize) bytes")
        }
        guard let count = checkedProduct(shape), case let (bytes, false) = count.multipliedReportingOverflow(by: dtype.size) else {
            throw WeightsError.invalidTensor(name: name, reason: "shape \(shape) overflows")
        }
        guard bytes == end - begin else {
            throw WeightsError.invalidTensor(name: name, reason: "shape \(shape) of \(dtypeName) needs \(bytes) bytes but data_offsets give \(end - begin)")
        }
        return Entry(name: name, dtype: dtype, shape: shape, begin: begin, end: end)
    }

    // MARK: - Writing

    /// Writes named tensors as a safetensors file (atomically: a temporary file renamed into place).
    ///
    /// - Parameters:
    ///   - tensors: names and tensors, written in this order.
    ///   - metadata: the `__metadata__` string map (may be empty).
    ///   - dtype: `.float32` (exact) or `.float16` (rounded to nearest even).
    ///   - url: the destination.
    ///
    /// Example: `try SafeTensors.write([("conv1.weight", w)], metadata: ["format": "pt"], to: url)`
    public static func write(_ tensors: [(String, Tensor)], metadata: [String: String] = [:],
                             as dtype: DType = .float32, to url: URL) throws {
        let data = try encode(tensors, metadata: metadata, as: dtype)
        do { try data.write(to: url, options: .atomic) } catch {
            throw WeightsError.unwritable(path: url.path, reason: error.localizedDescription)
        }
    }

    /// The bytes of a safetensors file; see `write`.
    public static func encode(_ tensors: [(String, Tensor)], metadata: [String: String] = [:],
                              as dtype: DType = .float32) throws -> Data {
        guard dtype == .float32 || dtype == .float16 else {
            throw WeightsError.unsupported("writing safetensors as \(dtype.rawValue) (float32 and float16 only)")
        }
        var names = Set<String>()
        var header: [String] = []
        if !metadata.isEmpty {
            let pairs = metadata.sorted { $0.key < $1.key }.map { "\(jsonQuoted($0.key)):\(jsonQuoted($0.value))" }
            header.append("\"__metadata__\":{\(pairs.joined(separator: ","))}")
        }
        var offset = 0
        for (name, tensor) in tensors {
            guard names.insert(name).inserted, name != "__metadata__" else {
                throw WeightsError.invalidTensor(name: name, reason: "name used twice (or reserved)")
            }
            let bytes = tensor.count * dtype.size
            let shape = tensor.shape.map(String.init).joined(separator: ",")
            header.append("\(jsonQuoted(name)):{\"dtype\":\"\(dtype.safetensorsName)\",\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(offset + bytes)]}")
            offset += bytes
        }
        var json = Array("{\(header.joined(separator: ","))}".utf8)
        // Pad with spaces so the data starts 8-byte aligned, as the reference writer does.
        while (json.count + 8) % 8 != 0 { json.append(0x20) }
        var out = Data(capacity: 8 + json.count + offset)
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(contentsOf: json)
        for (_, tensor) in tensors {
            if dtype == .float32 {
                tensor.data.withUnsafeBufferPointer { p in
                    #if _endian(big)
                    for v in p { withUnsafeBytes(of: v.bitPattern.littleEndian) { out.append(contentsOf: $0) } }
                    #else
                    out.append(UnsafeBufferPointer(start: p.baseAddress, count: p.count))
                    #endif
                }
            } else {
                let halves = tensor.data.map { floatToHalf($0).littleEndian }
                halves.withUnsafeBufferPointer { out.append($0) }
            }
        }
        return out
    }
}
