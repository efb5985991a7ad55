// `deepscope export-video` through the real binary on the sample video with the reduced AutoAtt detector.
import Foundation
import Testing
import Graphics
import Media
import TestSupport

@Suite(.serialized, .timeLimit(.minutes(1))) struct ExportVideoCLITests {
    let manifest = fixtureURL("models/effnet_autoatt/detector.json").path
    let video = assetURL("carphone_pristine.mp4").path

    @Test func writesOneGridFramePerTrackFrame() throws {
        let out = try makeTemporaryDirectory("export-video").appendingPathComponent("track.mp4")
        let r = try runProcess(deepscopeBinary.path, ["export-video", video, "--detector", manifest, "--explain",
                                                      "gradcam,attention", "--frames", "0:12:2", "--out", out.path])
        #expect(r.status == 0, "stderr: \(r.stderr)")
        let decoded = try FFmpegVideo(contentsOf: out)
        // Two 72-pixel panels with 4-pixel gaps; labels, panel, bar: 13 + 72 + 8 + 6 + 4 = 103 rows, padded to even.
        #expect(decoded.metadata.width == 156 && decoded.metadata.height == 104)
        #expect(decoded.metadata.frameCount == 6, "the speaker's face is in every sampled frame")
        #expect(abs(decoded.metadata.frameRate - 15) < 1e-6, "30 fps sampled every 2nd frame")
        // The colour bar survives encoding: blue-ish at the left end, red-ish at the right.
        let frame = try decoded.frame(at: 3)
        func pixel(_ x: Int, _ y: Int) -> [Int] { (0..<3).map { Int(frame.pixels[3 * (y * frame.width + x) + $0]) } }
        let left = pixel(8, 99), right = pixel(frame.width - 8, 99)
        #expect(left[2] > left[0] + 60 && right[0] > right[2] + 60, "bar ends \(left) \(right)")
    }

    @Test func badRequestsAreOneLineErrors() throws {
        let out = try makeTemporaryDirectory("export-video").appendingPathComponent("x.mp4")
        for extra in [["--explain", "gradcam,nope"], ["--track", "99"], ["--explain", "ltpa"]] {
            let r = try runProcess(deepscopeBinary.path, ["export-video", video, "--detector", manifest, "--frames", "0:2",
                                                          "--out", out.path] + extra)
            #expect(r.status != 0, "\(extra)")
            #expect(r.stderr.split(separator: "\n").count == 1, "\(extra): \(r.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: out.path))
    }
}
