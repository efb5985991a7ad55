// Benchmarks, not timed tests: an EfficientNet-B4-shaped stack at 224 with random weights, per-op timings for
// 1 and 2 threads, and sgemm / depthwise throughput. Run with DEEPSCOPE_BENCH=1 (skipped otherwise).
import Foundation
import Testing
import TestSupport
@testable import Neural

// MARK: - A B4-shaped network

/// EfficientNet-B4's block list (width 1.4, depth 1.8) with batch norm already folded, built on `Graph`.
/// Not a model binding: the Models module owns the real one; this only reproduces its shapes and op mix.
private struct B4Shaped {
    struct Block { var expand: Tensor?, dw: Tensor, seReduce: Tensor, seExpand: Tensor, project: Tensor
                   var k: Int, stride: Int, residual: Bool }
    var stem: Tensor, blocks: [Block] = [], head: Tensor, fc: Tensor

    init() {
        var r = SeededRandom(seed: 99)
        func w(_ shape: [Int]) -> Tensor { r.tensor(shape, scale: 1 / Float(shape.dropFirst().reduce(1, *)).squareRoot()) }
        stem = w([48, 3, 3, 3])
        // (expand ratio, kernel, stride, output channels, repeats) for B4 at width 1.4, depth 1.8.
        let stages = [(1, 3, 1, 24, 2), (6, 3, 2, 32, 4), (6, 5, 2, 56, 4), (6, 3, 2, 112, 6),
                      (6, 5, 1, 160, 6), (6, 5, 2, 272, 8), (6, 3, 1, 448, 2)]
        var cin = 48
        for (e, k, s, cout, n) in stages {
            for i in 0..<n {
                let mid = cin * e, se = max(1, cin / 4)
                blocks.append(Block(expand: e == 1 ? nil : w([mid, cin, 1, 1]), dw: w([mid, 1, k, k]),
                                    seReduce: w([se, mid, 1, 1]), seExpand: w([mid, se, 1, 1]),
                                    project: w([cout, mid, 1, 1]), k: k, stride: i == 0 ? s : 1,
                                    residual: i > 0))
                cin = cout
            }
        }
        head = w([1792, 448, 1, 1])
        fc = w([1, 1792])
    }

    func forward(_ g: Graph, _ input: Variable) -> Variable {
        func bias(_ t: Tensor) -> Variable { Variable(Tensor(shape: [t.shape[0]], repeating: 0.01)) }
        var x = g.conv2d(input, weight: Variable(stem), bias: bias(stem), stride: 2,
                         padding: .same(height: 224, width: 224, kernel: 3, stride: 2), activation: .silu)
        for b in blocks {
            let skip = x
            if let e = b.expand { x = g.conv2d(x, weight: Variable(e), bias: bias(e), activation: .silu) }
            let h = x.shape[2]
            x = g.conv2d(x, weight: Variable(b.dw), bias: bias(b.dw), stride: Size2D(b.stride, b.stride),
                         padding: .same(height: h, width: h, kernel: Size2D(b.k, b.k), stride: Size2D(b.stride, b.stride)),
                         groups: x.shape[1], activation: .silu)
            var s = g.globalAvgPool(x)
            s = g.conv2d(s, weight: Variable(b.seReduce), bias: bias(b.seReduce), activation: .silu)
            s = g.conv2d(s, weight: Variable(b.seExpand), bias: bias(b.seExpand), activation: .sigmoid)
            x = g.conv2d(x, weight: Variable(b.project), bias: bias(b.project), inputScale: s)
            if b.residual { x = g.add(x, skip) }
        }
        x = g.conv2d(x, weight: Variable(head), bias: bias(head), activation: .silu)
        return g.linear(g.flatten(g.globalAvgPool(x)), weight: Variable(fc), bias: Variable(Tensor(shape: [1])))
    }
}

private let benchEnabled = ProcessInfo.processInfo.environment["DEEPSCOPE_BENCH"] == "1"

/// Process CPU seconds spent in `body`. The build machine is shared, so wall time mostly measures other
/// people's compilers; CPU time (summed over our threads) is the stable measure of the work done.
private func seconds(_ body: () -> Void) -> Double {
    var t0 = timespec(), t1 = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0)
    body()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t1)
    return Double(t1.tv_sec - t0.tv_sec) + Double(t1.tv_nsec - t0.tv_nsec) / 1e9
}

// MARK: - Benchmarks

