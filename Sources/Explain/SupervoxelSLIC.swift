// Supervoxels: SLIC over a face clip's T×H×W CIELAB volume, following scikit-image's `slic` step by step.
import Foundation
import Media

// MARK: - Public types

/// Parameters of SLIC supervoxels; the defaults are scikit-image's except `sigma` (1, a light denoise).
public struct SLICOptions: Sendable, Equatable {
    /// The approximate number of supervoxels.
    public var segments: Int
    /// Balance of colour against space: larger gives more cubic supervoxels.
    public var compactness: Double
    /// Gaussian pre-smoothing width in voxels along t, y and x (0: none).
    public var sigma: Double
    /// k-means iterations.
    public var iterations: Int
    /// Voxel spacing along t, y and x: a larger time spacing keeps supervoxels shorter in time.
    public var spacing: (t: Double, y: Double, x: Double)
    /// Merge components smaller than `minSizeFactor` × the nominal segment size into a neighbour.
    public var enforceConnectivity: Bool
    public var minSizeFactor: Double
    public var maxSizeFactor: Double

    public init(segments: Int = 50, compactness: Double = 10, sigma: Double = 1, iterations: Int = 10,
                spacing: (t: Double, y: Double, x: Double) = (1, 1, 1), enforceConnectivity: Bool = true,
                minSizeFactor: Double = 0.5, maxSizeFactor: Double = 3) {
        self.segments = segments
        self.compactness = compactness
        self.sigma = sigma
        self.iterations = iterations
        self.spacing = spacing
        self.enforceConnectivity = enforceConnectivity
        self.minSizeFactor = minSizeFactor
        self.maxSizeFactor = maxSizeFactor
    }

    public static func == (a: SLICOptions, b: SLICOptions) -> Bool {
        a.segments == b.segments && a.compactness == b.compactness && a.sigma == b.sigma
            && a.iterations == b.iterations && a.spacing == b.spacing
            && a.enforceConnectivity == b.enforceConnectivity && a.minSizeFactor == b.minSizeFactor
            && a.maxSizeFactor == b.maxSizeFactor
    }
}

/// A label volume: which supervoxel each pixel of each frame belongs to, labels `0..<count`.
public struct Supervoxels: Sendable, Equatable {
    public var depth: Int
    public var height: Int
    public var width: Int
    /// `depth * height * width` labels, frame-major then row-major.
    public var labels: [Int32]
    /// The number of distinct labels.
    public var count: Int

    public init(depth: Int, height: Int, width: Int, labels: [Int32]) {
        precondition(labels.count == depth * height * width, "Supervoxels: \(labels.count) labels for \(depth)×\(height)×\(width)")
        self.depth = depth
        self.height = height
        self.width = width
        // Numbered by first appearance so labels are always 0..<count, whatever gaps the clustering left.
        var renumber: [Int32: Int32] = [:]
        self.labels = labels.map { l in
            if let n = renumber[l] { return n }
            let n = Int32(renumber.count)
            renumber[l] = n
            return n
        }
        self.count = renumber.count
    }

    /// The labels of frame `t`, row-major.
    public func frame(_ t: Int) -> ArraySlice<Int32> { labels[(t * height * width)..<((t + 1) * height * width)] }

    /// Pixels of frame `t` that touch a different label to the right or below: the segment borders to draw.
    public func borders(frame t: Int) -> [Bool] {
        let f = Array(frame(t))
        var edge = [Bool](repeating: false, count: f.count)
        for y in 0..<height {
            for x in 0..<width {
                let i = y * width + x
                if (x + 1 < width && f[i + 1] != f[i]) || (y + 1 < height && f[i + width] != f[i]) { edge[i] = true }
            }
        }
        return edge
    }
}

// MARK: - SLIC

