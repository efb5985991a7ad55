// ExplainRunner and the exports: maps, metrics, overlay and compare-grid PNGs, metrics.csv, read back.
import Foundation
import Testing
import Explain
import Graphics
import Media
import Models
import Neural
import TestSupport
import Weights

@Suite(.timeLimit(.minutes(1))) struct ExportsTests {
    /// The two fixture crops as RGB images (undoing the ImageNet normalisation) and as the detector's input.
    static func clip() throws -> FaceClip {
        let x = try ExplainFixture.effnetInput()
        let (n, h, w) = (x.shape[0], x.shape[2], x.shape[3])
        let mean: [Float] = [0.485, 0.456, 0.406], std: [Float] = [0.229, 0.224, 0.225]
        let crops = (0..<n).map { i in
            var px = [UInt8](repeating: 0, count: h * w * 3)
            for c in 0..<3 {
                for p in 0..<(h * w) {
                    let v = (x.data[(i * 3 + c) * h * w + p] * std[c] + mean[c]) * 255
                    px[3 * p + c] = UInt8(min(max(v.rounded(), 0), 255))
                }
            }
            return RGBImage(width: w, height: h, pixels: px)
        }
        return FaceClip(input: x, crops: crops, frames: [3, 20], track: 7)
    }

    static func autoatt() throws -> Network {
        try ExplainFixture.network("efficientnet-autoatt", variant: ExplainFixture.effnetVariant,
                                   weights: "models/effnet_autoatt/weights.pth")
    }

    @Test func runnerComputesMapsAndMetricsPerExplainerAndTrack() throws {
        let net = try Self.autoatt(), clip = try Self.clip()
        let runner = try ExplainRunner(network: net, names: ["gradcam", "layercam", "attention"], camLayer: nil)
        #expect(runner.explainers.map(\.name) == ["gradcam", "layercam", "attention"])
        let results = try runner.run([clip], cancellation: Cancellation())
        #expect(results.map(\.explainer) == ["gradcam", "layercam", "attention"])
        let direct = try AttentionExplainer(network: net).explain(clip, cancellation: Cancellation()) { _ in }
        #expect(results[2].maps == direct)
        #expect(results[2].metrics == consistencyMetrics(direct))
        #expect(results.allSatisfy { $0.track == 7 && $0.frames == [3, 20] && $0.maps.count == 2 })
        #expect(results.allSatisfy { $0.metrics.columns.allSatisfy(\.isFinite) })
        #expect(throws: ExplainError.self) { _ = try ExplainRunner(network: net, names: ["saliency"], camLayer: nil) }
        let ltpaNames = try ExplainRunner(network: net, names: ["ltpa"], camLayer: nil).explainers.map(\.name)
        #expect(ltpaNames == ["ltpa1", "ltpa2", "ltpa3"])
    }

    @Test func filesReadBackAsWritten() throws {
        let net = try Self.autoatt(), clip = try Self.clip()
        let results = try ExplainRunner(network: net, names: ["gradcam", "attention"], camLayer: nil)
            .run([clip], cancellation: Cancellation())
        let out = try makeTemporaryDirectory("explain-exports")
        for r in results {
            try ExplainExport.writeOverlays(r, crops: clip.crops, under: out)
            for (k, map) in r.maps.enumerated() {
                try ExplainExport.writeMap(map, explainer: r.explainer, frame: r.frames[k], track: r.track, under: out)
            }
        }
        try ExplainExport.writeMetricsCSV(results, to: out.appendingPathComponent("metrics.csv"))

        let png = try PNG.read(contentsOf: out.appendingPathComponent("overlays/gradcam/20_7.png"))
        #expect(png == overlay(heatmap: results[0].maps[1].values, on: clip.crops[1]))
        let npy = try NumpyFile.read(contentsOf: out.appendingPathComponent("maps/attention/3_7.npy"))
        #expect(npy.shape == [72, 72] && npy.data == results[1].maps[0].values)
        let csv = try String(contentsOf: out.appendingPathComponent("metrics.csv"), encoding: .utf8)
        let lines = csv.split(separator: "\n")
        #expect(lines.first == "explainer,track,I,V,tau,rho,mu" && lines.count == 3)
        let tau = Double(lines[1].split(separator: ",")[4])!
        #expect(abs(tau - results[0].metrics.temporal) < 1e-6)
    }

    @Test func compareGridPlacesEveryPanelLabelAndColourBar() throws {
        let net = try Self.autoatt(), clip = try Self.clip()
        let results = try ExplainRunner(network: net, names: ["gradcam", "gradcampp", "attention"], camLayer: nil)
            .run([clip], cancellation: Cancellation())
        let panels = results.map { (name: $0.explainer, map: $0.maps[0]) }
        let grid = ExplainExport.compareGrid(panels, crop: clip.crops[0], labels: true)
        let plain = ExplainExport.compareGrid(panels, crop: clip.crops[0], labels: false)
        #expect(grid.width == 4 + 3 * (72 + 4) && plain.width == grid.width && grid.height > plain.height)
        func pixel(_ img: RGBImage, _ x: Int, _ y: Int) -> [UInt8] { Array(img.pixels[(3 * (y * img.width + x))..<(3 * (y * img.width + x) + 3)]) }
        // Each panel is exactly that explainer's overlay.
        let top = grid.height - plain.height + 4
        for (i, r) in results.enumerated() {
            let expected = overlay(heatmap: r.maps[0].values, on: clip.crops[0])
            for (x, y) in [(0, 0), (35, 40), (71, 71)] {
                #expect(pixel(grid, 4 + i * 76 + x, top + y) == pixel(expected, x, y))
            }
        }
        // White label pixels above the panels only when asked for.
        let labelRows = (0..<(top - 4)).flatMap { y in (0..<grid.width).map { pixel(grid, $0, y) } }
        #expect(labelRows.contains([255, 255, 255]))
        #expect(!(0..<4).flatMap { y in (0..<plain.width).map { pixel(plain, $0, y) } }.contains([255, 255, 255]))
        // The colour bar runs from JET(0) at the left to JET(1) at the right.
        let y = grid.height - 6
        let c0 = ColorMap.jet.color(0), c1 = ColorMap.jet.color(1)
        #expect(pixel(grid, 4, y) == [c0.0, c0.1, c0.2] && pixel(grid, grid.width - 5, y) == [c1.0, c1.1, c1.2])
        let out = try makeTemporaryDirectory("explain-grid")
        try ExplainExport.writeCompareGridPNG(panels, crop: clip.crops[0], to: out.appendingPathComponent("grid.png"))
        #expect(try PNG.read(contentsOf: out.appendingPathComponent("grid.png")) == grid)
        #expect(throws: ExportError.self) {
            try ExplainExport.writeCompareGridPNG([], crop: clip.crops[0], to: out.appendingPathComponent("none.png"))
        }
    }
}
