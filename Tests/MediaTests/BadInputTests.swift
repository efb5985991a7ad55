import Foundation
@testable import Media
import TestSupport
import Testing

/// Every bad input gets a one-line `MediaError` naming the file — never a crash, a hang or a huge allocation.
@Suite struct BadInputTests {
    let folder: URL

    init() throws { folder = try GeneratedVideos.shared.scratch() }

    private func write(_ name: String, _ bytes: [UInt8]) throws -> URL {
        let url = folder.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url
    }

    private func expectError(_ url: URL, sourceLocation: SourceLocation = #_sourceLocation,
                             _ matches: (MediaError) -> Bool) {
        do {
            let video = try FFmpegVideo(contentsOf: url)
            Issue.record("\(url.lastPathComponent) opened with \(video.metadata.frameCount) frames", sourceLocation: sourceLocation)
        } catch let error as MediaError {
            #expect(matches(error), "unexpected error: \(error)", sourceLocation: sourceLocation)
            #expect(!error.description.contains("\n"), sourceLocation: sourceLocation)
            #expect(error.description.contains(url.lastPathComponent), sourceLocation: sourceLocation)
        } catch {
            Issue.record("not a MediaError: \(error)", sourceLocation: sourceLocation)
        }
    }

    @Test func missingFile() {
        expectError(folder.appendingPathComponent("nothing-here.mp4")) { if case .fileNotFound = $0 { true } else { false } }
    }

    @Test func emptyFile() throws {
        expectError(try write("empty.mp4", [])) { if case .emptyFile = $0 { true } else { false } }
    }

    @Test func randomBytes() throws {
        var generator = SplitMix(seed: 7)
        let bytes = (0..<20_000).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
        expectError(try write("noise.mp4", bytes)) { if case .cannotOpen = $0 { true } else { false } }
    }

    @Test func textFile() throws {
        expectError(try write("notes.mp4", Array("this is not a video\n".utf8))) {
            if case .cannotOpen = $0 { true } else if case .noVideoStream = $0 { true } else { false }
        }
    }

    @Test func audioOnly() throws {
        let url = folder.appendingPathComponent("tone.wav")
        let made = try runProcess("ffmpeg", ["-v", "error", "-y", "-f", "lavfi", "-i", "sine=duration=0.2", url.path])
        #expect(made.status == 0)
        expectError(url) { if case .noVideoStream = $0 { true } else { false } }
    }

    @Test func truncatedBeforeTheIndex() throws {
        // The sample keeps its moov box at the end: cutting it off leaves no sample table at all.
        let bytes = try [UInt8](Data(contentsOf: assetURL("carphone_pristine.mp4")))
        expectError(try write("cut.mp4", Array(bytes.prefix(bytes.count / 2)))) {
            if case .cannotOpen = $0 { true } else { false }
        }
    }

    @Test func truncatedMediaDataDecodesWhatIsThere() throws {
        // With the index up front (faststart), a truncated file still opens; frames must match the CLI's.
        let faststart = folder.appendingPathComponent("faststart.mp4")
        let remux = try runProcess("ffmpeg", ["-v", "error", "-y", "-i", try GeneratedVideo.bFrames.url.path,
                                              "-c", "copy", "-movflags", "+faststart", faststart.path])
        #expect(remux.status == 0)
        let bytes = try [UInt8](Data(contentsOf: faststart))
        let url = try write("faststart-cut.mp4", Array(bytes.prefix(bytes.count * 6 / 10)))
        let video = try FFmpegVideo(contentsOf: url)
        let reference = try referenceFrames(url, width: 64, height: 48)
        #expect(video.metadata.frameCount == reference.count)
        #expect(video.metadata.frameCount < 40)
        for k in 0..<min(video.metadata.frameCount, reference.count) {
            let same = try video.frame(at: k) == reference[k]
            #expect(same, "frame \(k)")
        }
    }

