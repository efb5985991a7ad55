import Foundation
import Media
import Testing
import TestSupport

/// `analyze --explain`: overlays, maps, metrics.csv and the summary.json entries, with the tiny Meso4 fixture.
@Suite(.timeLimit(.minutes(1))) struct AnalyzeExplainTests {
    let sample = assetURL("carphone_pristine.mp4").path
    let tiny = fixtureURL("detection/tiny/manifest.json").path

    @Test func writesOverlaysMapsMetricsAndSHAPDetails() throws {
        let out = try makeTemporaryDirectory()
        let r = try runProcess(deepscopeBinary.path, ["analyze", sample, "--detector", tiny, "--frames", "0:8",
                                                      "--explain", "gradcam,layercam,shap", "--save-maps", "--shap-segments", "6",
                                                      "--shap-samples", "all", "--shap-frames", "4", "--out", out.path])
        #expect(r.status == 0, "\(r.stderr)")
        for name in ["gradcam", "layercam", "shap"] {
            for frame in 0..<8 {
                let png = out.appendingPathComponent("overlays/\(name)/\(frame)_0.png")
                let image = try PNG.read(contentsOf: png)
                #expect(image.width == 32 && image.height == 32, "\(png.path)")
                let npy = try Data(contentsOf: out.appendingPathComponent("maps/\(name)/\(frame)_0.npy"))
                #expect(npy.prefix(6) == Data([0x93]) + Data("NUMPY".utf8))
                #expect(npy.count > 32 * 32 * 4)  // a 32×32 float32 map after the header
            }
        }
        let csv = try String(contentsOf: out.appendingPathComponent("metrics.csv"), encoding: .utf8).split(separator: "\n")
        #expect(csv.first == "explainer,track,I,V,tau,rho,mu")
        #expect(csv.dropFirst().map { $0.split(separator: ",").prefix(2).joined(separator: ",") } == ["gradcam,0", "layercam,0", "shap,0"])
        let summary = try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("summary.json"))) as? [String: Any]
        let metrics = summary?["metrics"] as? [String: [String: [String: Double]]]
        let gradcam = metrics?["gradcam"]?["0"]
        #expect(gradcam.map { Set($0.keys) } == ["I", "V", "tau", "rho", "mu"])
        // The CSV and summary.json carry the same numbers.
        let row = csv[1].split(separator: ",").dropFirst(2).compactMap { Double($0) }
        #expect(abs(row[0] - (gradcam?["I"] ?? -1)) < 1e-5)
        // SHAP with every coalition: two 4-frame clips, each additive to rounding.
        let shap = summary?["shap"] as? [[String: Any]]
        let clips = shap?.first?["clips"] as? [[String: Any]] ?? []
        #expect(clips.count == 2)
        for clip in clips {
            #expect((clip["frames"] as? [Int])?.count == 4)
            #expect(((clip["additivity_error"] as? Double) ?? 1) < 1e-4)
            #expect((clip["phi"] as? [Double])?.count == clip["segments"] as? Int)
        }
    }

    @Test func rejectsUnknownOrUnsupportedExplainersAndBadSHAPFlags() throws {
        let out = try makeTemporaryDirectory().path
        for (args, message) in [(["--explain", "saliency"], "unknown explainer 'saliency'"),
                                (["--explain", "attention"], "has no attention map"),
                                (["--explain", "shap", "--shap-mask", "noise"], "--shap-mask"),
                                (["--explain", "shap", "--shap-samples", "-3"], "--shap-samples")] {
            let r = try runProcess(deepscopeBinary.path, ["analyze", sample, "--detector", tiny, "--frames", "0:1", "--out", out] + args)
            #expect(r.status != 0)
            #expect(r.stderr.contains(message), "\(args): \(r.stderr)")
        }
    }
}