extension Supervoxels {
    /// SLIC supervoxels of a clip of equally sized RGB crops, as `skimage.segmentation.slic(clip, …,
    /// channel_axis=-1, start_label=0)` computes them on the T×H×W×3 array.
    ///
    /// ```swift
    /// let segments = Supervoxels(slic: clip.crops, options: SLICOptions(segments: 50))
    /// ```
    public init(slic crops: [RGBImage], options: SLICOptions = SLICOptions()) {
        precondition(options.segments > 0 && options.compactness > 0, "SLIC: segments and compactness must be positive")
        var image = Volume(labFrom: crops)
        let spacing = [options.spacing.t, options.spacing.y, options.spacing.x]
        if options.sigma > 0 {
            // A scalar sigma is divided by the spacing so anisotropic clips are smoothed evenly in space.
            image.smooth(sigma: (options.sigma / spacing[0], options.sigma / spacing[1], options.sigma / spacing[2]))
        }
        let shape = [image.depth, image.height, image.width]
        let grid = RegularGrid(shape: shape, points: options.segments)
        var centres: [[Double]] = []
        for z in Swift.stride(from: grid.starts[0], to: shape[0], by: grid.steps[0]) {
            for y in Swift.stride(from: grid.starts[1], to: shape[1], by: grid.steps[1]) {
                for x in Swift.stride(from: grid.starts[2], to: shape[2], by: grid.steps[2]) {
                    // Colour starts at 0, not at the pixel's colour: scikit-image seeds with zeros.
                    centres.append([Double(z), Double(y), Double(x), 0, 0, 0])
                }
            }
        }
        let ratio = 1 / options.compactness
        for i in image.values.indices { image.values[i] *= ratio }
        let step = Double(grid.steps.max() ?? 1)
        var labels = SLIC.cluster(image, centres: &centres, step: step, iterations: options.iterations, spacing: spacing)
        if options.enforceConnectivity {
            let segmentSize = Double(image.voxels) / Double(centres.count)
            labels = SLIC.enforceConnectivity(labels, shape: shape, minSize: Int(options.minSizeFactor * segmentSize),
                                              maxSize: Int(options.maxSizeFactor * segmentSize))
        }
        self.init(depth: shape[0], height: shape[1], width: shape[2], labels: labels)
    }
}

/// scikit-image's `regular_grid`: about `points` seeds spaced as cubically as the shape allows.
struct RegularGrid {
    var starts: [Int]
    var steps: [Int]

    init(shape: [Int], points: Int) {
        let n = shape.count
        var spaceSize = Double(shape.reduce(1, *))
        if spaceSize <= Double(points) {
            starts = Array(repeating: 0, count: n)
            steps = Array(repeating: 1, count: n)
            return
        }
        // A stable sort of the axes by length, as numpy's argsort does for three elements.
        let order = shape.indices.sorted { shape[$0] < shape[$1] || (shape[$0] == shape[$1] && $0 < $1) }
        let sorted = order.map { Double(shape[$0]) }
        var sizes = [Double](repeating: pow(spaceSize / Double(points), 1 / Double(n)), count: n)
        if zip(sorted, sizes).contains(where: { $0 < $1 }) {
            for dim in 0..<n {
                sizes[dim] = sorted[dim]
                spaceSize = sorted[(dim + 1)...].reduce(1, *)
                if dim + 1 < n {
                    let rest = pow(spaceSize / Double(points), 1 / Double(n - dim - 1))
                    for j in (dim + 1)..<n { sizes[j] = rest }
                }
                if !zip(sorted, sizes).contains(where: { $0 < $1 }) { break }
            }
        }
        var starts = [Int](repeating: 0, count: n), steps = [Int](repeating: 1, count: n)
        for (rank, axis) in order.enumerated() {
            starts[axis] = Int((sizes[rank] / 2).rounded(.down))
            steps[axis] = Int(sizes[rank].rounded(.toNearestOrEven))
        }
        self.starts = starts
        self.steps = steps
    }
}

