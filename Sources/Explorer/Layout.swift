/// A rectangle of terminal cells.
public struct CellRect: Equatable, Sendable {
    public var row: Int, column: Int, rows: Int, columns: Int
    public init(row: Int, column: Int, rows: Int, columns: Int) {
        self.row = row; self.column = column; self.rows = max(0, rows); self.columns = max(0, columns)
    }
    func contains(row r: Int, column c: Int) -> Bool {
        r >= row && r < row + rows && c >= column && c < column + columns
    }
}

/// Where each pane goes for a terminal size: a pure function, so clicks and drawing always agree.
public struct Layout: Equatable, Sendable {
    public var size: (rows: Int, columns: Int)
    /// The video frame, scaled into this area with its aspect ratio kept.
    public var frame: CellRect
    /// Video and face facts; empty on narrow terminals.
    public var side: CellRect
    /// The probability curve and the position cursor.
    public var timeline: CellRect
    /// The last row.
    public var status: CellRect

    public static func == (a: Layout, b: Layout) -> Bool {
        a.size == b.size && a.frame == b.frame && a.side == b.side && a.timeline == b.timeline && a.status == b.status
    }

    /// The smallest terminal the explorer draws into; below it a "terminal too small" notice is shown.
    public static let minimum = (rows: 8, columns: 30)

    public init(rows: Int, columns: Int) {
        size = (rows, columns)
        status = CellRect(row: rows - 1, column: 0, rows: 1, columns: columns)
        // Five rows (three of them for the probability curve) once there is room; the curve needs a height for the
        // threshold line to read as a line.
        let timelineRows = rows >= 24 ? 5 : (rows >= 16 ? 3 : 2)
        timeline = CellRect(row: rows - 1 - timelineRows, column: 0, rows: timelineRows, columns: columns)
        let body = rows - 1 - timelineRows
        let sideColumns = columns >= 90 ? 34 : (columns >= 64 ? 26 : 0)
        side = CellRect(row: 0, column: columns - sideColumns, rows: body, columns: sideColumns)
        frame = CellRect(row: 0, column: 0, rows: body, columns: columns - sideColumns - (sideColumns > 0 ? 1 : 0))
    }

    /// Rows of the timeline that draw the probability curve (above the bar and the labels).
    var curveRows: Int { max(0, timeline.rows - 2) }

    /// The selected face's heatmap pane inside the side panel (empty without a side panel): under the five
    /// lines of video and detector facts and the face title, square in half-block pixels.
    var facePane: CellRect {
        guard side.columns > 0 else { return CellRect(row: 0, column: 0, rows: 0, columns: 0) }
        let rows = min((side.columns - 2) / 2, max(0, (side.rows - 16) ))
        return CellRect(row: side.row + 6, column: side.column + 1, rows: min(rows, 12), columns: min(side.columns - 2, 2 * min(rows, 12)))
    }

    /// The compare view covers the frame and the side panel.
    var compare: CellRect { CellRect(row: 0, column: 0, rows: frame.rows, columns: size.columns) }

    /// The image rectangle of each of `count` compare panels: a grid, each panel with a name line above its
    /// image and three metric lines below.
    func comparePanels(count: Int) -> [CellRect] {
        guard count > 0, compare.rows >= 6, compare.columns >= 12 else { return [] }
        // The arrangement (panels per row) that gives the largest square images.
        func imageRows(_ perRow: Int) -> Int {
            let gridRows = (count + perRow - 1) / perRow
            return max(1, min(compare.rows / gridRows - 5, (compare.columns / perRow - 2) / 2))
        }
        let perRow = (1...count).max { imageRows($0) < imageRows($1) } ?? count
        let panelColumns = compare.columns / perRow
        let panelRows = compare.rows / ((count + perRow - 1) / perRow)
        let imageRows = imageRows(perRow)
        return (0..<count).map { i in
            CellRect(row: compare.row + (i / perRow) * panelRows + 1, column: compare.column + (i % perRow) * panelColumns + 1,
                     rows: imageRows, columns: min(panelColumns - 2, 2 * imageRows))
        }
    }

    var isTooSmall: Bool { size.rows < Layout.minimum.rows || size.columns < Layout.minimum.columns }

    /// The columns of the timeline bar (a margin of one cell each side keeps the cursor visible at the ends).
    var timelineBar: (first: Int, last: Int) { (timeline.column + 1, timeline.column + max(1, timeline.columns - 2)) }

    /// The frame under a timeline column.
    func frame(atTimelineColumn column: Int, frameCount: Int) -> Int {
        let (first, last) = timelineBar
        guard frameCount > 1, last > first else { return 0 }
        let t = Double(min(max(column, first), last) - first) / Double(last - first)
        return Int((t * Double(frameCount - 1)).rounded())
    }

    /// The timeline column showing a frame.
    func timelineColumn(ofFrame frame: Int, frameCount: Int) -> Int {
        let (first, last) = timelineBar
        guard frameCount > 1 else { return first }
        return first + Int((Double(frame) / Double(frameCount - 1) * Double(last - first)).rounded())
    }
}
