// A growable byte buffer the encoders write escape sequences into, faster than string interpolation per cell.

/// Appends ASCII/UTF-8 text and decimal numbers to a byte array.
struct ByteWriter {
    private(set) var bytes: [UInt8] = []

    init(capacity: Int = 0) { bytes.reserveCapacity(capacity) }

    mutating func append(_ text: String) { bytes.append(contentsOf: text.utf8) }
    mutating func append(byte: UInt8) { bytes.append(byte) }
    mutating func append(_ character: Character) { bytes.append(contentsOf: character.utf8) }

    /// A non-negative integer in decimal.
    mutating func append(number: Int) {
        precondition(number >= 0)
        if number < 10 { bytes.append(UInt8(ascii: "0") + UInt8(number)); return }
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var n = number, count = 0
        withUnsafeMutableBytes(of: &digits) { d in
            while n > 0 { d[count] = UInt8(ascii: "0") + UInt8(n % 10); n /= 10; count += 1 }
            for i in stride(from: count - 1, through: 0, by: -1) { bytes.append(d[i]) }
        }
    }

    var string: String { String(decoding: bytes, as: UTF8.self) }
}
