// Sixel output checked structurally and by decoding it with libsixel's real `sixel2png`.
import Foundation
import Media
import Testing
import TestSupport
@testable import Graphics

// MARK: - Helpers

/// Decodes sixel text with `sixel2png`, then the PNG to raw RGB with ffmpeg; nil when sixel2png is missing.
func decodeSixel(_ sixel: String) throws -> RGBImage? {
    guard haveProgram("sixel2png") else { return nil }
    let dir = try makeTemporaryDirectory("graphics-sixel")
    defer { try? FileManager.default.removeItem(at: dir) }
    let input = dir.appendingPathComponent("image.six"), output = dir.appendingPathComponent("image.png")
    try Data(sixel.utf8).write(to: input)
    let decoded = try runProcess("sixel2png", ["-i", input.path, "-o", output.path])
    try #require(decoded.status == 0, "sixel2png failed: \(decoded.stderr)")
    let probe = try runProcess("ffprobe", ["-v", "error", "-select_streams", "v:0", "-show_entries", "stream=width,height",
                                           "-of", "csv=p=0", output.path])
    let size = probe.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ",").compactMap { Int($0) }
    try #require(size.count == 2, "ffprobe: \(probe.stderr)")
    let raw = try runProcess("ffmpeg", ["-v", "error", "-i", output.path, "-f", "rawvideo", "-pix_fmt", "rgb24", "-"])
    try #require(raw.status == 0 && raw.stdout.count == size[0] * size[1] * 3, "ffmpeg: \(raw.stderr)")
    return RGBImage(width: size[0], height: size[1], pixels: [UInt8](raw.stdout))
}

/// The first frame of the bundled sample video, decoded by the ffmpeg CLI.
func carphoneFrame() throws -> RGBImage {
    let raw = try runProcess("ffmpeg", ["-v", "error", "-i", assetURL("carphone_pristine.mp4").path,
                                        "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"])
    try #require(raw.status == 0 && raw.stdout.count == 176 * 144 * 3, "ffmpeg: \(raw.stderr)")
    return RGBImage(width: 176, height: 144, pixels: [UInt8](raw.stdout))
}

/// Peak signal-to-noise ratio over all channels of the top-left `b.width × b.height` of `a`.
func psnr(_ a: RGBImage, _ b: RGBImage) -> Double {
    var sum = 0.0
    for y in 0..<b.height {
        for x in 0..<b.width * 3 {
            let d = Double(a.pixels[y * a.width * 3 + x]) - Double(b.pixels[y * b.width * 3 + x])
            sum += d * d
        }
    }
    let mse = sum / Double(b.width * b.height * 3)
    return mse == 0 ? .infinity : 10 * log10(255 * 255 / mse)
}

/// A small deterministic generator (SplitMix64) so random test images are the same on every run.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

func crop(_ image: RGBImage, height: Int) -> RGBImage {
    RGBImage(width: image.width, height: height, pixels: Array(image.pixels[0..<(image.width * height * 3)]))
}

// MARK: - Decoding with libsixel

@Test func photoSurvivesSixelRoundTrip() throws {
    let frame = try carphoneFrame()
    let sixel = SixelEncoder.encode(frame)
    guard let decoded = try decodeSixel(sixel) else {
        print("sixel2png (libsixel-bin) is not installed: skipping the sixel decode check")
        return
    }
    #expect(decoded.width == 176 && decoded.height == 144)
    let quality = psnr(decoded, frame)
    print("sixel round trip of carphone frame 0 (176×144, 256 colours): PSNR \(String(format: "%.2f", quality)) dB, \(sixel.utf8.count) bytes")
    #expect(quality > 30)
    // Dithering trades a little PSNR for smooth gradients; it must still decode to a close picture.
    let dithered = try #require(try decodeSixel(SixelEncoder.encode(frame, dither: true)))
    let ditheredQuality = psnr(dithered, frame)
    print("with Floyd–Steinberg dithering: PSNR \(String(format: "%.2f", ditheredQuality)) dB")
    #expect(ditheredQuality > 27)
}

@Test func fewColoursDecodeExactly() throws {
    // 200 colours whose channels survive sixel's percent palette (255·p/100 for whole p), in stripes and noise.
    var generator = SplitMix64(seed: 6)
    let levels = (0...100).map { UInt8((255 * $0 + 50) / 100) }
    let palette = (0..<200).map { _ in RGB(levels.randomElement(using: &generator)!, levels.randomElement(using: &generator)!,
                                           levels.randomElement(using: &generator)!) }
    let width = 97, height = 61  // neither a multiple of 6 nor even: exercises padding and odd runs
    var pixels: [UInt8] = []
    for y in 0..<height {
        for x in 0..<width {
            let c = (y < 30) ? palette[(x / 7 + y / 5) % palette.count] : palette.randomElement(using: &generator)!
            pixels += [c.r, c.g, c.b]
        }
    }
    let image = RGBImage(width: width, height: height, pixels: pixels)
    let indexed = ColorQuantizer.quantize(image)
    #expect(indexed.palette.count <= 200 && indexed.rgbImage == image, "≤ 256 colours are kept exactly")
    let sixel = SixelEncoder.encode(image)
    guard let decoded = try decodeSixel(sixel) else {
        print("sixel2png (libsixel-bin) is not installed: skipping the sixel decode check")
        return
    }
    #expect(decoded.width == width && decoded.height == 66, "height padded to whole bands")
    #expect(crop(decoded, height: height) == image)
}