@Suite(.serialized, .enabled(if: benchEnabled)) struct BenchmarkTests {
    @Test func efficientNetB4ShapedStack() {
        let net = B4Shaped()
        var r = SeededRandom(seed: 5)
        let input = r.tensor([1, 3, 224, 224])
        let saved = Engine.threads
        for threads in [1, 2] {
            Engine.threads = threads
            let warm = Graph()
            _ = net.forward(warm, warm.input(input))
            var best = Double.infinity, bestWall = Double.infinity
            for _ in 0..<5 {
                let t0 = DispatchTime.now().uptimeNanoseconds
                best = min(best, seconds { let g = Graph(); _ = net.forward(g, g.input(input)) })
                bestWall = min(bestWall, Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
            }
            let g = Graph(profiling: true)
            _ = net.forward(g, g.input(input))
            print("B4-shaped 224 forward, \(threads) thread(s): best of 5 = \(String(format: "%.1f", best * 1000)) ms CPU, \(String(format: "%.1f", bestWall * 1000)) ms wall")
            for (kind, v) in g.profile.sorted(by: { $0.value.seconds > $1.value.seconds }) {
                print(String(format: "  %-28@ %4d calls %8.2f ms", kind as NSString, v.calls, v.seconds * 1000))
            }
            let gr = Graph(recording: true)
            let x = gr.input(input)
            var y: Variable!
            let fwd = seconds { y = net.forward(gr, x) }
            let bwd = seconds { _ = gr.backward(from: y, to: [x]) }
            print(String(format: "  recording forward %.1f ms, backward to the input %.1f ms", fwd * 1000, bwd * 1000))
        }
        Engine.threads = saved
    }

    @Test func kernelThroughput() {
        var r = SeededRandom(seed: 6)
        let saved = Engine.threads
        Engine.threads = 1
        let big = r.tensor([1, 144, 112, 112])
        for a in [Activation.relu, .silu, .sigmoid] {
            let t = seconds { for _ in 0..<10 { _ = a.apply(big) } } / 10
            print(String(format: "%@ over 1.8M floats: %.2f ms (%.2f ns/element)", "\(a)" as NSString, t * 1000, t * 1e9 / Double(big.count)))
        }
        let copy = seconds { for _ in 0..<10 { var c = big; c.data[0] = 1 } } / 10
        print(String(format: "copy of 1.8M floats: %.2f ms", copy * 1000))
        for act in [Activation.identity, .silu] {
            let x = r.tensor([1, 32, 112, 112]), w = r.tensor([192, 32, 1, 1])
            let geo = ConvGeometry(input: x.shape, weight: w.shape, stride: 1, padding: 0, dilation: 1, groups: 1)
            let t = seconds { for _ in 0..<10 { _ = conv2dForward(x, w, nil, geo, activation: act) } } / 10
            print(String(format: "conv1x1 32→192 at 112², %@: %.2f ms, %.1f GFLOP/s", "\(act)" as NSString, t * 1000,
                         Double(2 * 32 * 192 * 112 * 112) / t / 1e9))
        }
        for threads in [1, 2] {
            Engine.threads = threads
            for (m, n, k) in [(1024, 1024, 1024), (192, 3136, 32), (32, 3136, 192), (816, 196, 136), (1792, 49, 448)] {
                let a = r.tensor([m, k]), b = r.tensor([k, n])
                var c = [Float](repeating: 0, count: m * n)
                let reps = max(1, 2_000_000_000 / (2 * m * n * k))
                let t = seconds {
                    for _ in 0..<reps {
                        a.data.withUnsafeBufferPointer { ap in b.data.withUnsafeBufferPointer { bp in c.withUnsafeMutableBufferPointer { cp in
                            sgemm(m: m, n: n, k: k, a: ap.baseAddress!, lda: k, b: bp.baseAddress!, ldb: n, c: cp.baseAddress!, ldc: n)
                        } } }
                    }
                }
                print(String(format: "sgemm %4d×%4d×%4d, %d thread(s): %.1f GFLOP/s", m, n, k, threads,
                             Double(2 * m * n * k * reps) / t / 1e9))
            }
            for (c, hw, kk, s) in [(144, 112, 3, 1), (192, 56, 3, 2), (336, 28, 5, 1), (960, 14, 5, 1), (1632, 7, 3, 1)] {
                let x = r.tensor([1, c, hw, hw]), w = r.tensor([c, 1, kk, kk])
                let geo = ConvGeometry(input: x.shape, weight: w.shape, stride: Size2D(s, s),
                                       padding: .same(height: hw, width: hw, kernel: Size2D(kk, kk), stride: Size2D(s, s)),
                                       dilation: 1, groups: c)
                let reps = 20
                let t = seconds { for _ in 0..<reps { _ = conv2dForward(x, w, nil, geo, activation: .silu) } }
                let flops = Double(2 * c * geo.p * geo.q * kk * kk * reps)
                print(String(format: "depthwise %dx%d/%d C=%d %d², %d thread(s): %.2f ms, %.1f GFLOP/s", kk, kk, s, c, hw,
                             threads, t / Double(reps) * 1000, flops / t / 1e9))
            }
        }
        Engine.threads = saved
    }
}
