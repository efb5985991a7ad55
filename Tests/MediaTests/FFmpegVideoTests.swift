import Foundation
@testable import Media
import TestSupport
import Testing

@Suite struct FFmpegVideoTests {
    static let allVideos: [URL] = {
        var urls = [assetURL("carphone_pristine.mp4")]
        for video in GeneratedVideo.allCases { if let url = try? video.url { urls.append(url) } }
        return urls
    }()

    // MARK: - Equality with the ffmpeg CLI

    @Test(arguments: allVideos)
    func sequentialFramesEqualTheCLI(_ url: URL) throws {
        let video = try FFmpegVideo(contentsOf: url)
        let m = video.metadata
        let reference = try referenceFrames(url, width: m.width, height: m.height)
        #expect(m.frameCount == reference.count, "\(url.lastPathComponent): frame count")
        var worst = 0
        for k in 0..<min(m.frameCount, reference.count) {
            worst = max(worst, maxPixelDifference(try video.frame(at: k), reference[k]))
        }
        #expect(worst == 0, "\(url.lastPathComponent): max pixel difference \(worst) (index from packets: \(video.index.builtFromPackets))")
    }

    @Test(arguments: allVideos)
    func randomAccessEqualsSequentialDecoding(_ url: URL) throws {
        let sequential = try FFmpegVideo(contentsOf: url)
        let n = sequential.metadata.frameCount
        let frames = try (0..<n).map { try sequential.frame(at: $0) }
        let video = try FFmpegVideo(contentsOf: url)
        var order = [n - 1, 0, n / 2, n / 2 - 1, n / 2 - 2, n / 2 - 3, 1, n - 2, n / 3, n / 3 + 1, n / 3 + 7]
        // Step backwards across a whole stretch of keyframes, the explorer's `,` key.
        order += stride(from: min(n - 1, 25), through: 0, by: -1)
        var generator = SplitMix(seed: 42)
        order += (0..<20).map { _ in Int(generator.next() % UInt64(n)) }
        for k in order where k >= 0 && k < n {
            let image = try video.frame(at: k)
            let same = image == frames[k]
            #expect(same, "\(url.lastPathComponent): frame \(k) by random access differs by \(maxPixelDifference(image, frames[k]))")
        }
        if video.index.timestampsAreUnique {
            #expect(video.slowPathCount == 0, "\(url.lastPathComponent): seeking fell back to decoding from the start")
        }
    }

    // MARK: - Metadata

    @Test func sampleMetadata() throws {
        let m = try FFmpegVideo(contentsOf: assetURL("carphone_pristine.mp4")).metadata
        #expect(m.codec == "h264")
        #expect(m.container.contains("mp4"))
        #expect(m.width == 176 && m.height == 144)
        #expect(m.frameCount == 120)
        #expect(m.frameRateNumerator == 30000 && m.frameRateDenominator == 1001)
        #expect(abs(m.duration - 4.0) < 0.01)
        #expect(m.rotation == 0 && m.startTime == 0)
        #expect(m.pixelFormat == "yuv420p")
        #expect(!m.isVariableFrameRate)
    }

    @Test func variableFrameRateIsFlaggedAndTimedByTimestamps() throws {
        let video = try FFmpegVideo(contentsOf: try GeneratedVideo.variableRate.url)
        #expect(video.metadata.isVariableFrameRate)
        #expect(video.metadata.frameCount == 40)
        // Frames 0, 2, 3, 5, 6 … of a 25 fps source survive: time of frame k is its source frame / 25.
        let sourceFrame = [0, 2, 3, 5, 6, 8]
        for (k, s) in sourceFrame.enumerated() {
            #expect(abs(video.timestamp(ofFrame: k) - Double(s) / 25) < 1e-3, "frame \(k)")
        }
        let constant = try FFmpegVideo(contentsOf: try GeneratedVideo.bFrames.url)
        #expect(!constant.metadata.isVariableFrameRate)
        #expect(abs(constant.timestamp(ofFrame: 10) - 0.4) < 1e-3)
    }

    @Test func startTimeIsReportedAndFramesCountFromZero() throws {
        let video = try FFmpegVideo(contentsOf: try GeneratedVideo.startOffset.url)
        #expect(abs(video.metadata.startTime - 3.7) < 0.01, "start \(video.metadata.startTime)")
        #expect(video.timestamp(ofFrame: 0) == 0)
        #expect(abs(video.timestamp(ofFrame: 5) - 0.2) < 1e-3)
    }

    @Test func rotationIsReportedAndRotatedFramesMatchTheCLIsAutorotate() throws {
        let url = try GeneratedVideo.rotated.url
        let video = try FFmpegVideo(contentsOf: url)
        // FFmpeg 5.1 writes `rotate=90` as a display matrix of +90° (counterclockwise), which the CLI's
        // autorotate undoes with a counterclockwise transpose: a clockwise turn of 270°.
        #expect(video.metadata.rotation == 270)
        #expect(video.metadata.width == 64 && video.metadata.height == 48)
        let upright = try referenceFrames(url, width: 48, height: 64, autorotate: true)
        for k in [0, 7, 19] {
            let image = try video.frame(at: k).rotated(byDegrees: video.metadata.rotation)
            let same = image == upright[k]
            #expect(same, "frame \(k) differs by \(maxPixelDifference(image, upright[k]))")
        }
    }

    @Test func fallbackIndexIsUsedWhereTheCLIIsNeeded() throws {
        // AVI stores no presentation timestamps for B-frame streams: the index must come from decoding.
        #expect(try !FFmpegVideo(contentsOf: try GeneratedVideo.mpeg4AVI.url).index.builtFromPackets)
        #expect(try FFmpegVideo(contentsOf: try GeneratedVideo.bFrames.url).index.builtFromPackets)
        #expect(try FFmpegVideo(contentsOf: assetURL("carphone_pristine.mp4")).index.builtFromPackets)
    }
}

/// A small seeded generator so random access orders are reproducible.
struct SplitMix: RandomNumberGenerator {
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
