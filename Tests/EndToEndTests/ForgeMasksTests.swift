import Foundation
import Media
import Testing
import TestSupport

/// `forge --masks-out`: the ground-truth blend masks the mask-mass report (scripts/mask_mass.sh) reads.
@Suite(.timeLimit(.minutes(1))) struct ForgeMasksTests {
    @Test(.enabled(if: haveProgram("ffmpeg"))) func masksAreWrittenForForgedFramesOnlyAndLieOnTheFace() throws {
        let dir = try makeTemporaryDirectory()
        // Ten frames of the pristine video: the sample plan forges frames 8–15 (self-blend), so 8 and 9 here.
        let clip = dir.appendingPathComponent("clip.mp4").path
        let cut = try runProcess("ffmpeg", ["-v", "error", "-y", "-i", assetURL("carphone_pristine.mp4").path,
                                            "-frames:v", "10", "-c:v", "libx264", "-qp", "0", clip], timeout: 50)
        #expect(cut.status == 0, "\(cut.stderr)")
        let masks = dir.appendingPathComponent("masks")
        let r = try runProcess(deepscopeBinary.path, ["forge", clip, "--masks-out", masks.path], timeout: 50)
        #expect(r.status == 0, "\(r.stderr)")
        let names = try FileManager.default.contentsOfDirectory(atPath: masks.path).sorted()
        #expect(names == ["8.png", "9.png"])

        let faces = try runProcess(deepscopeBinary.path, ["faces", clip, "--frames", "8:9", "--json"], timeout: 50)
        let line = try #require(faces.stdoutText.split(separator: "\n").first)
        let json = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
        let found = json?["faces"] as? [[String: Any]]
        let box = try #require(found?.first?["box"] as? [Double])
        let mask = try PNG.read(contentsOf: masks.appendingPathComponent("8.png"))
        #expect(mask.width == 176 && mask.height == 144)
        // The hull reaches a little past MTCNN's box (brows, chin, grow ≤ 1.2, blur): allow a fifth of its size.
        let w = box[2] - box[0], h = box[3] - box[1]
        let (x0, y0, x1, y1) = (box[0] - 0.2 * w, box[1] - 0.2 * h, box[2] + 0.2 * w, box[3] + 0.2 * h)
        var inside = 0, outside = 0, full = 0
        for y in 0..<mask.height {
            for x in 0..<mask.width where mask.pixels[(y * mask.width + x) * 3] > 0 {
                let px = Double(x) + 0.5, py = Double(y) + 0.5
                if px >= x0 && px <= x1 && py >= y0 && py <= y1 { inside += 1 } else { outside += 1 }
                if mask.pixels[(y * mask.width + x) * 3] == 255 { full += 1 }
            }
        }
        #expect(outside == 0)
        // A face-sized region, not a speck: at least a quarter of the box, with a fully forged core.
        #expect(Double(inside) > 0.25 * w * h)
        #expect(full > 0)
    }
}