enum SLIC {
    /// The k-means of `_slic_cython`: each centre claims voxels within two grid steps, distance = spatial
    /// distance² / step² + colour distance² (colours already divided by the compactness).
    static func cluster(_ image: Volume, centres: inout [[Double]], step: Double, iterations: Int,
                        spacing: [Double]) -> [Int32] {
        let (depth, height, width) = (image.depth, image.height, image.width)
        // The search window comes from the grid of the seeds actually placed, not the requested count.
        let window = RegularGrid(shape: [depth, height, width], points: centres.count).steps
        let spatialWeight = 1 / (step * step)
        var nearest = [Int32](repeating: -1, count: image.voxels)
        var distance = [Double](repeating: .greatestFiniteMagnitude, count: image.voxels)
        let k = centres.count
        image.values.withUnsafeBufferPointer { px in
            for _ in 0..<iterations {
                var changed = false
                for i in distance.indices { distance[i] = .greatestFiniteMagnitude }
                for s in 0..<k {
                    let c = centres[s]
                    if c[0].isNaN { continue }  // an emptied segment: 0/0 centres never win a voxel
                    let z0 = Int(max(c[0] - Double(2 * window[0]), 0)), z1 = Int(min(c[0] + Double(2 * window[0] + 1), Double(depth)))
                    let y0 = Int(max(c[1] - Double(2 * window[1]), 0)), y1 = Int(min(c[1] + Double(2 * window[1] + 1), Double(height)))
                    let x0 = Int(max(c[2] - Double(2 * window[2]), 0)), x1 = Int(min(c[2] + Double(2 * window[2] + 1), Double(width)))
                    guard z0 < z1, y0 < y1, x0 < x1 else { continue }
                    let (l, a, b) = (c[3], c[4], c[5])
                    for z in z0..<z1 {
                        var dz = spacing[0] * (c[0] - Double(z)); dz *= dz
                        for y in y0..<y1 {
                            var dy = spacing[1] * (c[1] - Double(y)); dy *= dy
                            let row = (z * height + y) * width
                            for x in x0..<x1 {
                                var dx = spacing[2] * (c[2] - Double(x)); dx *= dx
                                let v = row + x
                                let t0 = px[3 * v] - l, t1 = px[3 * v + 1] - a, t2 = px[3 * v + 2] - b
                                let d = (dz + dy + dx) * spatialWeight + (t0 * t0 + t1 * t1 + t2 * t2)
                                if distance[v] > d {
                                    nearest[v] = Int32(s)
                                    distance[v] = d
                                    changed = true
                                }
                            }
                        }
                    }
                }
                if !changed { break }
                var sums = [[Double]](repeating: [0, 0, 0, 0, 0, 0], count: k)
                var counts = [Int](repeating: 0, count: k)
                for z in 0..<depth {
                    for y in 0..<height {
                        for x in 0..<width {
                            let v = (z * height + y) * width + x
                            let s = Int(nearest[v])
                            counts[s] += 1
                            sums[s][0] += Double(z); sums[s][1] += Double(y); sums[s][2] += Double(x)
                            sums[s][3] += px[3 * v]; sums[s][4] += px[3 * v + 1]; sums[s][5] += px[3 * v + 2]
                        }
                    }
                }
                for s in 0..<k {
                    centres[s] = sums[s].map { $0 / Double(counts[s]) }
                }
            }
        }
        return nearest
    }

    /// `_enforce_label_connectivity_cython`: relabel 6-connected components in scan order; a component smaller
    /// than `minSize` joins the last labelled neighbour its breadth-first search met. The search stops growing at
    /// `maxSize` voxels, exactly as the reference's fixed buffer does.
    static func enforceConnectivity(_ segments: [Int32], shape: [Int], minSize: Int, maxSize: Int) -> [Int32] {
        let (depth, height, width) = (shape[0], shape[1], shape[2])
        let maxSize = max(maxSize, 1)
        var connected = [Int32](repeating: -1, count: segments.count)
        var queue = [Int](repeating: 0, count: maxSize)
        var newLabel: Int32 = 0
        let offsets = [(0, 0, 1), (0, 0, -1), (0, 1, 0), (0, -1, 0), (1, 0, 0), (-1, 0, 0)]
        for start in segments.indices where segments[start] >= 0 && connected[start] < 0 {
            var adjacent = newLabel
            let label = segments[start]
            connected[start] = newLabel
            var size = 1, visited = 0
            queue[0] = start
            search: while visited < size && size < maxSize {
                let v = queue[visited]
                let z = v / (height * width), y = (v / width) % height, x = v % width
                for (oz, oy, ox) in offsets {
                    let zz = z + oz, yy = y + oy, xx = x + ox
                    guard zz >= 0, zz < depth, yy >= 0, yy < height, xx >= 0, xx < width else { continue }
                    let u = (zz * height + yy) * width + xx
                    if segments[u] == label && connected[u] < 0 {
                        connected[u] = newLabel
                        queue[size] = u
                        size += 1
                        if size >= maxSize { visited += 1; continue search }
                    } else if connected[u] >= 0 && connected[u] != newLabel {
                        adjacent = connected[u]
                    }
                }
                visited += 1
            }
            if size < minSize {
                for i in 0..<size { connected[queue[i]] = adjacent }
            } else {
                newLabel += 1
            }
        }
        return connected
    }
}
