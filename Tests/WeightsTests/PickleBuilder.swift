import Foundation

/// Hand-assembles pickle bytes for hostile-input tests: the opcodes are written out one by one so a test can
/// build exactly the malformed or malicious stream it needs.
struct PickleBuilder {
    var bytes: [UInt8] = []

    init(protocol version: UInt8 = 2) { bytes = [0x80, version] }

    @discardableResult mutating func op(_ raw: UInt8...) -> Self { bytes += raw; return self }
    mutating func mark() { bytes.append(0x28) }
    mutating func tuple() { bytes.append(0x74) }
    mutating func stop() { bytes.append(0x2e) }
    mutating func none() { bytes.append(0x4e) }
    mutating func emptyDict() { bytes.append(0x7d) }
    mutating func setItems() { bytes.append(0x75) }
    mutating func reduce() { bytes.append(0x52) }
    mutating func global(_ module: String, _ name: String) { bytes += [0x63] + Array("\(module)\n\(name)\n".utf8) }
    mutating func string(_ s: String) {
        let utf8 = Array(s.utf8)
        bytes.append(0x58)
        withUnsafeBytes(of: UInt32(utf8.count).littleEndian) { bytes += $0 }
        bytes += utf8
    }
    mutating func int(_ v: Int) {
        if let small = Int32(exactly: v) {
            bytes.append(0x4a)
            withUnsafeBytes(of: small.littleEndian) { bytes += $0 }
        } else {
            bytes += [0x8a, 8]
            withUnsafeBytes(of: Int64(v).littleEndian) { bytes += $0 }
        }
    }
    mutating func intTuple(_ values: [Int]) {
        mark()
        values.forEach { int($0) }
        tuple()
    }
}

/// A legacy (PyTorch < 1.6 layout) checkpoint holding `{name: tensor}` over one float32 storage, with every field
/// under the test's control, including ones real torch would never write.
func legacyCheckpoint(name: String = "w", storageCount: Int, storageType: String = "FloatStorage",
                      offset: Int, sizes: [Int], strides: [Int],
                      fileCount: Int? = nil, values: [Float]? = nil, copies: Int = 1) -> Data {
    var out: [UInt8] = []
    var magic = PickleBuilder()
    magic.op(0x8a, 10)
    magic.bytes += [0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19]
    magic.stop()
    var version = PickleBuilder()
    version.int(1001)
    version.stop()
    var info = PickleBuilder()
    info.emptyDict()
    info.stop()
    var main = PickleBuilder()
    main.emptyDict()
    main.mark()
    for copy in 0..<copies {
        main.string(copy == 0 ? name : "\(name)\(copy)")
        main.global("torch._utils", "_rebuild_tensor_v2")
        main.mark()
        main.mark(); main.string("storage"); main.global("torch", storageType); main.string("0"); main.string("cpu")
        main.int(storageCount); main.none(); main.tuple()
        main.op(0x51)  // BINPERSID
        main.int(offset)
        main.intTuple(sizes)
        main.intTuple(strides)
        main.op(0x89)  // requires_grad False
        main.emptyDict()
        main.tuple()
        main.reduce()
    }
    main.setItems()
    main.stop()
    var keys = PickleBuilder()
    keys.op(0x5d, 0x28)  // EMPTY_LIST, MARK
    keys.string("0")
    keys.op(0x65)        // APPENDS
    keys.stop()
    out = magic.bytes + version.bytes + info.bytes + main.bytes + keys.bytes
    withUnsafeBytes(of: Int64(fileCount ?? storageCount).littleEndian) { out += $0 }
    let data = values ?? (0..<min(storageCount, 1 << 20)).map { Float($0) }
    for v in data { withUnsafeBytes(of: v.bitPattern.littleEndian) { out += $0 } }
    return Data(out)
}

/// A safetensors file from a raw header string and a data area.
func safetensorsFile(header: String, data: [UInt8], declaredLength: UInt64? = nil) -> Data {
    var out: [UInt8] = []
    let json = Array(header.utf8)
    withUnsafeBytes(of: (declaredLength ?? UInt64(json.count)).littleEndian) { out += $0 }
    return Data(out + json + data)
}

/// A deterministic generator for the fuzz tests (SplitMix64), so a failure replays.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}
