// Exports+Labels: a 3×5 pixel font for the explainer names above compare-grid panels (PNG has no text).
import Media

/// Upper-case letters, digits and a few marks as 3×5 bitmaps, row by row from the top.
enum LabelFont {
    static let width = 3, height = 5

    static let glyphs: [Character: String] = [
        "A": "010101111101101", "B": "110101110101110", "C": "011100100100011", "D": "110101101101110",
        "E": "111100110100111", "F": "111100110100100", "G": "011100101101011", "H": "101101111101101",
        "I": "111010010010111", "J": "001001001101010", "K": "101101110101101", "L": "100100100100111",
        "M": "101111111101101", "N": "110101101101101", "O": "010101101101010", "P": "110101110100100",
        "Q": "010101101110011", "R": "110101110101101", "S": "011100010001110", "T": "111010010010010",
        "U": "101101101101111", "V": "101101101101010", "W": "101101111111101", "X": "101101010101101",
        "Y": "101101010010010", "Z": "111001010100111",
        "0": "111101101101111", "1": "010110010010111", "2": "110001010100111", "3": "110001010001110",
        "4": "101101111001001", "5": "111100110001110", "6": "011100111101111", "7": "111001010010010",
        "8": "111101111101111", "9": "111101111001110",
        "+": "000010111010000", "-": "000000111000000", ".": "000000000000010", "_": "000000000000111",
        " ": "000000000000000",
    ]

    /// Draws `text` (upper-cased; unknown characters as blanks) in white from (x, y), each font pixel a
    /// `scale`×`scale` square, one blank column between glyphs, cut at `maxWidth`.
    static func draw(_ text: String, into canvas: inout RGBImage, x: Int, y: Int, scale: Int, maxWidth: Int) {
        var cursor = x
        for ch in text.uppercased() {
            guard cursor + width * scale <= x + maxWidth else { break }
            let bits = Array(glyphs[ch] ?? glyphs[" "]!)
            for row in 0..<height {
                for col in 0..<width where bits[row * width + col] == "1" {
                    for dy in 0..<scale {
                        for dx in 0..<scale {
                            let px = cursor + col * scale + dx, py = y + row * scale + dy
                            guard px >= 0 && px < canvas.width && py >= 0 && py < canvas.height else { continue }
                            let k = 3 * (py * canvas.width + px)
                            canvas.pixels[k] = 255; canvas.pixels[k + 1] = 255; canvas.pixels[k + 2] = 255
                        }
                    }
                }
            }
            cursor += (width + 1) * scale
        }
    }
}
