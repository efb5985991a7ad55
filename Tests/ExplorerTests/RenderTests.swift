import Graphics
import Media
import Testing
@testable import Explorer

struct RenderTests {
    func gradient(_ w: Int, _ h: Int) -> RGBImage {
        var p = [UInt8]()
        for y in 0..<h { for x in 0..<w { p += [UInt8(x * 255 / max(1, w - 1)), UInt8(y * 255 / max(1, h - 1)), 128] } }
        return RGBImage(width: w, height: h, pixels: p)
    }

    @Test func statusBarIsTheLastRowAtEverySize() {
        var s = ExplorerState(videoName: "carphone.mp4", metadata: sampleMetadata())
        s.currentFrame = 42
        for (rows, columns) in [(24, 80), (30, 100), (60, 200), (8, 30), (12, 40)] {
            let layout = Layout(rows: rows, columns: columns)
            let screen = render(s, layout: layout, frameArt: nil)
            #expect(screen.text(row: rows - 1).contains("frame 42/119"), "\(columns)×\(rows)")
            #expect(layout.frame.rows + layout.timeline.rows + 1 == rows)
        }
    }

    @Test func tinyTerminalGetsANotice() {
        let s = ExplorerState(videoName: "v", metadata: sampleMetadata())
        let screen = render(s, layout: Layout(rows: 6, columns: 20), frameArt: nil)
        #expect(screen.text.contains("too small"))
    }

    @Test func framePaneKeepsAspectAndIsCentred() {
        let s = ExplorerState(videoName: "v", metadata: sampleMetadata())
        let layout = Layout(rows: 30, columns: 100)
        let caps = TerminalCapabilities(colorDepth: .direct)
        guard case .cells(let grid) = paintFrame(gradient(176, 144), mode: .blocks, columns: layout.frame.columns,
                                                rows: layout.frame.rows, capabilities: caps) else {
            Issue.record("blocks mode must give cells"); return
        }
        // 176:144 in half blocks (one cell = 1×2 pixels) is columns / (2·rows) ≈ 176/144.
        let aspect = Double(grid.columns) / Double(2 * grid.rows)
        #expect(abs(aspect - 176.0 / 144.0) < 0.08)
        #expect(grid.rows <= layout.frame.rows && grid.columns <= layout.frame.columns)
        let screen = render(s, layout: layout, frameArt: .cells(grid))
        let coloured = screen.cells.filter { $0.foreground != nil }.count
        #expect(coloured == grid.rows * grid.columns)
    }

    @Test func sixelImageStaysAboveTheBottomRowsAndIsAMultipleOfSix() {
        let caps = TerminalCapabilities(colorDepth: .direct, sixel: true, cellWidth: 9, cellHeight: 17)
        let layout = Layout(rows: 25, columns: 90)
        let art = paintFrame(gradient(176, 144), mode: .sixel, columns: layout.frame.columns, rows: layout.frame.rows,
                             capabilities: caps)
        guard case .sixel(let data, let columns, let rows) = art else { Issue.record("expected sixel"); return }
        #expect(rows <= layout.frame.rows && columns <= layout.frame.columns)
        // Raster attributes: "1;1;W;H with H a multiple of 6 and within the pane's pixels.
        let raster = data.split(separator: "\"").dropFirst().first.map(String.init) ?? ""
        let numbers = raster.prefix(while: { $0.isNumber || $0 == ";" }).split(separator: ";").compactMap { Int($0) }
        #expect(numbers.count == 4)
        if numbers.count == 4 {
            #expect(numbers[3] % 6 == 0 && numbers[3] <= layout.frame.rows * 17)
        }
        var s = ExplorerState(videoName: "v", metadata: sampleMetadata())
        let screen = render(s, layout: layout, frameArt: art)
        #expect(screen.images.count == 1)
        #expect(screen.images[0].row + screen.images[0].rows <= layout.timeline.row)
        s.showHelp = true
        #expect(render(s, layout: layout, frameArt: art).images.isEmpty)  // text never drawn over a sixel
    }

    @Test func helpOverlayListsEveryBinding() {
        var s = ExplorerState(videoName: "v", metadata: sampleMetadata())
        s.showHelp = true
        // Tall, and short but wide (the keys go into two columns): every binding is on screen either way.
        for (rows, columns) in [(30, 100), (18, 120)] {
            let text = render(s, layout: Layout(rows: rows, columns: columns), frameArt: nil).text
            for entry in KeyTable.help {
                #expect(text.contains(entry.meaning), "\(entry.meaning) missing at \(columns)×\(rows)")
            }
        }
    }

    @Test func promptShowsInTheStatusBarWithTheCursor() {
        var s = ExplorerState(videoName: "v", metadata: sampleMetadata())
        s.prompt = "12"
        let layout = Layout(rows: 24, columns: 80)
        let screen = render(s, layout: layout, frameArt: nil)
        #expect(screen.text(row: 23).contains("go to frame (or 2.5s): 12"))
        #expect(screen.cursor?.row == 23)
    }
}
