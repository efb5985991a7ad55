import Foundation
import Graphics
import Media

/// A frame drawn for one pane: text cells, or a sixel image with the cell area it covers.
public enum FrameArt: Equatable, Sendable {
    case cells(CellGrid)
    case sixel(String, columns: Int, rows: Int)
}

/// Draws an image into a pane of `columns` × `rows` cells in the given mode, aspect ratio kept.
public func paintFrame(_ image: RGBImage, mode: RenderMode, columns: Int, rows: Int,
                       capabilities: TerminalCapabilities) -> FrameArt {
    switch mode {
    case .ascii:
        let fit = fitCells(imageWidth: image.width, imageHeight: image.height, columns: columns, rows: rows)
        return .cells(CellGrid.ascii(image, columns: fit.columns, rows: fit.rows, colored: capabilities.colorDepth != .none))
    case .blocks:
        let fit = fitCells(imageWidth: image.width, imageHeight: image.height, columns: columns, rows: rows)
        return .cells(CellGrid.blocks(image, columns: fit.columns, rows: fit.rows))
    case .sixel:
        let (cellWidth, cellHeight) = (capabilities.cellWidth, capabilities.cellHeight)
        // Never taller than the pane, and a multiple of 6 so that no band spills into the row below.
        let maxHeight = (rows * cellHeight) / 6 * 6
        let scaled = scaleToFit(image, maxWidth: columns * cellWidth, maxHeight: maxHeight, heightMultipleOf: 6)
        let usedColumns = (scaled.width + cellWidth - 1) / cellWidth
        let usedRows = (scaled.height + cellHeight - 1) / cellHeight
        return .sixel(SixelEncoder.encode(scaled, maxColors: 256), columns: usedColumns, rows: usedRows)
    }
}

/// The images beside the frame: the selected face's heatmap pane and the compare view's panels.
public struct PaneArt: Sendable, Equatable {
    /// The selected face's crop with the current explainer's map (or the bare crop while it is computed).
    public var face: FrameArt?
    /// Compare panels by explainer name.
    public var compare: [String: FrameArt] = [:]
    /// The frame size the art was painted from (to place face boxes on cell grids).
    public var frameSize: (width: Int, height: Int)?

    public init(face: FrameArt? = nil, compare: [String: FrameArt] = [:], frameSize: (width: Int, height: Int)? = nil) {
        self.face = face; self.compare = compare; self.frameSize = frameSize
    }

    public static func == (a: PaneArt, b: PaneArt) -> Bool {
        a.face == b.face && a.compare == b.compare && a.frameSize?.width == b.frameSize?.width
            && a.frameSize?.height == b.frameSize?.height
    }
}

/// The explorer's screen for a state: pure, so it is snapshot-tested without a terminal.
public func render(_ state: ExplorerState, layout: Layout, frameArt: FrameArt?, panes: PaneArt = PaneArt()) -> Screen {
    var screen = Screen(rows: layout.size.rows, columns: layout.size.columns)
    guard !layout.isTooSmall else {
        let note = "terminal too small: \(layout.size.columns)×\(layout.size.rows), need \(Layout.minimum.columns)×\(Layout.minimum.rows)"
        screen.put(note, row: max(0, layout.size.rows / 2), column: 0, role: .statusError)
        return screen
    }
    if state.detection.compareOpen {
        drawCompare(state, layout: layout, panes: panes, on: &screen)
    } else {
        drawFrame(state, art: frameArt, in: layout.frame, on: &screen)
        if case .cells(let grid) = frameArt, let size = panes.frameSize {
            drawFaceBoxes(state, grid: grid, frameSize: size, in: layout.frame, on: &screen)
        }
        if layout.side.columns > 0 { drawSidePanel(state, layout: layout, art: panes.face, on: &screen) }
    }
    drawTimeline(state, layout: layout, on: &screen)
    drawStatus(state, in: layout.status, on: &screen)
    if state.showHelp {
        // A sixel cannot be partly covered by text: the help overlay hides every image.
        screen.images.removeAll()
        drawHelp(in: layout, on: &screen)
    }
    return screen
}

// MARK: - Panes

private func drawFrame(_ state: ExplorerState, art: FrameArt?, in rect: CellRect, on screen: inout Screen) {
    guard let art else {
        let text = state.metadata.frameCount == 0 ? "no frames" : "decoding frame \(state.currentFrame)…"
        screen.put(text, row: rect.row + rect.rows / 2, column: rect.column + max(0, (rect.columns - text.count) / 2),
                   role: .dim, limit: rect.columns)
        return
    }
    // Under the help overlay `render` drops every image: a sixel cannot be partly covered by text.
    place(art, in: rect, on: &screen)
}

