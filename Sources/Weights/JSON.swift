// MARK: - A small strict JSON reader

/// A parsed JSON value. Objects keep their key order; numbers keep their text so integers up to 2⁶³ stay exact
/// (Foundation's parser turns them into Double first).
indirect enum JSONValue: Equatable {
    case null
    case bool(Bool)
    case number(String)
    case string(String)
    case array([JSONValue])
    case object([(String, JSONValue)])

    static func == (a: JSONValue, b: JSONValue) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case let (.bool(x), .bool(y)): return x == y
        case let (.number(x), .number(y)), let (.string(x), .string(y)): return x == y
        case let (.array(x), .array(y)): return x == y
        case let (.object(x), .object(y)): return x.map(\.0) == y.map(\.0) && x.map(\.1) == y.map(\.1)
        default: return false
        }
    }

    /// The value as an exact non-negative or negative integer, or nil (fractions, exponents, overflow).
    var integer: Int? {
        guard case let .number(text) = self, !text.contains(where: { ".eE".contains($0) }) else { return nil }
        return Int(text)
    }

    var string: String? { if case let .string(s) = self { return s } else { return nil } }
}

/// Parses UTF-8 JSON with a nesting limit, so a hostile header cannot exhaust the stack.
struct JSONParser {
    private var reader: ByteReader
    private let maxDepth = 64
    private let what: String

    init(_ bytes: UnsafeRawBufferPointer, what: String) {
        reader = ByteReader(bytes)
        self.what = what
    }

    static func parse(_ bytes: UnsafeRawBufferPointer, what: String) throws -> JSONValue {
        var parser = JSONParser(bytes, what: what)
        let value = try parser.value(depth: 0)
        parser.skipSpace()
        guard parser.reader.atEnd else { throw parser.error("trailing bytes") }
        return value
    }

    private func error(_ message: String) -> WeightsError {
        .corrupt("\(what): invalid JSON at byte \(reader.position): \(message)")
    }

    private mutating func skipSpace() {
        while !reader.atEnd, [0x20, 0x0a, 0x0d, 0x09].contains(reader.bytes[reader.position]) { reader.position += 1 }
    }

    private mutating func peek() throws -> UInt8 {
        skipSpace()
        guard !reader.atEnd else { throw error("unexpected end") }
        return reader.bytes[reader.position]
    }

    private mutating func expect(_ literal: String) throws {
        for c in literal.utf8 {
            guard !reader.atEnd, reader.bytes[reader.position] == c else { throw error("expected \(literal)") }
            reader.position += 1
        }
    }

    private mutating func value(depth: Int) throws -> JSONValue {
        guard depth < maxDepth else { throw error("nested deeper than \(maxDepth)") }
        switch try peek() {
        case UInt8(ascii: "{"):
            reader.position += 1
            var members: [(String, JSONValue)] = []
            if try peek() == UInt8(ascii: "}") { reader.position += 1; return .object(members) }
            while true {
                guard try peek() == UInt8(ascii: "\"") else { throw error("expected a key") }
                let key = try string()
                guard try peek() == UInt8(ascii: ":") else { throw error("expected ':'") }
                reader.position += 1
                members.append((key, try value(depth: depth + 1)))
                let c = try peek()
                reader.position += 1
                if c == UInt8(ascii: "}") { return .object(members) }
                guard c == UInt8(ascii: ",") else { throw error("expected ',' or '}'") }
            }
        case UInt8(ascii: "["):
            reader.position += 1
            var items: [JSONValue] = []
            if try peek() == UInt8(ascii: "]") { reader.position += 1; return .array(items) }
            while true {
                items.append(try value(depth: depth + 1))
                let c = try peek()
                reader.position += 1
                if c == UInt8(ascii: "]") { return .array(items) }
                guard c == UInt8(ascii: ",") else { throw error("expected ',' or ']'") }
            }
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try expect("true"); return .bool(true)
        case UInt8(ascii: "f"): try expect("false"); return .bool(false)
        case UInt8(ascii: "n"): try expect("null"); return .null
        default: return try number()
        }
    }

    private mutating func number() throws -> JSONValue {
        let start = reader.position
        while !reader.atEnd, "+-0123456789.eE".utf8.contains(reader.bytes[reader.position]) { reader.position += 1 }
        let text = String(decoding: UnsafeRawBufferPointer(rebasing: reader.bytes[start..<reader.position]), as: UTF8.self)
        guard !text.isEmpty, Double(text) != nil else { throw error("bad number '\(text.prefix(20))'") }
        return .number(text)
    }

    private mutating func string() throws -> String {
        reader.position += 1  // opening quote
        var bytes: [UInt8] = []
        while true {
            let c = try reader.byte("\(what) string")
            switch c {
            case UInt8(ascii: "\""):
                guard let s = String(validating: bytes, as: UTF8.self) else { throw error("string is not UTF-8") }
                return s
            case UInt8(ascii: "\\"):
                let e = try reader.byte("\(what) escape")
                switch e {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): bytes.append(e)
                case UInt8(ascii: "b"): bytes.append(8)
                case UInt8(ascii: "f"): bytes.append(12)
                case UInt8(ascii: "n"): bytes.append(10)
                case UInt8(ascii: "r"): bytes.append(13)
                case UInt8(ascii: "t"): bytes.append(9)
                case UInt8(ascii: "u"):
                    var scalar = try hex4()
                    if (0xd800..<0xdc00).contains(scalar) {
                        try expect("\\u")
                        let low = try hex4()
                        guard (0xdc00..<0xe000).contains(low) else { throw error("unpaired surrogate") }
                        scalar = 0x10000 + ((scalar - 0xd800) << 10) + (low - 0xdc00)
                    }
                    guard let u = Unicode.Scalar(scalar) else { throw error("bad \\u escape") }
                    bytes.append(contentsOf: Array(String(Character(u)).utf8))
                default: throw error("bad escape")
                }
            case 0..<0x20: throw error("control character in string")
            default: bytes.append(c)
            }
        }
    }

    private mutating func hex4() throws -> UInt32 {
        let digits = try reader.array(4, "\(what) \\u escape")
        guard let v = UInt32(String(decoding: digits, as: UTF8.self), radix: 16) else { throw error("bad \\u escape") }
        return v
    }
}

// MARK: - Writing

/// `s` as a JSON string literal.
func jsonQuoted(_ s: String) -> String {
    var out = "\""
    for u in s.unicodeScalars {
        switch u {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case _ where u.value < 0x20: out += "\\u" + String(repeating: "0", count: 4 - String(u.value, radix: 16).count) + String(u.value, radix: 16)
        default: out.unicodeScalars.append(u)
        }
    }
    return out + "\""
}
