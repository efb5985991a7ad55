// MARK: - Element types

/// The element type a tensor had in its file. Everything is widened to Float32 on load; this is kept so
/// `model inspect` can say what the file really holds.
public enum DType: String, Sendable, CaseIterable, Equatable {
    case float64, float32, float16, bfloat16, float8E4M3, float8E5M2
    case int64, int32, int16, int8
    case uint64, uint32, uint16, uint8
    case bool

    /// Bytes per element.
    public var size: Int {
        switch self {
        case .float64, .int64, .uint64: return 8
        case .float32, .int32, .uint32: return 4
        case .float16, .bfloat16, .int16, .uint16: return 2
        case .float8E4M3, .float8E5M2, .int8, .uint8, .bool: return 1
        }
    }

    /// The dtype of a PyTorch typed-storage class name such as `FloatStorage`.
    init?(torchStorage name: String) {
        switch name {
        case "FloatStorage": self = .float32
        case "DoubleStorage": self = .float64
        case "HalfStorage": self = .float16
        case "BFloat16Storage": self = .bfloat16
        case "LongStorage": self = .int64
        case "IntStorage": self = .int32
        case "ShortStorage": self = .int16
        case "CharStorage": self = .int8
        case "ByteStorage", "UntypedStorage": self = .uint8
        case "BoolStorage": self = .bool
        default: return nil
        }
    }

    /// The dtype of a `torch.<name>` dtype global (used by `_rebuild_tensor_v3`).
    init?(torchDType name: String) {
        switch name {
        case "float32", "float": self = .float32
        case "float64", "double": self = .float64
        case "float16", "half": self = .float16
        case "bfloat16": self = .bfloat16
        case "float8_e4m3fn": self = .float8E4M3
        case "float8_e5m2": self = .float8E5M2
        case "int64", "long": self = .int64
        case "int32", "int": self = .int32
        case "int16", "short": self = .int16
        case "int8": self = .int8
        case "uint8": self = .uint8
        case "uint16": self = .uint16
        case "uint32": self = .uint32
        case "uint64": self = .uint64
        case "bool": self = .bool
        default: return nil
        }
    }

    /// The dtype of a safetensors header `dtype` string.
    init?(safetensors name: String) {
        switch name {
        case "F64": self = .float64
        case "F32": self = .float32
        case "F16": self = .float16
        case "BF16": self = .bfloat16
        case "F8_E4M3": self = .float8E4M3
        case "F8_E5M2": self = .float8E5M2
        case "I64": self = .int64
        case "I32": self = .int32
        case "I16": self = .int16
        case "I8": self = .int8
        case "U64": self = .uint64
        case "U32": self = .uint32
        case "U16": self = .uint16
        case "U8": self = .uint8
        case "BOOL": self = .bool
        default: return nil
        }
    }

    var safetensorsName: String {
        switch self {
        case .float64: return "F64"
        case .float32: return "F32"
        case .float16: return "F16"
        case .bfloat16: return "BF16"
        case .float8E4M3: return "F8_E4M3"
        case .float8E5M2: return "F8_E5M2"
        case .int64: return "I64"
        case .int32: return "I32"
        case .int16: return "I16"
        case .int8: return "I8"
        case .uint64: return "U64"
        case .uint32: return "U32"
        case .uint16: return "U16"
        case .uint8: return "U8"
        case .bool: return "BOOL"
        }
    }
}

// MARK: - Widening to Float32

