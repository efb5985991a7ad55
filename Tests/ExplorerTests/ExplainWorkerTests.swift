import Detection
import Explain
import Foundation
import Media
import Testing
import TestSupport
@testable import Explorer

/// The explain worker with a real (tiny, random Meso4) detector on synthetic 32×32 crops.
@Suite(.timeLimit(.minutes(1))) struct ExplainWorkerTests {
    func crops() -> CropStore {
        let store = CropStore()
        var seed: UInt64 = 7
        for frame in 0..<6 {
            var pixels = [UInt8](repeating: 0, count: 32 * 32 * 3)
            for i in pixels.indices {
                seed = seed &* 6364136223846793005 &+ 1442695040888963407
                pixels[i] = UInt8(truncatingIfNeeded: seed >> 56)
            }
            store.put(RGBImage(width: 32, height: 32, pixels: pixels), frame: frame, track: 0)
        }
        return store
    }

    /// Drains the worker until `done` holds for the actions seen so far, or 30 s pass.
    func drain(_ worker: ExplainWorker, until done: ([Action]) -> Bool) -> [Action] {
        var seen: [Action] = []
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            seen += worker.drain()
            if done(seen) { break }
            Thread.sleep(forTimeInterval: 0.02)
        }
        return seen
    }

    @Test func computesCachesAndScoresMaps() throws {
        let detector = try Detector.load(spec: fixtureURL("detection/tiny/manifest.json").path, weights: nil)
        let store = crops()
        let worker = ExplainWorker(crops: store)
        defer { worker.stop(timeout: 5) }
        worker.setDetector(detector)
        let key = MapKey(frame: 2, track: 0, explainer: "gradcam")
        worker.want([key])
        let seen = drain(worker) { $0.contains(.mapUpdate(key, .ready)) }
        #expect(seen.first == .mapUpdate(key, .pending(progress: 0)))
        #expect(seen.contains(.mapUpdate(key, .ready)))
        let map = try #require(worker.map(key))
        #expect(map.width == 32 && map.height == 32)
        #expect(map.values.allSatisfy { $0 >= 0 && $0 <= 1 + 1e-6 } && map.values.contains { $0 > 0 })
        // The map equals the CAM explainer run directly on the same crop.
        let crop = try #require(store.crop(frame: 2, track: 0))
        let direct = try CAMExplainer(.gradcam, network: detector.network, layer: "conv4")
            .explain(FaceClip(input: detector.preprocess([crop]), crops: [crop], frames: [2], track: 0), cancellation: Cancellation()) { _ in }
        #expect(zip(direct[0].values, map.values).allSatisfy { abs($0 - $1) < 1e-5 })
        #expect(seen.contains { if case .metricsUpdate("gradcam", 0, let m) = $0 { return m.frames == 1 } else { return false } })
        // Cached: asking again starts nothing.
        worker.want([key])
        Thread.sleep(forTimeInterval: 0.3)
        #expect(!worker.drain().contains(.mapUpdate(key, .pending(progress: 0))))
    }

    @Test func shapExplainsTheWholeClipWithBorders() throws {
        let detector = try Detector.load(spec: fixtureURL("detection/tiny/manifest.json").path, weights: nil)
        let worker = ExplainWorker(crops: crops())
        defer { worker.stop(timeout: 5) }
        worker.setDetector(detector)
        let key = MapKey(frame: 5, track: 0, explainer: "shap")
        worker.want([key])
        _ = drain(worker) { $0.contains(.mapUpdate(key, .ready)) }
        // Frames 4 and 5 form the second 4-frame clip of the track: both maps arrive, frames 0–3 do not.
        #expect(worker.map(MapKey(frame: 4, track: 0, explainer: "shap")) != nil && worker.map(key) != nil)
        #expect(worker.map(MapKey(frame: 3, track: 0, explainer: "shap")) == nil)
        let borders = try #require(worker.borders(frame: 5, track: 0))
        #expect(borders.count == 32 * 32 && borders.contains(true) && borders.contains(false))
    }

    @Test func escapeStopsSHAPUntilAskedAgainAndStaleJobsAreCancelled() throws {
        let detector = try Detector.load(spec: fixtureURL("detection/tiny/manifest.json").path, weights: nil)
        let worker = ExplainWorker(crops: crops())
        defer { worker.stop(timeout: 5) }
        worker.setDetector(detector)
        // Hold the worker thread so the request and the Esc arrive before it can start.
        let gate = DispatchSemaphore(value: 0)
        worker.enqueue { gate.wait() }
        Thread.sleep(forTimeInterval: 0.1)
        let shap = MapKey(frame: 0, track: 0, explainer: "shap")
        worker.want([shap])
        worker.cancelBackground()
        gate.signal()
        Thread.sleep(forTimeInterval: 0.5)
        worker.want([shap])  // what a redraw asks for again: still cancelled
        Thread.sleep(forTimeInterval: 0.5)
        #expect(worker.map(shap) == nil)
        #expect(!worker.drain().contains(.mapUpdate(shap, .pending(progress: 0))))

        // Asked for anew (e, c): it runs; moving away cancels it mid-way and the new map comes first.
        worker.allowBackground()
        worker.want([shap])
        let started = drain(worker) { $0.contains { if case .mapUpdate(shap, .pending(let p)) = $0 { return p > 0 } else { return false } } }
        #expect(!started.isEmpty)
        let gradcam = MapKey(frame: 5, track: 0, explainer: "gradcam")
        worker.want([gradcam])
        _ = drain(worker) { $0.contains(.mapUpdate(gradcam, .ready)) }
        #expect(worker.map(gradcam) != nil)
        #expect(worker.map(shap) == nil, "a SHAP job nobody wants any more must be cancelled")
    }
}
