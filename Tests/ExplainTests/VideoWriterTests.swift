// Media's VideoWriter: encode RGB frames to MP4, decode them back with FFmpegVideo, compare by PSNR.
import Foundation
import Testing
import Media
import TestSupport

@Suite(.timeLimit(.minutes(1))) struct VideoWriterTests {
    /// A smooth moving pattern: colour ramps plus a bright square that moves with `t`.
    static func pattern(_ t: Int, width: Int, height: Int) -> RGBImage {
        var px = [UInt8](repeating: 0, count: width * height * 3)
        for y in 0..<height {
            for x in 0..<width {
                let k = 3 * (y * width + x)
                let inSquare = abs(x - (8 + 3 * t)) < 6 && abs(y - height / 2) < 6
                px[k] = inSquare ? 250 : UInt8(40 + 160 * x / max(width - 1, 1))
                px[k + 1] = inSquare ? 240 : UInt8(30 + 180 * y / max(height - 1, 1))
                px[k + 2] = UInt8(90 + (t * 7) % 60)
            }
        }
        return RGBImage(width: width, height: height, pixels: px)
    }

    static func psnr(_ a: RGBImage, _ b: RGBImage) -> Double {
        var se = 0.0
        for (x, y) in zip(a.pixels, b.pixels) { let d = Double(x) - Double(y); se += d * d }
        let mse = se / Double(a.pixels.count)
        return mse == 0 ? .infinity : 10 * log10(255 * 255 / mse)
    }

    @Test func encodedFramesDecodeBackClose() throws {
        let out = try makeTemporaryDirectory("videowriter").appendingPathComponent("clip.mp4")
        let (w, h, n) = (96, 64, 12)
        let writer = try VideoWriter(url: out, width: w, height: h, frameRate: 10, quality: 0.9)
        #expect(["libx264", "mpeg4"].contains(writer.codecName))
        let frames = (0..<n).map { Self.pattern($0, width: w, height: h) }
        for f in frames { try writer.append(f) }
        #expect(!FileManager.default.fileExists(atPath: out.path), "the file appears only when finished")
        try writer.finish()

        let video = try FFmpegVideo(contentsOf: out)
        #expect(video.metadata.width == w && video.metadata.height == h)
        #expect(video.metadata.codec == (writer.codecName == "libx264" ? "h264" : "mpeg4"))
        #expect(abs(video.metadata.frameRate - 10) < 1e-6)
        #expect(video.metadata.frameCount == n)
        for i in [0, 5, n - 1] {
            let p = Self.psnr(try video.frame(at: i), frames[i])
            #expect(p > 30, "frame \(i): PSNR \(p) dB")
        }
        // Frames are not interchangeable: the moving square makes frame 0 a poor match for frame 11.
        #expect(Self.psnr(try video.frame(at: 0), frames[n - 1]) < Self.psnr(try video.frame(at: n - 1), frames[n - 1]) - 3)
    }

    @Test func oddSizesArePaddedAndBadFramesRejected() throws {
        let dir = try makeTemporaryDirectory("videowriter")
        let out = dir.appendingPathComponent("odd.mp4")
        let writer = try VideoWriter(url: out, width: 33, height: 21, frameRate: 5)
        #expect(writer.width == 34 && writer.height == 22)
        try writer.append(Self.pattern(0, width: 33, height: 21))
        #expect(throws: MediaError.self) { try writer.append(Self.pattern(0, width: 32, height: 21)) }
        try writer.finish()
        let video = try FFmpegVideo(contentsOf: out)
        #expect(video.metadata.width == 34 && video.metadata.height == 22 && video.metadata.frameCount == 1)
        // Nothing but the finished file is left in the folder.
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["odd.mp4"])
    }
}
