import Foundation
import Media
import TestSupport
import Testing

@Suite struct ImageTests {
    /// A small image whose pixel at (x, y) is (x, y, 7): positions are readable after any transform.
    static func labelled(width: Int, height: Int) -> RGBImage {
        var pixels: [UInt8] = []
        for y in 0..<height { for x in 0..<width { pixels += [UInt8(x), UInt8(y), 7] } }
        return RGBImage(width: width, height: height, pixels: pixels)
    }

    static func pixel(_ image: RGBImage, _ x: Int, _ y: Int) -> [UInt8] {
        let i = (y * image.width + x) * 3
        return Array(image.pixels[i ..< i + 3])
    }

    // MARK: - Crop and rotation

    @Test func cropIsClampedToTheImage() {
        let image = Self.labelled(width: 5, height: 4)
        let inside = image.crop(x: 1, y: 2, width: 3, height: 2)
        #expect(inside.width == 3 && inside.height == 2)
        #expect(Self.pixel(inside, 0, 0) == [1, 2, 7] && Self.pixel(inside, 2, 1) == [3, 3, 7])
        let overhanging = image.crop(x: -2, y: 3, width: 4, height: 9)
        #expect(overhanging.width == 2 && overhanging.height == 1)
        #expect(Self.pixel(overhanging, 1, 0) == [1, 3, 7])
        let outside = image.crop(x: 9, y: 9, width: 3, height: 3)
        #expect(outside.width == 0 && outside.pixels.isEmpty)
    }

    @Test func rotationTurnsClockwise() {
        let image = Self.labelled(width: 3, height: 2)
        let quarter = image.rotated(byDegrees: 90)
        #expect(quarter.width == 2 && quarter.height == 3)
        // Clockwise: the bottom-left source pixel lands top-left.
        #expect(Self.pixel(quarter, 0, 0) == [0, 1, 7] && Self.pixel(quarter, 1, 0) == [0, 0, 7])
        #expect(Self.pixel(quarter, 0, 2) == [2, 1, 7])
        let half = image.rotated(byDegrees: 180)
        #expect(Self.pixel(half, 0, 0) == [2, 1, 7] && Self.pixel(half, 2, 1) == [0, 0, 7])
        let threeQuarters = image.rotated(byDegrees: 270)
        #expect(Self.pixel(threeQuarters, 0, 0) == [2, 0, 7])
        #expect(image.rotated(byDegrees: 90).rotated(byDegrees: 270) == image)
        #expect(image.rotated(byDegrees: -90) == threeQuarters)
        #expect(image.rotated(byDegrees: 360) == image)
    }

    // MARK: - Resizing against cv2.resize

    static let linearSizes = [(100, 70), (20, 15), (24, 18), (31, 50), (7, 5)]
    static let areaSizes = [(24, 18), (16, 12), (20, 15), (35, 27), (100, 70), (31, 50), (5, 4)]

    static func maxDifference(_ a: RGBImage, _ b: RGBImage) -> Int {
        zip(a.pixels, b.pixels).map { abs(Int($0) - Int($1)) }.max() ?? 0
    }

    @Test(arguments: linearSizes)
    func bilinearMatchesOpenCV(_ size: (Int, Int)) throws {
        let source = try PNG.read(contentsOf: fixtureURL("media/resize_source.png"))
        let expected = try PNG.read(contentsOf: fixtureURL("media/resize_linear_\(size.0)x\(size.1).png"))
        let resized = source.resizedBilinear(width: size.0, height: size.1)
        #expect(resized.width == size.0 && resized.height == size.1)
        let worst = Self.maxDifference(resized, expected)
        #expect(worst == 0, "max difference \(worst)")
    }

    @Test(arguments: areaSizes)
    func areaMatchesOpenCV(_ size: (Int, Int)) throws {
        let source = try PNG.read(contentsOf: fixtureURL("media/resize_source.png"))
        let expected = try PNG.read(contentsOf: fixtureURL("media/resize_area_\(size.0)x\(size.1).png"))
        let resized = source.resizedArea(width: size.0, height: size.1)
        #expect(resized.width == size.0 && resized.height == size.1)
        let worst = Self.maxDifference(resized, expected)
        #expect(worst == 0, "max difference \(worst)")
    }

    @Test func resizingToTheSameSizeIsIdentity() {
        let image = Self.labelled(width: 6, height: 5)
        #expect(image.resizedBilinear(width: 6, height: 5) == image)
        #expect(image.resizedArea(width: 6, height: 5) == image)
    }

    @Test func constantImagesStayConstant() {
        let image = RGBImage(width: 13, height: 9, fill: (200, 10, 77))
        for (w, h) in [(5, 4), (26, 18), (7, 30)] {
            #expect(image.resizedBilinear(width: w, height: h) == RGBImage(width: w, height: h, fill: (200, 10, 77)))
            #expect(image.resizedArea(width: w, height: h) == RGBImage(width: w, height: h, fill: (200, 10, 77)))
        }
    }
}
