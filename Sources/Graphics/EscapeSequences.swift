// The one table of terminal escape sequences the Graphics encoders and terminal queries emit.

/// Every escape sequence Graphics writes, in one place so encoders never spell raw bytes.
///
/// The explorer uses `saveCursor`/`restoreCursor` around a sixel image it draws beside ncurses.
public enum EscapeSequence {
    /// ESC, the byte every sequence starts with.
    static let escape = "\u{1B}"
    /// Control Sequence Introducer.
    static let csi = "\u{1B}["

    // MARK: - Cursor

    /// DECSC: save the cursor position (`ESC 7`).
    public static let saveCursor = "\u{1B}7"
    /// DECRC: restore the cursor position saved by `saveCursor` (`ESC 8`).
    public static let restoreCursor = "\u{1B}8"

    // MARK: - Select Graphic Rendition

    /// SGR 0: back to the terminal's default colours.
    public static let reset = csi + "0m"
    static func foregroundDirect(_ c: RGB) -> String { csi + "38;2;\(c.r);\(c.g);\(c.b)m" }
    static func backgroundDirect(_ c: RGB) -> String { csi + "48;2;\(c.r);\(c.g);\(c.b)m" }
    static func foreground256(_ index: UInt8) -> String { csi + "38;5;\(index)m" }
    static func background256(_ index: UInt8) -> String { csi + "48;5;\(index)m" }
    /// The 16 ANSI colours: 0–7 as SGR 30–37 / 40–47, the bright 8–15 as 90–97 / 100–107 (aixterm).
    static func foreground16(_ index: UInt8) -> String { csi + "\(index < 8 ? 30 + Int(index) : 82 + Int(index))m" }
    static func background16(_ index: UInt8) -> String { csi + "\(index < 8 ? 40 + Int(index) : 92 + Int(index))m" }

    // MARK: - Sixel

    /// DCS opening a sixel image: aspect 0 (1:1), background 1 (unset pixels stay transparent), grid 0.
    static let sixelStart = "\u{1B}P0;1;0q"
    /// Raster attributes: pixel aspect 1:1 and the image size, so terminals can size the image up front.
    static func sixelRaster(width: Int, height: Int) -> String { "\"1;1;\(width);\(height)" }
    /// A palette register in RGB percent (0–100).
    static func sixelColor(_ index: Int, red: Int, green: Int, blue: Int) -> String { "#\(index);2;\(red);\(green);\(blue)" }
    static func sixelSelect(_ index: Int) -> String { "#\(index)" }
    static func sixelRepeat(_ count: Int, _ character: Character) -> String { "!\(count)\(character)" }
    /// Graphics carriage return: back to the start of the band for the next colour.
    static let sixelCarriageReturn = "$"
    /// Graphics new line: down to the next band of six rows.
    static let sixelNewLine = "-"
    /// String Terminator closing the DCS.
    static let sixelEnd = "\u{1B}\\"

    // MARK: - Queries

    /// Primary Device Attributes; the reply `ESC [ ? 6x ; … c` lists 4 when the terminal draws sixels.
    static let primaryDeviceAttributes = csi + "c"
    /// XTWINOPS 16: the cell size in pixels; the reply is `ESC [ 6 ; height ; width t`.
    static let cellSizeQuery = csi + "16t"
}
