import Testing
import Faces

/// A face with only a box (tracking looks at nothing else).
func boxFace(_ x: Float, _ y: Float, _ w: Float = 40, _ h: Float = 40) -> Face {
    Face(box: FaceBox(x1: x, y1: y, x2: x + w, y2: y + h), probability: 0.99, landmarks: [])
}

@Suite("IoU tracking")
struct FaceTrackerTests {
    @Test("IoU of boxes")
    func iou() {
        let a = FaceBox(x1: 0, y1: 0, x2: 10, y2: 10)
        #expect(a.iou(a) == 1)
        #expect(a.iou(FaceBox(x1: 5, y1: 0, x2: 15, y2: 10)) == Float(50) / 150)
        #expect(a.iou(FaceBox(x1: 10, y1: 0, x2: 20, y2: 10)) == 0)
        #expect(a.iou(FaceBox(x1: 3, y1: 3, x2: 3, y2: 3)) == 0)
    }

    @Test("two faces moving steadily keep ids 0 and 1")
    func steady() {
        var tracker = FaceTracker()
        for k in 0..<20 {
            let ids = tracker.update(frame: k, faces: [boxFace(Float(3 * k), 10), boxFace(100, Float(2 * k))])
            #expect(ids == [0, 1])
        }
        #expect(tracker.tracks.map(\.faces.count) == [20, 20])
        #expect(tracker.tracks[0].faces.map(\.frame) == Array(0..<20))
    }

    @Test("a gap of up to maxGap frames keeps the id; a longer one starts a new track")
    func gaps() {
        var tracker = FaceTracker(options: TrackerOptions(maxGap: 5))
        #expect(tracker.update(frame: 0, faces: [boxFace(10, 10)]) == [0])
        for k in 1...5 { #expect(tracker.update(frame: k, faces: []) == []) }
        #expect(tracker.update(frame: 6, faces: [boxFace(12, 10)]) == [0], "5 missing frames are tolerated")
        #expect(tracker.update(frame: 13, faces: [boxFace(12, 10)]) == [1], "6 missing frames close the track")
        #expect(tracker.tracks.map(\.lastFrame) == [6, 13])
        // Frames may be sampled sparsely: the gap is measured in frame numbers.
        #expect(tracker.update(frame: 19, faces: [boxFace(13, 10)]) == [1])
    }

    @Test("crossing faces: each follows its own motion through the crossing")
    func crossing() {
        var tracker = FaceTracker()
        for k in 0..<30 {
            // A moves right on rows 0–40, B moves left on rows 20–60; they cross around k = 15.
            let a = boxFace(Float(5 * k), 0), b = boxFace(Float(150 - 5 * k), 20)
            // Give them in both orders so the face order cannot be what keeps the ids.
            let ids = k % 2 == 0 ? tracker.update(frame: k, faces: [a, b]) : tracker.update(frame: k, faces: [b, a])
            #expect(ids == (k % 2 == 0 ? [0, 1] : [1, 0]), "frame \(k)")
        }
    }

    @Test("faces appearing and disappearing get fresh ids, never reused")
    func appearDisappear() {
        var tracker = FaceTracker(options: TrackerOptions(maxGap: 2))
        #expect(tracker.update(frame: 0, faces: [boxFace(0, 0)]) == [0])
        #expect(tracker.update(frame: 1, faces: [boxFace(1, 0), boxFace(100, 100)]) == [0, 1])
        #expect(tracker.update(frame: 2, faces: [boxFace(100, 101)]) == [1])
        #expect(tracker.update(frame: 3, faces: [boxFace(101, 101)]) == [1])
        #expect(tracker.update(frame: 4, faces: [boxFace(101, 102)]) == [1])
        // Track 0 was last seen at frame 1: frames 2–4 missing exceed maxGap 2.
        #expect(tracker.update(frame: 5, faces: [boxFace(1, 0), boxFace(101, 102)]) == [2, 1])
        #expect(tracker.tracks.count == 3)
    }

    @Test("two faces wanting one track: the better overlap wins")
    func competition() {
        var tracker = FaceTracker()
        _ = tracker.update(frame: 0, faces: [boxFace(50, 50)])
        #expect(tracker.update(frame: 1, faces: [boxFace(62, 50), boxFace(52, 50)]) == [1, 0])
    }

    @Test("the IoU threshold is configurable")
    func threshold() {
        var strict = FaceTracker(options: TrackerOptions(iouThreshold: 0.9))
        var loose = FaceTracker(options: TrackerOptions(iouThreshold: 0.3))
        for k in 0..<4 {
            #expect(strict.update(frame: k, faces: [boxFace(Float(5 * k), 0)]) == [k])
            #expect(loose.update(frame: k, faces: [boxFace(Float(5 * k), 0)]) == [0])
        }
        let tracks = FaceTracker.tracks(of: [(frame: 0, faces: [boxFace(0, 0)]), (frame: 1, faces: [boxFace(2, 0)])])
        #expect(tracks.count == 1 && tracks[0].faces.count == 2)
    }
}