private func drawStatus(_ state: ExplorerState, in rect: CellRect, on screen: inout Screen) {
    screen.fill(rect, role: .statusBar)
    if let prompt = state.prompt {
        let text = " go to frame (or 2.5s): \(prompt)"
        screen.put(text, row: rect.row, column: 0, role: .prompt)
        screen.cursor = (rect.row, min(rect.columns - 1, text.count))
        return
    }
    let total = max(0, state.frameCount - 1)
    // Display order left to right, with a priority each (lower is kept longer): on a narrow terminal the least
    // useful parts go first, so the frame position and any message survive at every width.
    var parts: [(text: String, priority: Int)] = [
        (" \(state.videoName)", 3), (state.detectorName, 4), ("frame \(state.currentFrame)/\(total)", 0),
        ("\(formatTime(state.timestamp)) / \(formatTime(state.metadata.duration))", 2), (state.renderMode.rawValue, 5),
        (state.playing ? "▶ playing" : "❚❚ paused", 6),
    ]
    if let message = state.message { parts.append((message, 1)) }
    func joined() -> String { parts.map(\.text).joined(separator: " │ ") }
    var text = joined()
    // The frame position and the message are never dropped: a long message (an error, exported paths) is cut
    // at the right edge instead.
    while text.count > rect.columns, parts.count > 1,
          let worst = parts.indices.filter({ parts[$0].priority > 1 }).max(by: { parts[$0].priority < parts[$1].priority }) {
        parts.remove(at: worst)
        text = joined()
    }
    if !text.hasPrefix(" ") { text = " " + text }
    screen.put(text, row: rect.row, column: 0, role: state.messageIsError ? .statusError : .statusBar)
}

private func drawHelp(in layout: Layout, on screen: inout Screen) {
    let entries = KeyTable.help
    let keyWidth = entries.map(\.keys.count).max() ?? 0
    let entryWidth = keyWidth + 1 + (entries.map(\.meaning.count).max() ?? 0)
    // Two columns of keys when one does not fit above the status bar (a short terminal) and two fit across.
    let usableRows = max(1, layout.size.rows - 1 - 4)
    let blocks = entries.count > usableRows && 2 * entryWidth + 7 <= layout.size.columns - 2 ? 2 : 1
    let perBlock = (entries.count + blocks - 1) / blocks
    let width = min(layout.size.columns - 2, blocks * entryWidth + 3 * (blocks - 1) + 4)
    let height = min(layout.size.rows - 2, perBlock + 4)
    let box = CellRect(row: max(0, (layout.size.rows - 1 - height) / 2), column: max(0, (layout.size.columns - width) / 2),
                       rows: height, columns: width)
    screen.fill(box, role: .helpBox)
    for c in box.column..<(box.column + box.columns) {
        screen[box.row, c] = ScreenCell("─", role: .helpBox)
        screen[box.row + box.rows - 1, c] = ScreenCell("─", role: .helpBox)
    }
    for r in box.row..<(box.row + box.rows) {
        screen[r, box.column] = ScreenCell("│", role: .helpBox)
        screen[r, box.column + box.columns - 1] = ScreenCell("│", role: .helpBox)
    }
    screen[box.row, box.column] = ScreenCell("┌", role: .helpBox)
    screen[box.row, box.column + box.columns - 1] = ScreenCell("┐", role: .helpBox)
    screen[box.row + box.rows - 1, box.column] = ScreenCell("└", role: .helpBox)
    screen[box.row + box.rows - 1, box.column + box.columns - 1] = ScreenCell("┘", role: .helpBox)
    screen.put(" Keys ", row: box.row, column: box.column + 2, role: .helpKey)
    for (i, entry) in entries.enumerated() where box.row + 2 + i % perBlock < box.row + box.rows - 1 {
        let row = box.row + 2 + i % perBlock
        let column = box.column + 2 + (i / perBlock) * (entryWidth + 3)
        let room = box.column + box.columns - 2 - column
        screen.put(entry.keys, row: row, column: column, role: .helpKey, limit: min(keyWidth, room))
        screen.put(entry.meaning, row: row, column: column + keyWidth + 1, role: .helpBox,
                   limit: max(0, min(entryWidth - keyWidth - 1, room - keyWidth - 1)))
    }
}

/// "mm:ss.mmm".
func formatTime(_ seconds: Double) -> String {
    let s = max(0, seconds.isFinite ? seconds : 0)
    let minutes = Int(s / 60)
    return String(format: "%02d:%06.3f", minutes, s - Double(minutes) * 60)
}

extension ExplorerState {
    /// The presentation time of the current frame relative to the start, or frame / rate without a source.
    var timestamp: Double {
        frameTimes.indices.contains(currentFrame) ? frameTimes[currentFrame] : Double(currentFrame) / nominalRate
    }
}
