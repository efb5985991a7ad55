// Cell-grid renderers on synthetic images: fitting, ASCII ramps, half blocks, area averaging.
import Media
import Testing
@testable import Graphics

/// A horizontal grey gradient, black on the left to white on the right.
func horizontalGradient(width: Int, height: Int) -> RGBImage {
    var pixels: [UInt8] = []
    for _ in 0..<height {
        for x in 0..<width {
            let v = UInt8(x * 255 / max(width - 1, 1))
            pixels += [v, v, v]
        }
    }
    return RGBImage(width: width, height: height, pixels: pixels)
}

// MARK: - Fitting

@Test func fitCellsKeepsAspectWithTallCells() {
    // 176×144 at 200×60: full width would need 200·144/352 ≈ 82 rows, so height limits: 60 rows, 147 columns.
    let a = fitCells(imageWidth: 176, imageHeight: 144, columns: 200, rows: 60)
    #expect(a.rows == 60 && a.columns == 147)
    // A wide image is limited by the columns.
    let b = fitCells(imageWidth: 1920, imageHeight: 1080, columns: 80, rows: 40)
    #expect(b.columns == 80 && b.rows == 23)
    // Square image: twice as many columns as rows.
    let c = fitCells(imageWidth: 100, imageHeight: 100, columns: 100, rows: 30)
    #expect(c.columns == 60 && c.rows == 30)
    #expect(fitCells(imageWidth: 10000, imageHeight: 1, columns: 10, rows: 10).rows == 1)
    for (w, h) in [(176, 144), (640, 480), (33, 300)] {
        let fit = fitCells(imageWidth: w, imageHeight: h, columns: 120, rows: 40)
        #expect(fit.columns <= 120 && fit.rows <= 40)
        #expect(fit.columns == 120 || fit.rows == 40)
    }
}

// MARK: - ASCII

@Test func asciiGradientGivesMonotoneRamp() {
    let grid = CellGrid.ascii(horizontalGradient(width: 200, height: 50), columns: 40, rows: 10)
    #expect(grid.columns == 40 && grid.rows == 10 && grid.cells.count == 400)
    let ramp = CellGrid.defaultRamp
    for row in 0..<grid.rows {
        let levels = (0..<grid.columns).map { ramp.firstIndex(of: grid[$0, row].character)! }
        #expect(zip(levels, levels.dropFirst()).allSatisfy { $0 <= $1 }, "row \(row) not monotone: \(levels)")
        #expect(levels.first == 0 && levels.last == ramp.count - 1)
        #expect(Set(levels).count == ramp.count, "every ramp level appears")
    }
    #expect(grid.cells.allSatisfy { $0.foreground == nil && $0.background == nil })
}

@Test func asciiUsesRec601Luma() {
    // Pure green (luma 150) is brighter than pure red (76) and blue (29).
    func level(_ fill: (UInt8, UInt8, UInt8)) -> Int {
        CellGrid.defaultRamp.firstIndex(of: CellGrid.ascii(RGBImage(width: 4, height: 4, fill: fill), columns: 1, rows: 1)[0, 0].character)!
    }
    #expect(level((0, 255, 0)) == 5)   // 149.7 / 255 · 9 = 5.3
    #expect(level((255, 0, 0)) == 3)   // 76.2 / 255 · 9 = 2.7
    #expect(level((0, 0, 255)) == 1)   // 29.1 / 255 · 9 = 1.03
    let colored = CellGrid.ascii(RGBImage(width: 4, height: 4, fill: (10, 200, 30)), columns: 2, rows: 2, colored: true)
    #expect(colored.cells.allSatisfy { $0.foreground == RGB(10, 200, 30) })
}

// MARK: - Blocks

@Test func blocksOfTwoColourImageUseExactlyThoseColours() {
    // Top half red, bottom half blue, 40×24 pixels into 20×6 cells (= 20×12 samples, 2×2 pixels each).
    var pixels: [UInt8] = []
    for y in 0..<24 { for _ in 0..<40 { pixels += y < 12 ? [255, 0, 0] : [0, 0, 255] } }
    let grid = CellGrid.blocks(RGBImage(width: 40, height: 24, pixels: pixels), columns: 20, rows: 6)
    #expect(grid.columns == 20 && grid.rows == 6)
    #expect(grid.cells.allSatisfy { $0.character == "▀" })
    let colours = Set(grid.cells.flatMap { [$0.foreground, $0.background] })
    #expect(colours == [RGB(255, 0, 0), RGB(0, 0, 255)])
    #expect((0..<3).allSatisfy { row in (0..<20).allSatisfy { grid[$0, row].background == RGB(255, 0, 0) } })
    #expect((3..<6).allSatisfy { row in (0..<20).allSatisfy { grid[$0, row].foreground == RGB(0, 0, 255) } })
}

@Test func blocksTakeTopAndBottomPixel() {
    // A 1×2 image: one cell, foreground the upper pixel, background the lower.
    let grid = CellGrid.blocks(RGBImage(width: 1, height: 2, pixels: [1, 2, 3, 200, 100, 50]), columns: 1, rows: 1)
    #expect(grid[0, 0] == Cell(character: "▀", foreground: RGB(1, 2, 3), background: RGB(200, 100, 50)))
}

@Test func areaAverageWeighsPartialCoverage() {
    // Three pixels 0, 90, 180 into two: the first covers 1.5 pixels (0 and half of 90), the second the rest.
    let image = RGBImage(width: 3, height: 1, pixels: [0, 0, 0, 90, 90, 90, 180, 180, 180])
    let out = areaAverage(image, toWidth: 2, toHeight: 1)
    #expect(abs(out[0] - 30) < 1e-4 && abs(out[3] - 150) < 1e-4)
    // Enlarging keeps each source pixel's value where it is.
    let up = areaAverage(image, toWidth: 6, toHeight: 2)
    #expect(up.count == 36 && up[0] == 0 && abs(up[3 * 2] - 90) < 1e-4 && abs(up[3 * 11] - 180) < 1e-4)
}
