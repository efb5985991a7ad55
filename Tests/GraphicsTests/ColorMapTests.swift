// Colour maps, overlays and bilinear resizing against OpenCV/matplotlib goldens (Tests/Fixtures/make_colormaps.py).
import Foundation
import Media
import Testing
import TestSupport
@testable import Graphics

/// The golden file written by make_colormaps.py; floats travel as their IEEE bit patterns to stay exact.
struct ColorMapFixture: Decodable {
    struct Overlay: Decodable { var width: Int; var height: Int; var image: [UInt8]; var heatBits: [UInt32]; var jet: [String: [UInt8]] }
    struct Resize: Decodable {
        var fromWidth: Int, fromHeight: Int, toWidth: Int, toHeight: Int
        var sourceBits: [UInt32], resultBits: [UInt32]
    }
    var valueBits: [UInt32]
    var colors: [String: [UInt8]]
    var overlay: Overlay
    var resize: Resize

    static func load() throws -> ColorMapFixture {
        try JSONDecoder().decode(ColorMapFixture.self, from: Data(contentsOf: fixtureURL("graphics_colormaps.json")))
    }
}

func floats(_ bits: [UInt32]) -> [Float] { bits.map(Float.init(bitPattern:)) }

// MARK: - Tables

@Test(arguments: ColorMap.allCases)
func colorMapMatchesReference(_ map: ColorMap) throws {
    let fixture = try ColorMapFixture.load()
    let values = floats(fixture.valueBits)
    let expected = try #require(fixture.colors[map.rawValue])
    #expect(values.count >= 256 * 3 && expected.count == values.count * 3)
    var mismatches = 0
    for (k, v) in values.enumerated() {
        let (r, g, b) = map.color(v)
        if [r, g, b] != Array(expected[(3 * k)..<(3 * k + 3)]) {
            mismatches += 1
            if mismatches <= 3 { Issue.record("\(map) at \(v): got \(r),\(g),\(b), expected \(expected[(3 * k)..<(3 * k + 3)])") }
        }
    }
    #expect(mismatches == 0)
    // apply(to:) must agree with the reference element by element too.
    let image = map.apply(to: values, width: values.count, height: 1)
    let sameAsReference = image.pixels == expected  // a Bool, so a failure does not print both arrays
    #expect(sameAsReference, "\(map).apply(to:) differs from the reference")
}

@Test func colorMapClampsAndTreatsNaNAsZero() {
    for map in ColorMap.allCases {
        #expect(map.color(.nan) == map.color(0))
        #expect(map.color(-3) == map.color(0))
        #expect(map.color(7) == map.color(1))
        #expect(map.color(.infinity) == map.color(1))
    }
    // JET runs from dark blue to dark red.
    #expect(ColorMap.jet.color(0) == (0, 0, 128))
    #expect(ColorMap.jet.color(1) == (128, 0, 0))
}

// MARK: - Overlay

@Test func overlayMatchesReference() throws {
    let o = try ColorMapFixture.load().overlay
    let image = RGBImage(width: o.width, height: o.height, pixels: o.image)
    #expect(o.jet.count == 2)
    for (weightText, expected) in o.jet {
        let weight = try #require(Float(weightText))
        let result = overlay(heatmap: floats(o.heatBits), on: image, colorMap: .jet, imageWeight: weight)
        #expect(result.width == o.width && result.height == o.height)
        let differing = zip(result.pixels, expected).filter { $0 != $1 }.count
        #expect(differing == 0 && result.pixels.count == expected.count, "imageWeight \(weight): \(differing) bytes differ")
    }
}

@Test func overlayHasNoPerFrameRenormalisation() {
    // A uniformly weak map must stay weak: renormalising would paint it in the colour of the maximum.
    let image = RGBImage(width: 4, height: 3, fill: (100, 150, 200))
    let result = overlay(heatmap: [Float](repeating: 0.1, count: 12), on: image)
    let (r, g, b) = ColorMap.jet.color(0.1)
    let expected = [UInt8((Float(r) + 100) / 2 + 0.5), UInt8((Float(g) + 150) / 2 + 0.5), UInt8((Float(b) + 200) / 2 + 0.5)]
    #expect(result.pixels == Array(repeating: expected, count: 12).flatMap { $0 })
}

@Test func overlayResizesTheMapToTheImage() {
    let image = RGBImage(width: 8, height: 6, fill: (0, 0, 0))
    // A 2×2 map hot on the left: after bilinear upsampling the left edge is JET's top, the right its bottom.
    let result = overlay(heatmap: [1, 0, 1, 0], heatmapWidth: 2, heatmapHeight: 2, on: image, imageWeight: 0)
    #expect(result.width == 8 && result.height == 6)
    #expect(result.pixel(0, 3) == RGB(128, 0, 0))
    #expect(result.pixel(7, 3) == RGB(0, 0, 128))
    // In between, each pixel is the colour of the bilinearly resized map.
    let resized = resizeBilinear([1, 0, 1, 0], width: 2, height: 2, toWidth: 8, toHeight: 6)
    #expect(resized[3] > 0.3 && resized[3] < 0.7)
    #expect(result == ColorMap.jet.apply(to: resized, width: 8, height: 6))
}

@Test func bilinearResizeMatchesOpenCV() throws {
    let r = try ColorMapFixture.load().resize
    let result = resizeBilinear(floats(r.sourceBits), width: r.fromWidth, height: r.fromHeight,
                                toWidth: r.toWidth, toHeight: r.toHeight)
    expectClose(result, floats(r.resultBits), atol: 1e-5, rtol: 0, "cv2.resize INTER_LINEAR")
}

@Test func colorBarRunsFromZeroToOne() {
    let bar = colorBar(width: 256, height: 3, colorMap: .viridis)
    #expect(bar.width == 256 && bar.height == 3)
    let (r0, g0, b0) = ColorMap.viridis.color(0), (r1, g1, b1) = ColorMap.viridis.color(1)
    #expect(bar.pixel(0, 2) == RGB(r0, g0, b0))
    #expect(bar.pixel(255, 0) == RGB(r1, g1, b1))
    #expect(Array(bar.pixels[0..<768]) == Array(bar.pixels[768..<1536]))
}

@Test func overlayOfEmptyMapShowsZero() {
    let image = RGBImage(width: 3, height: 2, fill: (10, 20, 30))
    let empty = overlay(heatmap: [], heatmapWidth: 0, heatmapHeight: 0, on: image)
    #expect(empty == overlay(heatmap: [Float](repeating: 0, count: 6), on: image))
}
