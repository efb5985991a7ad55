// Video verdicts (mean logit, MF, MT, AT) as DESIGN.md defines them, and the background analysis.
import Detection
import Faces
import Foundation
import Media
import Testing
import TestSupport

@Suite(.serialized, .timeLimit(.minutes(1))) struct VerdictTests {
    func face(_ track: Int, _ p: Float) -> ScoredFace {
        let logit = log(p / (1 - p))
        return ScoredFace(track: track, face: Face(box: FaceBox(x1: 0, y1: 0, x2: 10, y2: 10), probability: 0.99, landmarks: []),
                          output: DetectorOutput(logit: logit, probability: p, classProbabilities: [1 - p, p], predicted: p >= 0.5 ? 1 : 0))
    }

    @Test func verdictsFollowTheirDefinitions() {
        // Track 0 is real-looking throughout; track 1 appears in two frames and is fake; frame 3 has no face.
        let frames = [
            FrameResult(frame: 0, time: 0, faces: [face(0, 0.2)]),
            FrameResult(frame: 1, time: 0.04, faces: [face(0, 0.3), face(1, 0.9)]),
            FrameResult(frame: 2, time: 0.08, faces: [face(0, 0.1), face(1, 0.7)]),
            FrameResult(frame: 3, time: 0.12, faces: []),
        ]
        let v = VideoVerdicts(frames)
        let probabilities: [Float] = [0.2, 0.3, 0.9, 0.1, 0.7]
        let logits = probabilities.map { Double(log($0 / (1 - $0))) }
        #expect(abs(v.meanLogit! - logits.reduce(0, +) / 5) < 1e-6)
        #expect(abs(v.meanProbability! - 1 / (1 + exp(-v.meanLogit!))) < 1e-12)
        #expect(v.mf == 2.0 / 3.0)                                  // frames 1 and 2 vote fake of 3 frames with faces
        let track0 = (0.2 + 0.3 + 0.1) / 3.0, track1 = (0.9 + 0.7) / 2.0
        #expect(abs(v.mt! - max(track0, track1)) < 1e-6)
        #expect(abs(v.at! - (track0 + track1) / 2) < 1e-6)
        #expect(v.frames == 4 && v.framesWithFaces == 3 && v.faces == 5 && v.tracks == 2)
        // A stricter threshold changes only MF.
        let strict = VideoVerdicts(frames, threshold: 0.8)
        #expect(strict.mf == 1.0 / 3.0 && strict.mt == v.mt)
    }

    @Test func noFacesGivesNullVerdicts() {
        let v = VideoVerdicts([FrameResult(frame: 0, time: 0, faces: [])])
        #expect(v.meanLogit == nil && v.mf == nil && v.mt == nil && v.at == nil && v.faces == 0 && v.frames == 1)
    }

    // MARK: - VideoAnalysis on the sample video

    func tools() throws -> (Detector, MTCNN) {
        (try Detector.load(spec: detectionFixture("tiny/manifest.json").path, weights: nil),
         try MTCNN(weightsDirectory: assetURL("mtcnn")))
    }

    @Test func backgroundAnalysisPublishesScoresAndHooks() throws {
        let (detector, mtcnn) = try tools()
        let video = try FFmpegVideo(path: assetURL("carphone_pristine.mp4").path)
        let hooked = LockedCounter()
        let analysis = VideoAnalysis(source: video, frames: Array(stride(from: 0, to: 16, by: 3)), detector: detector, faces: mtcnn) { ctx in
            #expect(ctx.input.shape == [ctx.crops.count, 3, 32, 32] || ctx.crops.isEmpty)
            #expect(ctx.crops.count == ctx.result.faces.count)
            // The hook sees the very tensor the scores came from.
            if let first = ctx.result.faces.first {
                let again = try detector.score(detector.preprocess([ctx.crops[0]]))[0]
                #expect(again == first.output)
            }
            hooked.add()
        }
        analysis.start()
        analysis.wait()
        let s = analysis.snapshot
        #expect(s.finished && !s.cancelled && s.error == nil)
        #expect(s.completed == 6 && s.total == 6 && s.fraction == 1 && hooked.value == 6)
        #expect(s.results.map(\.frame) == [0, 3, 6, 9, 12, 15])
        #expect(s.results.allSatisfy { $0.faces.count == 1 && $0.faces[0].track == 0 })   // one speaker, one track
        #expect(s.verdicts.faces == 6 && s.verdicts.tracks == 1)
        #expect(abs(s.results[1].time - 3 / video.metadata.frameRate) < 1e-3)
    }

    @Test func batchingAcrossFramesGivesTheSameScores() throws {
        let (detector, mtcnn) = try tools()
        func analyse(_ batch: Int) throws -> VideoAnalysis {
            let video = try FFmpegVideo(path: assetURL("carphone_pristine.mp4").path)
            let inputs = LockedCounter()
            let a = VideoAnalysis(source: video, frames: Array(0..<7), detector: detector, faces: mtcnn, framesPerBatch: batch) { ctx in
                #expect(ctx.input.shape.first == ctx.crops.count)
                inputs.add()
            }
            try a.run()
            #expect(inputs.value == 7)
            return a
        }
        let single = try analyse(1).snapshot.results, batched = try analyse(3)
        #expect(batched.snapshot.results.map(\.frame) == Array(0..<7))
        #expect(batched.results(from: 5).map(\.frame) == [5, 6] && batched.results(from: 9).isEmpty)
        for (a, b) in zip(single, batched.snapshot.results) {
            #expect(a.faces.map(\.track) == b.faces.map(\.track))
            expectClose(b.faces.flatMap(\.output.classProbabilities), a.faces.flatMap(\.output.classProbabilities),
                        atol: 1e-6, rtol: 1e-5, "frame \(a.frame)")
        }
    }

    @Test func cancellationStopsEarly() throws {
        let (detector, mtcnn) = try tools()
        let video = try FFmpegVideo(path: assetURL("carphone_pristine.mp4").path)
        var analysisRef: VideoAnalysis?
        let analysis = VideoAnalysis(source: video, frames: Array(0..<60), detector: detector, faces: mtcnn) { ctx in
            if ctx.frame == 2 { analysisRef?.cancel() }
        }
        analysisRef = analysis
        let s = try analysis.run()
        #expect(s.cancelled && s.finished && s.completed == 3)
        analysisRef = nil
    }

    @Test func framesWithoutFacesAreReportedNotFatal() throws {
        let (detector, mtcnn) = try tools()
        let blank = InMemoryFrameSource(frames: Array(repeating: RGBImage(width: 96, height: 80, fill: (20, 20, 20)), count: 3))
        let s = try VideoAnalysis(source: blank, frames: [0, 1, 2], detector: detector, faces: mtcnn).run()
        #expect(s.completed == 3 && s.results.allSatisfy { $0.faces.isEmpty })
        #expect(s.verdicts.meanProbability == nil && s.verdicts.frames == 3)
    }
}

/// A counter the analysis thread and the test thread can share.
final class LockedCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func add() { lock.lock(); count += 1; lock.unlock() }
    var value: Int { lock.lock(); defer { lock.unlock() }; return count }
}
