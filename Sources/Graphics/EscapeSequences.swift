// The one table of terminal escape sequences the Graphics encoders and terminal queries emit.

/// A colour as SGR selects it, at the depth the terminal supports.
enum SGRColor: Equatable {
    /// 24-bit `38;2;r;g;b`.
    case direct(RGB)
    /// xterm 256-colour index `38;5;i`.
    case indexed(UInt8)
    /// One of the 16 ANSI colours, `30–37` and the bright `90–97`.
    case ansi(UInt8)
    /// The terminal's default colour, `39` / `49`.
    case standard
}

/// Every escape sequence Graphics writes, in one place so encoders never spell raw bytes.
///
/// The explorer uses `saveCursor`/`restoreCursor` around a sixel image it draws beside ncurses.
public enum EscapeSequence {
    static let escape: UInt8 = 0x1B
    /// Control Sequence Introducer.
    static let csi = "\u{1B}["

    // MARK: - Cursor

    /// DECSC: save the cursor position (`ESC 7`).
    public static let saveCursor = "\u{1B}7"
    /// DECRC: restore the cursor position saved by `saveCursor` (`ESC 8`).
    public static let restoreCursor = "\u{1B}8"

    // MARK: - Select Graphic Rendition

    /// SGR 0: back to the terminal's default colours and attributes.
    public static let reset = csi + "0m"

    /// One SGR sequence changing the foreground, the background, or both (nil leaves that one alone).
    static func writeSGR(foreground: SGRColor?, background: SGRColor?, into w: inout ByteWriter) {
        w.append(csi)
        if let foreground { writeColor(foreground, background: false, into: &w) }
        if let background {
            if foreground != nil { w.append(byte: UInt8(ascii: ";")) }
            writeColor(background, background: true, into: &w)
        }
        w.append(byte: UInt8(ascii: "m"))
    }

    private static func writeColor(_ color: SGRColor, background: Bool, into w: inout ByteWriter) {
        switch color {
        case .direct(let c):
            w.append(background ? "48;2;" : "38;2;")
            w.append(number: Int(c.r)); w.append(byte: UInt8(ascii: ";"))
            w.append(number: Int(c.g)); w.append(byte: UInt8(ascii: ";"))
            w.append(number: Int(c.b))
        case .indexed(let i):
            w.append(background ? "48;5;" : "38;5;")
            w.append(number: Int(i))
        case .ansi(let i):
            // 0–7 are SGR 30–37 / 40–47; the bright 8–15 are aixterm's 90–97 / 100–107.
            w.append(number: (background ? 40 : 30) + (i < 8 ? Int(i) : 60 + Int(i) - 8))
        case .standard:
            w.append(background ? "49" : "39")
        }
    }

    // MARK: - Sixel

    /// DCS opening a sixel image: aspect 0 (1:1), background 1 (unset pixels stay transparent), grid 0.
    static let sixelStart = "\u{1B}P0;1;0q"
    /// Raster attributes: pixel aspect 1:1 and the image size, so terminals can size the image up front.
    static func writeSixelRaster(width: Int, height: Int, into w: inout ByteWriter) {
        w.append("\"1;1;")
        w.append(number: width); w.append(byte: UInt8(ascii: ";")); w.append(number: height)
    }
    /// Defines palette register `index` in RGB percent (0–100).
    static func writeSixelColor(_ index: Int, percent: (Int, Int, Int), into w: inout ByteWriter) {
        w.append(byte: UInt8(ascii: "#")); w.append(number: index)
        w.append(";2;")
        w.append(number: percent.0); w.append(byte: UInt8(ascii: ";"))
        w.append(number: percent.1); w.append(byte: UInt8(ascii: ";"))
        w.append(number: percent.2)
    }
    /// Selects palette register `index` for the sixels that follow.
    static func writeSixelSelect(_ index: Int, into w: inout ByteWriter) {
        w.append(byte: UInt8(ascii: "#")); w.append(number: index)
    }
    /// `count` copies of one sixel (six vertical pixels, bit 0 on top), run-length coded from 4 on.
    static func writeSixelRun(_ bits: UInt8, count: Int, into w: inout ByteWriter) {
        let character = sixelCharacterBase + bits
        if count >= sixelMinimumRepeat {
            w.append(byte: UInt8(ascii: "!")); w.append(number: count); w.append(byte: character)
        } else {
            for _ in 0..<count { w.append(byte: character) }
        }
    }
    /// Sixel data characters are `?` (63) plus the six-bit column pattern.
    static let sixelCharacterBase: UInt8 = 63
    /// From this length `!n` is shorter than repeating the character.
    static let sixelMinimumRepeat = 4
    /// Graphics carriage return: back to the start of the band for the next colour.
    static let sixelCarriageReturn: UInt8 = UInt8(ascii: "$")
    /// Graphics new line: down to the next band of six rows.
    static let sixelNewLine: UInt8 = UInt8(ascii: "-")
    /// String Terminator closing the DCS.
    static let sixelEnd = "\u{1B}\\"

    // MARK: - Queries

    /// Primary Device Attributes; the reply `ESC [ ? 6x ; … c` lists 4 when the terminal draws sixels.
    static let primaryDeviceAttributes = csi + "c"
    /// XTWINOPS 16: the cell size in pixels; the reply is `ESC [ 6 ; height ; width t`.
    static let cellSizeQuery = csi + "16t"
}