extension DType {
    /// Decodes `count` elements whose byte positions are `elementIndex(i) * size` in `raw`, widening to Float.
    /// The callers have checked every index against `raw`'s length; the switch sits outside the loop so each
    /// dtype's loop is tight.
    func decode(_ raw: UnsafeRawBufferPointer, count: Int, bigEndian: Bool,
                elementIndex: (Int) -> Int) -> [Float] {
        let size = self.size
        return [Float](unsafeUninitializedCapacity: count) { out, initialized in
            @inline(__always) func load<T: FixedWidthInteger>(_: T.Type, _ i: Int) -> T {
                let v = raw.loadUnaligned(fromByteOffset: elementIndex(i) * size, as: T.self)
                return bigEndian ? T(bigEndian: v) : T(littleEndian: v)
            }
            switch self {
            case .float32: for i in 0..<count { out[i] = Float(bitPattern: load(UInt32.self, i)) }
            case .float64: for i in 0..<count { out[i] = Float(Double(bitPattern: load(UInt64.self, i))) }
            case .float16: for i in 0..<count { out[i] = halfToFloat(load(UInt16.self, i)) }
            case .bfloat16: for i in 0..<count { out[i] = Float(bitPattern: UInt32(load(UInt16.self, i)) << 16) }
            case .float8E4M3: for i in 0..<count { out[i] = float8E4M3ToFloat(load(UInt8.self, i)) }
            // E5M2 is the top byte of an IEEE half.
            case .float8E5M2: for i in 0..<count { out[i] = halfToFloat(UInt16(load(UInt8.self, i)) << 8) }
            case .int64: for i in 0..<count { out[i] = Float(load(Int64.self, i)) }
            case .int32: for i in 0..<count { out[i] = Float(load(Int32.self, i)) }
            case .int16: for i in 0..<count { out[i] = Float(load(Int16.self, i)) }
            case .int8: for i in 0..<count { out[i] = Float(load(Int8.self, i)) }
            case .uint64: for i in 0..<count { out[i] = Float(load(UInt64.self, i)) }
            case .uint32: for i in 0..<count { out[i] = Float(load(UInt32.self, i)) }
            case .uint16: for i in 0..<count { out[i] = Float(load(UInt16.self, i)) }
            case .uint8: for i in 0..<count { out[i] = Float(load(UInt8.self, i)) }
            case .bool: for i in 0..<count { out[i] = load(UInt8.self, i) != 0 ? 1 : 0 }
            }
            initialized = count
        }
    }
}

// MARK: - Half precision

// Float16 is written by hand: Swift's Float16 type is missing on macOS/x86_64, one of the supported platforms.

/// IEEE 754 binary16 bits → Float (exact).
func halfToFloat(_ h: UInt16) -> Float {
    let sign = UInt32(h >> 15) << 31
    let exponent = Int((h >> 10) & 0x1f)
    let mantissa = UInt32(h & 0x3ff)
    if exponent == 0x1f { return Float(bitPattern: sign | 0x7f80_0000 | (mantissa << 13)) }
    if exponent == 0 {
        // Subnormal (or zero): mantissa × 2⁻²⁴, exact in Float.
        let magnitude = Float(mantissa) * 0x1p-24
        return sign != 0 ? -magnitude : magnitude
    }
    return Float(bitPattern: sign | UInt32(exponent - 15 + 127) << 23 | (mantissa << 13))
}

/// Float → IEEE 754 binary16 bits, rounding to nearest even; overflow goes to ±infinity, as PyTorch's `.half()`.
func floatToHalf(_ f: Float) -> UInt16 {
    let bits = f.bitPattern
    let sign = UInt16((bits >> 16) & 0x8000)
    if f.isNaN { return sign | 0x7e00 }
    let magnitude = abs(f)
    if magnitude >= 65520 { return sign | 0x7c00 }  // 65520 is the first value that rounds past 65504
    if magnitude < 0x1p-14 {
        // Subnormal range: quantise to multiples of 2⁻²⁴; rint rounds half to even.
        return sign | UInt16((magnitude * 0x1p24).rounded(.toNearestOrEven))
    }
    let exponent = Int((bits >> 23) & 0xff) - 127 + 15
    var mantissa = bits & 0x7f_ffff
    var half = UInt32(exponent) << 10 | (mantissa >> 13)
    mantissa &= 0x1fff
    if mantissa > 0x1000 || (mantissa == 0x1000 && half & 1 == 1) { half += 1 }  // a carry may bump the exponent: correct
    return sign | UInt16(half)
}

/// float8 e4m3fn (no infinities; S.1111.111 is NaN) → Float.
func float8E4M3ToFloat(_ b: UInt8) -> Float {
    let negative = b & 0x80 != 0
    let exponent = Int((b >> 3) & 0xf)
    let mantissa = Float(b & 0x7)
    let value: Float
    if exponent == 0xf && b & 0x7 == 0x7 { value = .nan }
    else if exponent == 0 { value = mantissa * 0x1p-9 }
    else { value = (1 + mantissa / 8) * Float(sign: .plus, exponent: exponent - 7, significand: 1) }
    return negative ? -value : value
}
