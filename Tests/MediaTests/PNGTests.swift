import Foundation
import Media
import TestSupport
import Testing

@Suite struct PNGTests {
    let folder: URL
    init() throws { folder = try GeneratedVideos.shared.scratch() }

    @Test func rgbRoundTrip() throws {
        var generator = SplitMix(seed: 11)
        let image = RGBImage(width: 17, height: 9, pixels: (0..<(17 * 9 * 3)).map { _ in UInt8(truncatingIfNeeded: generator.next()) })
        let url = folder.appendingPathComponent("noise.png")
        try PNG.write(image, to: url)
        #expect(try PNG.read(contentsOf: url) == image)
        // Only the finished file is left behind: the temporary one was renamed into place.
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["noise.png"])
        // Overwriting replaces the file.
        let black = RGBImage(width: 3, height: 2)
        try PNG.write(black, to: url)
        #expect(try PNG.read(contentsOf: url) == black)
    }

    @Test func readsFramesWrittenByFFmpeg() throws {
        let url = folder.appendingPathComponent("ffmpeg.png")
        let result = try runProcess("ffmpeg", ["-v", "error", "-y", "-i", assetURL("carphone_pristine.mp4").path,
                                               "-frames:v", "1", url.path])
        #expect(result.status == 0)
        let decoded = try FFmpegVideo(contentsOf: assetURL("carphone_pristine.mp4")).frame(at: 0)
        let same = try PNG.read(contentsOf: url) == decoded
        #expect(same)
    }

    @Test func grayAndRGBAAreReadAsRGB() throws {
        let gray = folder.appendingPathComponent("gray.png")
        try PNG.writeGray([0, 64, 128, 255, 10, 20], width: 3, height: 2, to: gray)
        let g = try PNG.read(contentsOf: gray)
        #expect(g.width == 3 && g.height == 2)
        #expect(g.pixels == [0, 0, 0, 64, 64, 64, 128, 128, 128, 255, 255, 255, 10, 10, 10, 20, 20, 20])

        let rgba = folder.appendingPathComponent("rgba.png")
        try PNG.writeRGBA([255, 0, 0, 255, 0, 200, 0, 255, 9, 9, 9, 0, 1, 2, 3, 255], width: 2, height: 2, to: rgba)
        let c = try PNG.read(contentsOf: rgba)
        // Opaque pixels are kept; fully transparent ones composite onto black.
        #expect(c.pixels == [255, 0, 0, 0, 200, 0, 0, 0, 0, 1, 2, 3])
    }

    @Test func encodedBytesDecodeBack() throws {
        let image = ImageTests.labelled(width: 5, height: 3)
        let bytes = try PNG.encoded(image)
        #expect(Array(bytes.prefix(4)) == [0x89, 0x50, 0x4E, 0x47])
        let url = folder.appendingPathComponent("encoded.png")
        try Data(bytes).write(to: url)
        #expect(try PNG.read(contentsOf: url) == image)
    }

    @Test func badFilesGiveOneLineErrors() throws {
        let missing = folder.appendingPathComponent("missing.png")
        #expect(throws: MediaError.fileNotFound(path: missing.path)) { try PNG.read(contentsOf: missing) }
        let text = folder.appendingPathComponent("text.png")
        try Data("not a png".utf8).write(to: text)
        do {
            _ = try PNG.read(contentsOf: text)
            Issue.record("read a text file as PNG")
        } catch let error as MediaError {
            #expect(error.description.hasPrefix(text.path) && !error.description.contains("\n"))
        }
        // A truncated PNG fails cleanly too.
        let good = folder.appendingPathComponent("good.png")
        try PNG.write(ImageTests.labelled(width: 40, height: 30), to: good)
        let bytes = try Data(contentsOf: good)
        let cut = folder.appendingPathComponent("cut.png")
        try bytes.prefix(bytes.count / 2).write(to: cut)
        #expect(throws: MediaError.self) { try PNG.read(contentsOf: cut) }
        // Writing into a folder that does not exist names the file.
        let nowhere = folder.appendingPathComponent("no/such/dir/x.png")
        #expect(throws: MediaError.self) { try PNG.write(RGBImage(width: 1, height: 1), to: nowhere) }
    }
}
