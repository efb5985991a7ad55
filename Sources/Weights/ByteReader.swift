// MARK: - Bounds-checked reading

/// A cursor over raw bytes whose every read is checked against the end; reading past it throws `.truncated`
/// naming what was being read, so parsers never index out of bounds on hostile input.
struct ByteReader {
    let bytes: UnsafeRawBufferPointer
    var position: Int

    init(_ bytes: UnsafeRawBufferPointer, at position: Int = 0) {
        self.bytes = bytes
        self.position = position
    }

    var remaining: Int { bytes.count - position }
    var atEnd: Bool { position >= bytes.count }

    mutating func need(_ count: Int, _ what: @autoclosure () -> String) throws {
        guard count >= 0, count <= remaining else {
            throw WeightsError.truncated("\(what()) needs \(count) bytes at offset \(position), \(max(remaining, 0)) left")
        }
    }

    mutating func byte(_ what: @autoclosure () -> String) throws -> UInt8 {
        try need(1, what())
        defer { position += 1 }
        return bytes[position]
    }

    mutating func integer<T: FixedWidthInteger>(_: T.Type, _ what: @autoclosure () -> String) throws -> T {
        try need(MemoryLayout<T>.size, what())
        defer { position += MemoryLayout<T>.size }
        return T(littleEndian: bytes.loadUnaligned(fromByteOffset: position, as: T.self))
    }

    mutating func slice(_ count: Int, _ what: @autoclosure () -> String) throws -> UnsafeRawBufferPointer {
        try need(count, what())
        defer { position += count }
        return UnsafeRawBufferPointer(rebasing: bytes[position..<(position + count)])
    }

    mutating func array(_ count: Int, _ what: @autoclosure () -> String) throws -> [UInt8] {
        Array(try slice(count, what()))
    }

    /// A line up to (not including) `\n`, for the text opcodes of pickle protocol 0.
    mutating func line(_ what: @autoclosure () -> String) throws -> [UInt8] {
        var end = position
        while end < bytes.count, bytes[end] != 0x0a { end += 1 }
        guard end < bytes.count else { throw WeightsError.truncated("\(what()): no end of line after offset \(position)") }
        defer { position = end + 1 }
        return Array(bytes[position..<end])
    }
}

/// Multiplies dimensions, returning nil on overflow or a negative dimension.
func checkedProduct(_ dims: [Int]) -> Int? {
    var n = 1
    for d in dims {
        guard d >= 0 else { return nil }
        let (p, overflow) = n.multipliedReportingOverflow(by: d)
        if overflow { return nil }
        n = p
    }
    return n
}
