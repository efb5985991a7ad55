// Cell grids: the computed form of a picture in character cells, before any escape sequence is chosen.
import Media

/// One character cell: a glyph with optional foreground and background colours (nil: the terminal default).
public struct Cell: Sendable, Equatable {
    /// The glyph, one terminal column wide.
    public var character: Character
    /// The glyph's colour; nil keeps the terminal's default.
    public var foreground: RGB?
    /// The cell's background; nil keeps the terminal's default.
    public var background: RGB?

    /// A cell from its glyph and colours.
    public init(character: Character, foreground: RGB? = nil, background: RGB? = nil) {
        self.character = character
        self.foreground = foreground
        self.background = background
    }
}

/// A `columns × rows` block of cells, row-major, ready for `ANSIEncoder` or the explorer's ncurses screen.
///
/// ```swift
/// let size = fitCells(imageWidth: frame.width, imageHeight: frame.height, columns: 80, rows: 24)
/// let grid = CellGrid.blocks(frame, columns: size.columns, rows: size.rows)
/// print(ANSIEncoder.encode(grid, capabilities: caps))
/// ```
public struct CellGrid: Sendable, Equatable {
    /// Width in cells.
    public var columns: Int
    /// Height in cells.
    public var rows: Int
    /// `columns * rows` cells, rows top to bottom.
    public var cells: [Cell]

    /// A grid from its cells.
    /// - Precondition: `cells.count == columns * rows`.
    public init(columns: Int, rows: Int, cells: [Cell]) {
        precondition(columns >= 0 && rows >= 0 && cells.count == columns * rows, "CellGrid: cell count")
        self.columns = columns
        self.rows = rows
        self.cells = cells
    }

    /// The cell at `column`, `row`.
    public subscript(column: Int, row: Int) -> Cell { cells[row * columns + column] }
}

// MARK: - Fitting

/// The largest cell size within `columns × rows` that keeps the image's aspect ratio, taking a cell to be
/// twice as tall as it is wide (so half blocks give square pixels). Both results are at least 1.
public func fitCells(imageWidth: Int, imageHeight: Int, columns: Int, rows: Int) -> (columns: Int, rows: Int) {
    guard imageWidth > 0, imageHeight > 0, columns > 0, rows > 0 else { return (max(columns, 1), max(rows, 1)) }
    // rows = columns · H / (2W) keeps the picture's shape when a cell is 1 wide and 2 tall.
    let rowsAtFullWidth = (Double(columns) * Double(imageHeight) / (2 * Double(imageWidth))).rounded()
    if rowsAtFullWidth <= Double(rows) { return (columns, max(1, Int(rowsAtFullWidth))) }
    let columnsAtFullHeight = (Double(rows) * 2 * Double(imageWidth) / Double(imageHeight)).rounded()
    return (max(1, min(columns, Int(columnsAtFullHeight))), rows)
}

// MARK: - Renderers

extension CellGrid {
    /// The luminance ramp from dark to bright used by `ascii` by default.
    public static let defaultRamp: [Character] = Array(" .:-=+*#%@")

    /// An ASCII-art grid: each cell's glyph picked from `ramp` by the Rec. 601 luma of the area it covers.
    /// - Parameters:
    ///   - colored: also set each cell's foreground to the area's mean colour.
    public static func ascii(_ image: RGBImage, columns: Int, rows: Int, colored: Bool = false,
                             ramp: [Character] = defaultRamp) -> CellGrid {
        precondition(!ramp.isEmpty, "CellGrid.ascii: empty ramp")
        let samples = areaAverage(image, toWidth: columns, toHeight: rows)
        var cells: [Cell] = []
        cells.reserveCapacity(columns * rows)
        let steps = Float(ramp.count - 1)
        for k in 0..<(columns * rows) {
            let (r, g, b) = (samples[3 * k], samples[3 * k + 1], samples[3 * k + 2])
            let luma = 0.299 * r + 0.587 * g + 0.114 * b
            let level = min(ramp.count - 1, max(0, Int((luma / 255 * steps).rounded())))
            cells.append(Cell(character: ramp[level], foreground: colored ? rgb(r, g, b) : nil))
        }
        return CellGrid(columns: columns, rows: rows, cells: cells)
    }

    /// A half-block grid: each cell is '▀' with the upper pixel as foreground and the lower as background,
    /// the image area-averaged to `columns × 2·rows` pixels.
    public static func blocks(_ image: RGBImage, columns: Int, rows: Int) -> CellGrid {
        let samples = areaAverage(image, toWidth: columns, toHeight: 2 * rows)
        var cells: [Cell] = []
        cells.reserveCapacity(columns * rows)
        for row in 0..<rows {
            for column in 0..<columns {
                let top = 3 * ((2 * row) * columns + column), bottom = 3 * ((2 * row + 1) * columns + column)
                cells.append(Cell(character: "▀",
                                  foreground: rgb(samples[top], samples[top + 1], samples[top + 2]),
                                  background: rgb(samples[bottom], samples[bottom + 1], samples[bottom + 2])))
            }
        }
        return CellGrid(columns: columns, rows: rows, cells: cells)
    }

    private static func rgb(_ r: Float, _ g: Float, _ b: Float) -> RGB {
        RGB(UInt8((r + 0.5).rounded(.down)), UInt8((g + 0.5).rounded(.down)), UInt8((b + 0.5).rounded(.down)))
    }
}
