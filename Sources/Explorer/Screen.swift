import Graphics

/// What a cell is for; the theme turns roles into colours, so views never name raw colour pairs.
public enum Role: Int, CaseIterable, Sendable {
    case normal, dim, title, statusBar, statusError, statusAccent, timelineBar, timelineCursor, timelineCurve,
         threshold, panelText, helpBox, helpKey, prompt, faceBox, faceSelected, scoreFake, scoreReal
}

/// One terminal cell: a character drawn in a role, or with explicit image colours (frame pixels, heatmaps).
public struct ScreenCell: Equatable, Sendable {
    public var character: Character
    public var role: Role
    public var foreground: RGB?
    public var background: RGB?

    public init(_ character: Character = " ", role: Role = .normal, foreground: RGB? = nil, background: RGB? = nil) {
        self.character = character
        self.role = role
        self.foreground = foreground
        self.background = background
    }
}

/// A sixel image placed at a cell; the terminal writes it after the text, inside ESC 7 … ESC 8.
public struct ScreenImage: Equatable, Sendable {
    public var row: Int, column: Int
    /// The cells the image covers (its pixel height never reaches past `row + rows`).
    public var rows: Int, columns: Int
    public var sixel: String
}

/// A whole frame of the explorer: the pure result of `render`, drawn by `Terminal` and read by snapshot tests.
public struct Screen: Equatable, Sendable {
    public let rows: Int
    public let columns: Int
    public private(set) var cells: [ScreenCell]
    public var images: [ScreenImage] = []
    /// Where the terminal cursor should rest (the prompt), if anywhere.
    public var cursor: (row: Int, column: Int)?

    public static func == (a: Screen, b: Screen) -> Bool {
        a.rows == b.rows && a.columns == b.columns && a.cells == b.cells && a.images == b.images
            && a.cursor?.row == b.cursor?.row && a.cursor?.column == b.cursor?.column
    }

    public init(rows: Int, columns: Int) {
        self.rows = max(0, rows)
        self.columns = max(0, columns)
        cells = Array(repeating: ScreenCell(), count: self.rows * self.columns)
    }

    public subscript(row: Int, column: Int) -> ScreenCell {
        get { cells[row * columns + column] }
        set {
            guard row >= 0, row < rows, column >= 0, column < columns else { return }
            cells[row * columns + column] = newValue
        }
    }

    /// Writes text from a cell onwards, clipped to `limit` columns (default: the screen edge).
    mutating func put(_ text: String, row: Int, column: Int, role: Role = .normal, limit: Int? = nil) {
        guard row >= 0, row < rows else { return }
        let end = min(columns, column + (limit ?? columns))
        var c = column
        for ch in text {
            if c >= end { break }
            if c >= 0 { self[row, c] = ScreenCell(ch, role: role) }
            c += 1
        }
    }

    /// Fills a rectangle with one character and role.
    mutating func fill(_ rect: CellRect, _ character: Character = " ", role: Role) {
        for r in rect.row..<(rect.row + rect.rows) {
            for c in rect.column..<(rect.column + rect.columns) { self[r, c] = ScreenCell(character, role: role) }
        }
    }

    /// The characters of one row, for tests and logs.
    public func text(row: Int) -> String {
        String(cells[(row * columns)..<((row + 1) * columns)].map(\.character))
    }

    /// The whole screen as text, one line per row.
    public var text: String { (0..<rows).map { text(row: $0) }.joined(separator: "\n") }
}
