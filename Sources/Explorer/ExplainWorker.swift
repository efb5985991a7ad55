import Detection
import Explain
import Dispatch
import Foundation
import Media
import Neural

/// Computes heatmaps off the UI thread: the loop says which maps it wants (in priority order) and drains
/// progress and results as actions. Maps are cached per (frame, track, explainer); a running job whose map
/// is no longer wanted is cancelled through its `Cancellation`, so stepping through the video never queues
/// stale work.
final class ExplainWorker: @unchecked Sendable {
    /// SHAP in the explorer: clips of 4 frames and about 20 supervoxels, so that a clip finishes in seconds on
    /// a small detector (analyze's defaults, 8 frames and 50 supervoxels, are for batch runs).
    static let explorerSHAP: SHAPOptions = {
        var o = SHAPOptions()
        o.frames = 4
        o.segments = 20
        return o
    }()

    private let crops: CropStore
    private let lock = NSLock()
    private let wake = NSCondition()
    private var detector: Detector?
    private var explainers: [String: any Explainer] = [:]
    private var wanted: [MapKey] = []
    private var maps: [MapKey: HeatMap] = [:]
    private var failed: [MapKey: String] = [:]
    /// Supervoxel borders of SHAP clips, per (frame, track).
    private var borders: [MapKey: [Bool]] = [:]
    /// SHAP clips the user cancelled with Esc: not started again until asked for anew.
    private var suppressed: Set<MapKey> = []
    private var running: (keys: Set<MapKey>, cancellation: Cancellation)?
    private var outbox: [Action] = []
    private var jobs: [@Sendable () -> Void] = []
    private var stopped = false
    private let done = DispatchSemaphore(value: 0)

    init(crops: CropStore) {
        self.crops = crops
        let thread = Thread { [self] in
            loop()
            done.signal()
        }
        thread.stackSize = 16 << 20
        thread.start()
    }

    /// Gives the worker the loaded detector; builds its explainers.
    func setDetector(_ detector: Detector) {
        var built: [String: any Explainer] = [:]
        for name in AnalysisWorker.explainerNames(for: detector) where name != "shap" {
            let layer = detector.manifest.gradcamLayer
            if let runner = try? ExplainRunner(network: detector.network, names: [name], camLayer: layer),
               let e = runner.explainers.first { built[name] = e }
        }
        built["shap"] = SHAPExplainer(network: detector.network, target: Self.fakeTarget(detector),
                                      preprocess: { detector.preprocess($0) }, options: Self.explorerSHAP)
        lock.withLock { self.detector = detector; explainers = built }
        signal()
    }

    /// Cancels the job in progress and waits up to `timeout` seconds for the thread to leave (see
    /// `AnalysisWorker.stop`).
    func stop(timeout: Double) {
        lock.withLock { stopped = true; running?.cancellation.cancel() }
        signal()
        _ = done.wait(timeout: .now() + timeout)
        done.signal()
    }

    // MARK: - Requests

    /// Replaces the wanted maps (first is most urgent); cancels a running job none of whose maps is wanted.
    func want(_ keys: [MapKey]) {
        lock.withLock {
            wanted = keys.filter { maps[$0] == nil && failed[$0] == nil && !suppressed.contains(clipKey($0)) }
            if let running, running.keys.isDisjoint(with: wanted) { running.cancellation.cancel() }
        }
        signal()
    }

    /// Esc: stops background (SHAP) work and keeps it stopped until `allowBackground()`.
    func cancelBackground() {
        lock.withLock {
            for key in wanted where key.explainer == "shap" { suppressed.insert(clipKey(key)) }
            wanted.removeAll { $0.explainer == "shap" }
            if let running, running.keys.contains(where: { $0.explainer == "shap" }) {
                running.keys.forEach { suppressed.insert(clipKey($0)) }
                running.cancellation.cancel()
            }
        }
    }

    /// The user asked for explanations again (`e`, `c`): cancelled SHAP clips may run.
    func allowBackground() { lock.withLock { suppressed.removeAll() } }

    /// Runs `job` on the worker thread after the map in progress (exports that need maps).
    func enqueue(_ job: @escaping @Sendable () -> Void) {
        lock.withLock { jobs.append(job) }
        signal()
    }

    func map(_ key: MapKey) -> HeatMap? { lock.withLock { maps[key] } }
    func borders(frame: Int, track: Int) -> [Bool]? { lock.withLock { borders[MapKey(frame: frame, track: track, explainer: "shap")] } }

    /// Every cached map of one explainer and track, in frame order.
    func maps(explainer: String, track: Int) -> [(frame: Int, map: HeatMap)] {
        lock.withLock {
            maps.filter { $0.key.explainer == explainer && $0.key.track == track }
                .map { ($0.key.frame, $0.value) }.sorted { $0.frame < $1.frame }
        }
    }

    func drain() -> [Action] {
        lock.withLock {
            defer { outbox = [] }
            return outbox
        }
    }

    // MARK: - Computing, synchronously (exports)

    /// Computes and caches the maps of `keys` (all of one track and one instant explainer) on the calling thread.
    func compute(_ keys: [MapKey]) throws {
        let todo = keys.filter { map($0) == nil }
        guard let first = todo.first else { return }
        let (explainer, detector) = lock.withLock { (explainers[first.explainer], self.detector) }
        guard let explainer, let detector else { throw ExplainError.unsupported("no explainer '\(first.explainer)'") }
        for chunk in stride(from: 0, to: todo.count, by: 16).map({ Array(todo[$0..<min($0 + 16, todo.count)]) }) {
            try run(explainer, keys: chunk, detector: detector, cancellation: Cancellation(), progress: { _ in })
        }
    }

