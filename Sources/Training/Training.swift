// Training: synthetic forgeries from real faces, and mini-batch CPU training of small detectors with the
// engine's gradients (optimisers, schedules, the papers' losses, augmentation, checkpoints, bundles).
import Foundation
import Neural

// MARK: - Errors

/// Failures of forging, training or writing a bundle; each names the file, option or key at fault.
public enum TrainingError: Error, CustomStringConvertible, Equatable {
    case invalidOption(String)
    case dataset(path: String, reason: String)
    case checkpoint(path: String, reason: String)
    case noFaces(frame: Int)

    public var description: String {
        switch self {
        case .invalidOption(let why): return "invalid training option: \(why)"
        case .dataset(let path, let why): return "training data \(path): \(why)"
        case .checkpoint(let path, let why): return "checkpoint \(path): \(why)"
        case .noFaces(let frame): return "no face found in frame \(frame) of the source video"
        }
    }
}

// MARK: - Seeded randomness

/// SplitMix64: a tiny, fully specified generator, so a seed gives the same draws on every platform and
/// every Swift version (the standard library's generator is neither seedable nor specified).
public struct SeededGenerator: RandomNumberGenerator, Sendable, Equatable, Codable {
    public private(set) var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform draw in [0, 1).
    public mutating func uniform() -> Double { Double(next() >> 11) / Double(1 << 53) }

    /// A uniform draw in `range`.
    public mutating func uniform(_ range: ClosedRange<Double>) -> Double {
        range.lowerBound + (range.upperBound - range.lowerBound) * uniform()
    }

    /// A standard normal draw (Box–Muller; one of the pair is discarded to keep the state simple).
    public mutating func normal() -> Double {
        let u1 = max(uniform(), 1e-300), u2 = uniform()
        return (-2 * Foundation.log(u1)).squareRoot() * cos(2 * Double.pi * u2)
    }

    /// A permutation of 0..<n (Fisher–Yates with this generator).
    public mutating func permutation(_ n: Int) -> [Int] {
        var p = Array(0..<n)
        guard n > 1 else { return p }
        for i in stride(from: n - 1, to: 0, by: -1) {
            let j = Int(next() % UInt64(i + 1))
            p.swapAt(i, j)
        }
        return p
    }
}
