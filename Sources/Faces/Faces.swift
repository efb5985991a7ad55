// Faces: MTCNN detection with landmarks, face crops and IoU tracking.
import Foundation

// MARK: - Detected face

/// A point in frame pixel coordinates (x to the right, y down; facenet-pytorch's convention).
public struct FacePoint: Sendable, Equatable, Codable {
    public var x: Float
    public var y: Float
    public init(x: Float, y: Float) { self.x = x; self.y = y }
}

/// An axis-aligned box in frame pixel coordinates, corners (x1, y1) top-left and (x2, y2) bottom-right.
public struct FaceBox: Sendable, Equatable, Codable {
    public var x1: Float
    public var y1: Float
    public var x2: Float
    public var y2: Float
    public init(x1: Float, y1: Float, x2: Float, y2: Float) { self.x1 = x1; self.y1 = y1; self.x2 = x2; self.y2 = y2 }

    public var width: Float { x2 - x1 }
    public var height: Float { y2 - y1 }
    public var area: Float { max(0, width) * max(0, height) }
    public var center: FacePoint { FacePoint(x: (x1 + x2) / 2, y: (y1 + y2) / 2) }

    /// Intersection over union with `other` (continuous coordinates, no +1); 0 when either box is empty.
    public func iou(_ other: FaceBox) -> Float {
        let iw = min(x2, other.x2) - max(x1, other.x1)
        let ih = min(y2, other.y2) - max(y1, other.y1)
        guard iw > 0, ih > 0 else { return 0 }
        let inter = iw * ih
        let union = area + other.area - inter
        return union > 0 ? inter / union : 0
    }
}

/// One detected face: box, detection probability and the five MTCNN landmarks.
public struct Face: Sendable, Equatable, Codable {
    public var box: FaceBox
    /// ONet's face probability.
    public var probability: Float
    /// Left eye, right eye, nose, left mouth corner, right mouth corner (as seen in the image).
    public var landmarks: [FacePoint]

    public init(box: FaceBox, probability: Float, landmarks: [FacePoint]) {
        self.box = box
        self.probability = probability
        self.landmarks = landmarks
    }
}

// MARK: - Errors

/// Failures of the Faces module, each naming what is at fault.
public enum FacesError: Error, CustomStringConvertible, Equatable, Sendable {
    /// An MTCNN weights file is missing or cannot be read.
    case weights(file: String, reason: String)
    /// A detector or tracker option is out of range.
    case invalidOption(name: String, reason: String)
    /// A crop was asked for with a size or face that cannot produce one.
    case invalidCrop(String)

    public var description: String {
        switch self {
        case .weights(let file, let reason): return "MTCNN weights \(file): \(reason)"
        case .invalidOption(let name, let reason): return "invalid face option \(name): \(reason)"
        case .invalidCrop(let why): return "cannot crop face: \(why)"
        }
    }
}