@Test func scaledFrameSurvivesSixelRoundTrip() throws {
    // The explorer's case: a small frame enlarged to a terminal-sized image of whole bands.
    let big = scaleToFit(try carphoneFrame(), maxWidth: 1000, maxHeight: 720, heightMultipleOf: 6)
    let sixel = SixelEncoder.encode(big)
    #expect(sixel.hasPrefix("\u{1B}P0;1;0q\"1;1;880;720#0;2;"))
    #expect(sixel.hasSuffix("\u{1B}\\") && !sixel.hasSuffix("-\u{1B}\\"))
    #expect(sixel.split(separator: "-").count == 720 / 6, "one band per six rows")
    guard let decoded = try decodeSixel(sixel) else {
        print("sixel2png (libsixel-bin) is not installed: skipping the sixel decode check")
        return
    }
    #expect(decoded.width == 880 && decoded.height == 720)
    let quality = psnr(decoded, big)
    print("sixel round trip at 880×720: PSNR \(String(format: "%.2f", quality)) dB, \(sixel.utf8.count) bytes")
    #expect(quality > 30)
}

// MARK: - Structure

@Test func sixelStructure() throws {
    let image = RGBImage(width: 40, height: 12, fill: (255, 0, 0))
    let sixel = SixelEncoder.encode(image)
    let esc = "\u{1B}"
    #expect(sixel.hasPrefix("\(esc)P0;1;0q\"1;1;40;12#0;2;100;0;0"))
    #expect(sixel.hasSuffix("\(esc)\\"))
    // Two bands of one colour, run-length coded: "#0!40~" each, joined by "-" and no "-" after the last.
    #expect(sixel == "\(esc)P0;1;0q\"1;1;40;12#0;2;100;0;0#0!40~-#0!40~\(esc)\\")
}

@Test func sixelRunsAndColourSeparators() {
    // Row 0 red on columns 0–2 then blue on 3–9; rows 1–5 blue: red has bit 0 thrice, blue fills the rest.
    var pixels: [UInt8] = []
    for y in 0..<6 { for x in 0..<10 { pixels += (y == 0 && x < 3) ? [255, 0, 0] : [0, 0, 255] } }
    let indexed = ColorQuantizer.quantize(RGBImage(width: 10, height: 6, pixels: pixels))
    #expect(indexed.palette == [RGB(255, 0, 0), RGB(0, 0, 255)])
    let sixel = SixelEncoder.encode(indexed)
    // Red: "@" (bit 0) three times, below the run-length threshold; blue: "~"-minus-bit-0 = "}" thrice then "!7~".
    #expect(sixel.hasSuffix("#0@@@$#1}}}!7~\u{1B}\\"))
    #expect(!sixel.contains("-"))
}

@Test func quantiserBuildsPaletteFromTheImage() throws {
    let frame = try carphoneFrame()
    for limit in [256, 16] {
        let indexed = ColorQuantizer.quantize(frame, maxColors: limit)
        #expect(indexed.palette.count <= limit && indexed.palette.count > limit / 2)
        #expect(indexed.indices.allSatisfy { Int($0) < indexed.palette.count })
        // Made for this image: fitting it far better than a fixed uniform palette of the same size would.
        let quality = psnr(indexed.rgbImage, frame)
        print("quantised to \(limit) colours: PSNR \(String(format: "%.2f", quality)) dB")
        #expect(quality > (limit == 256 ? 32 : 22))
    }
    // A tinted image: every palette entry must sit inside the image's own narrow colour range.
    let tinted = RGBImage(width: frame.width, height: frame.height,
                          pixels: frame.pixels.enumerated().map { $0.offset % 3 == 2 ? 200 : $0.element / 4 + 100 })
    let palette = ColorQuantizer.quantize(tinted, maxColors: 64).palette
    #expect(palette.allSatisfy { $0.b == 200 && (100...164).contains($0.r) && (100...164).contains($0.g) })
}

@Test func scaleToFitKeepsAspectAndBands() {
    let image = horizontalGradient(width: 176, height: 144)
    let big = scaleToFit(image, maxWidth: 1000, maxHeight: 720, heightMultipleOf: 6)
    #expect(big.width == 880 && big.height == 720)
    let small = scaleToFit(image, maxWidth: 88, maxHeight: 500, heightMultipleOf: 6)
    #expect(small.width == 88 && small.height == 72)
    // Left to right stays dark to bright after resampling.
    #expect(big.pixel(0, 10).r < 5 && big.pixel(879, 10).r > 250)
    #expect(scaleToFit(image, maxWidth: 176, maxHeight: 144) == image)
}

// MARK: - Benchmark

/// Prints render timings; run once by hand: `DEEPSCOPE_BENCH=1 swift test -c release --filter renderBenchmark`.
@Test(.enabled(if: ProcessInfo.processInfo.environment["DEEPSCOPE_BENCH"] != nil))
func renderBenchmark() throws {
    let frame = try carphoneFrame()
    let ms = RenderBenchmark.run(image: frame, columns: 200, rows: 60)
    for (mode, time) in ms.sorted(by: { $0.key < $1.key }) {
        print("render \(mode): \(String(format: "%.2f", time)) ms per frame (176×144 → 200×60 cells / 1000×720 px)")
    }
    #expect(Set(ms.keys) == ["ascii", "blocks", "blocks-256", "sixel"])
}