    // MARK: - The thread

    private func signal() {
        wake.lock()
        wake.signal()
        wake.unlock()
    }

    private func loop() {
        while true {
            wake.lock()
            var next = lock.withLock { () -> (job: (@Sendable () -> Void)?, keys: [MapKey], stop: Bool) in
                if stopped { return (nil, [], true) }
                if !jobs.isEmpty { return (jobs.removeFirst(), [], false) }
                return (nil, nextBatch(), false)
            }
            if next.job == nil && next.keys.isEmpty && !next.stop {
                _ = wake.wait(until: Date().addingTimeInterval(0.2))
                wake.unlock()
                continue
            }
            wake.unlock()
            if next.stop { return }
            if let job = next.job { job(); continue }
            let keys = next.keys
            next.keys = []
            let (explainer, detector) = lock.withLock { (explainers[keys[0].explainer], self.detector) }
            guard let explainer, let detector else {
                lock.withLock {
                    for key in keys { failed[key] = "no explainer '\(key.explainer)' for this detector"; outbox.append(.mapUpdate(key, .failed(failed[key]!))) }
                }
                continue
            }
            let cancellation = Cancellation()
            lock.withLock {
                running = (Set(keys), cancellation)
                for key in keys { outbox.append(.mapUpdate(key, .pending(progress: 0))) }
            }
            do {
                try run(explainer, keys: keys, detector: detector, cancellation: cancellation) { [self] fraction in
                    lock.withLock { outbox.append(.mapUpdate(keys[0], .pending(progress: fraction))) }
                }
            } catch ExplainError.cancelled {
                // Stale or cancelled by Esc: the reducer already forgot these maps; asking again restarts them.
            } catch {
                lock.withLock {
                    for key in keys { failed[key] = "\(error)"; outbox.append(.mapUpdate(key, .failed("\(error)"))) }
                }
            }
            lock.withLock { running = nil }
        }
    }

    /// The next maps to compute: the first wanted one, with up to 7 more of the same track and instant
    /// explainer (one batched forward and backward), or the whole SHAP clip it belongs to.
    private func nextBatch() -> [MapKey] {
        wanted.removeAll { maps[$0] != nil || failed[$0] != nil }
        guard let first = wanted.first else { return [] }
        if first.explainer == "shap" {
            return crops.frames(of: first.track).isEmpty ? [] : shapClip(first).map { MapKey(frame: $0, track: first.track, explainer: "shap") }
        }
        let same = wanted.filter { $0.track == first.track && $0.explainer == first.explainer && crops.crop(frame: $0.frame, track: $0.track) != nil }
        return Array(same.prefix(8))
    }

    /// The frames of `key`'s SHAP clip: consecutive analysed frames of the track, in aligned groups.
    private func shapClip(_ key: MapKey) -> [Int] {
        let frames = crops.frames(of: key.track)
        guard let p = frames.firstIndex(of: key.frame) else { return [key.frame] }
        let t = Self.explorerSHAP.frames
        let start = p / t * t
        return Array(frames[start..<min(start + t, frames.count)])
    }

    private func clipKey(_ key: MapKey) -> MapKey {
        key.explainer == "shap" ? MapKey(frame: shapClip(key).first ?? key.frame, track: key.track, explainer: "shap") : key
    }

    private func run(_ explainer: any Explainer, keys: [MapKey], detector: Detector, cancellation: Cancellation,
                     progress: @escaping @Sendable (Double) -> Void) throws {
        let images = keys.compactMap { crops.crop(frame: $0.frame, track: $0.track) }
        guard images.count == keys.count else { throw ExplainError.unsupported("no crop for frame \(keys[0].frame)") }
        let clip = FaceClip(input: detector.preprocess(images), crops: images, frames: keys.map(\.frame), track: keys[0].track)
        var clipBorders: [[Bool]] = []
        let result: [HeatMap]
        if let shap = explainer as? SHAPExplainer {
            let detailed = try shap.explainDetailed(clip, cancellation: cancellation, progress: progress)
            result = detailed.maps
            for details in detailed.clips {
                for k in 0..<details.frames.count { clipBorders.append(details.supervoxels.borders(frame: k)) }
            }
        } else {
            result = try explainer.explain(clip, cancellation: cancellation, progress: progress)
        }
        guard result.count == keys.count else { throw ExplainError.unsupported("\(result.count) maps for \(keys.count) crops") }
        let track = keys[0].track, name = keys[0].explainer
        let series: [HeatMap] = lock.withLock {
            for (key, map) in zip(keys, result) {
                maps[key] = map
                outbox.append(.mapUpdate(key, .ready))
            }
            for (key, b) in zip(keys, clipBorders) { borders[key] = b }
            return maps.filter { $0.key.explainer == name && $0.key.track == track }.sorted { $0.key.frame < $1.key.frame }.map(\.value)
        }
        let metrics = TrackMetrics(metrics: consistencyMetrics(series), frames: series.count)
        lock.withLock { outbox.append(.metricsUpdate(explainer: name, track: track, metrics)) }
    }

    /// The score SHAP attributes: the fake logit (+z of a single-logit head, the non-real class of a two-class
    /// softmax), else each crop's predicted class.
    static func fakeTarget(_ detector: Detector) -> ExplainTarget {
        let output = detector.manifest.output
        return output.classes.count == 2 ? .classIndex(1 - output.realIndex) : .predicted
    }
}