    @Test func corruptedMediaDataStillDecodesLikeTheCLI() throws {
        var bytes = try [UInt8](Data(contentsOf: try GeneratedVideo.bFrames.url))
        var generator = SplitMix(seed: 3)
        // Scribble over the middle of mdat (the moov box is at the end, kept intact).
        for i in stride(from: bytes.count / 4, to: bytes.count / 2, by: 7) { bytes[i] = UInt8(truncatingIfNeeded: generator.next()) }
        let url = try write("scribbled.mp4", bytes)
        let reference = try referenceFrames(url, width: 64, height: 48)
        // The packets promise 40 frames; the decoder drops damaged ones. Sequential access notices and recounts.
        let video = try FFmpegVideo(contentsOf: url)
        var k = 0
        while k < video.metadata.frameCount {
            let image = try video.frame(at: k)
            let same = k < reference.count && image == reference[k]
            #expect(same, "frame \(k)")
            k += 1
        }
        #expect(video.metadata.frameCount == reference.count)
        // Jumping straight to the end trusts the packets (only decoding can tell what the decoder drops): it must
        // still give a frame or a MediaError, never crash or hang.
        let jumping = try FFmpegVideo(contentsOf: url)
        for k in [39, 0, 30, 5] {
            do { _ = try jumping.frame(at: k) } catch { #expect(error is MediaError) }
        }
    }

    @Test func unsupportedCodec() throws {
        let avi = folder.appendingPathComponent("plain.avi")
        let made = try runProcess("ffmpeg", ["-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=64x48:rate=25",
                                             "-frames:v", "5", "-c:v", "mpeg4", avi.path])
        #expect(made.status == 0)
        // Renaming the FourCC leaves a well-formed AVI whose codec no decoder knows.
        let bytes = try [UInt8](Data(contentsOf: avi))
        let patched = [UInt8](Data(bytes).replacing(Data("FMP4".utf8), with: Data("QQZZ".utf8)))
        expectError(try write("unknown-codec.avi", patched)) {
            if case .unsupportedCodec(_, let codec) = $0 { codec == "QQZZ" } else { false }
        }
    }

    @Test func zeroFrames() throws {
        expectError(try write("empty-stream.y4m", Array("YUV4MPEG2 W64 H48 F25:1 Ip A1:1 C420jpeg\n".utf8))) {
            if case .noFrames = $0 { true } else { false }
        }
    }

    @Test(arguments: [(10_000, 10_001), (16_385, 8)])
    func absurdResolutionIsRefusedBeforeAllocating(_ size: (Int, Int)) throws {
        // A header that promises a giant frame followed by a few bytes: the limit must trip before any buffer.
        let header = "YUV4MPEG2 W\(size.0) H\(size.1) F25:1 Ip A1:1 C420jpeg\nFRAME\n"
        let url = try write("giant-\(size.0)x\(size.1).y4m", Array(header.utf8) + [UInt8](repeating: 16, count: 4096))
        expectError(url) {
            if case .resolutionTooLarge(_, let w, let h) = $0 { w == size.0 && h == size.1 } else { false }
        }
    }

    @Test func absurdResolutionInAnMP4SampleEntry() throws {
        // The avc1 sample entry stores width and height 24 bytes after its type; claim 20000×20000 there.
        var bytes = try [UInt8](Data(contentsOf: try GeneratedVideo.bFrames.url))
        let stsd = Data(bytes).range(of: Data("stsd".utf8))!.upperBound
        let type = Data(bytes).range(of: Data("avc1".utf8), in: stsd ..< bytes.count)!.lowerBound
        for (offset, value) in [(28, 20_000), (30, 20_000)] {
            bytes[type + offset] = UInt8(value >> 8)
            bytes[type + offset + 1] = UInt8(value & 0xFF)
        }
        expectError(try write("giant.mp4", bytes)) {
            if case .resolutionTooLarge(_, let w, let h) = $0 { w == 20_000 && h == 20_000 } else { false }
        }
    }

    @Test func frameOutOfRange() throws {
        let video = try FFmpegVideo(contentsOf: assetURL("carphone_pristine.mp4"))
        for k in [-1, 120, Int.max] {
            #expect(throws: MediaError.frameOutOfRange(path: video.metadata.path, index: k, count: 120)) {
                try video.frame(at: k)
            }
        }
    }
}
