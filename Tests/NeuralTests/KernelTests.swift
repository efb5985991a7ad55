// Fast kernels against their naive references on random shapes, thread-count independence, and the tape's
// conventions (path-only backward, accumulation).
import Foundation
import Testing
import TestSupport
@testable import Neural

// MARK: - Fast vs naive

@Suite(.serialized) struct KernelTests {
    /// Random conv geometries: odd sizes, groups, depthwise with multipliers, strides, dilation, asymmetric padding.
    @Test func conv2dFastPathsMatchNaive() {
        var r = SeededRandom(seed: 21)
        for trial in 0..<60 {
            let kind = trial % 4  // 0 general, 1 pointwise, 2 depthwise, 3 grouped
            let groups: Int, c: Int, k: Int
            switch kind {
            case 2: c = Int.random(in: 1...9, using: &r); groups = c; k = c * Int.random(in: 1...2, using: &r)
            case 3: groups = Int.random(in: 2...3, using: &r); c = groups * Int.random(in: 1...3, using: &r)
                    k = groups * Int.random(in: 1...3, using: &r)
            default: groups = 1; c = Int.random(in: 1...6, using: &r); k = Int.random(in: 1...7, using: &r)
            }
            let ksize = kind == 1 ? 1 : [1, 3, 5, 2].randomElement(using: &r)!
            let kw = kind == 1 ? 1 : [ksize, 3].randomElement(using: &r)!
            let stride = kind == 1 ? Size2D(1, 1) : Size2D(Int.random(in: 1...2, using: &r), Int.random(in: 1...2, using: &r))
            let dil = kind == 1 ? Size2D(1, 1) : Size2D(Int.random(in: 1...2, using: &r), 1)
            let pad = kind == 1 ? Padding2D.zero : Padding2D(top: Int.random(in: 0...2, using: &r), bottom: Int.random(in: 0...2, using: &r),
                                                             left: Int.random(in: 0...2, using: &r), right: Int.random(in: 0...1, using: &r))
            let h = Int.random(in: (ksize * dil.h)...13, using: &r), w = Int.random(in: (kw * dil.w)...14, using: &r)
            let x = r.tensor([Int.random(in: 1...2, using: &r), c, h, w])
            let wt = r.tensor([k, c / groups, ksize, kw])
            let b: Tensor? = Bool.random(using: &r) ? r.tensor([k]) : nil
            let geo = ConvGeometry(input: x.shape, weight: wt.shape, stride: stride, padding: pad, dilation: dil, groups: groups)
            let fast = conv2dForward(x, wt, b, geo), naive = conv2dNaive(x, wt, b, geo)
            #expect(fast.shape == naive.shape)
            expectClose(fast.data, naive.data, atol: 1e-5, rtol: 1e-5, "conv trial \(trial) \(geo)")
            let fused = conv2dForward(x, wt, b, geo, activation: .silu)
            expectClose(fused.data, naive.data.map(Activation.silu.naive), atol: 1e-5, rtol: 1e-5, "fused silu \(trial)")
        }
        // Stride-2 stems on rows wide enough for im2col's 16-output vector runs (and their scalar ends).
        for (c, k, kernel, w, pad) in [(3, 8, 3, 81, 1), (3, 5, 7, 70, 3), (2, 4, 3, 64, 0), (1, 3, 5, 99, 2)] {
            let x = r.tensor([1, c, 9, w]), wt = r.tensor([k, c, kernel, kernel]), b = r.tensor([k])
            let geo = ConvGeometry(input: x.shape, weight: wt.shape, stride: 2, padding: Padding2D(pad, pad), dilation: 1, groups: 1)
            expectClose(conv2dForward(x, wt, b, geo).data, conv2dNaive(x, wt, b, geo).data, atol: 1e-5, rtol: 1e-5,
                        "stride-2 stem \(geo)")
        }
    }

    /// Pointwise convs from packed weights equal the plain ones (the same sums in the same order, bias and
    /// activation fused): maps narrower than a block of columns (1, 5, 18) and with tails of 1, 2 and 13 columns,
    /// output channels off the block of eight, one and two images; and the same bits with 1 and 2 threads.
    /// A conv from packed weights gives the plain conv's bits on every path: 1×1 and im2col (stride, padding),
    /// with a residual, and an input scale; on maps of under 32 outputs (OpenBLAS in the plain path) its values.
    @Test func packedConvMatchesPlainConv() {
        var r = SeededRandom(seed: 41)
        // (C, K, kernel, stride, H, W)
        for (c, k, kernel, stride, h, w) in [(5, 13, 3, 2, 15, 17), (3, 48, 3, 2, 20, 20), (16, 24, 1, 2, 14, 14),
                                             (7, 9, 3, 1, 9, 9), (6, 10, 1, 1, 5, 5), (4, 12, 3, 1, 4, 4),
                                             // Large enough to unfold in bands (`im2colBand`): a 7×7 stem, and a
                                             // 3×3/2 whose last band ends in a single dot-product column.
                                             (3, 16, 7, 2, 150, 150), (8, 12, 3, 2, 129, 129)] {
            let x = r.tensor([2, c, h, w]), wt = r.tensor([k, c, kernel, kernel]), b = r.tensor([k])
            let geo = ConvGeometry(input: x.shape, weight: wt.shape, stride: Size2D(stride, stride),
                                   padding: Padding2D(kernel / 2, kernel / 2), dilation: 1, groups: 1)
            let residual = r.tensor(geo.outputShape)
            let plain = conv2dForward(x, wt, b, geo, activation: .relu, residual: residual)
            let packed = convForwardPacked(x, PackedWeights(wt), b, geo, activation: .relu, residual: residual)
            #expect(packed.shape == plain.shape)
            let label = "packed conv \(c)→\(k) \(kernel)x\(kernel)/\(stride) at \(h)×\(w)"
            if h > 100 { #expect(im2colBand(rows: geo.colRows, columns: geo.p * geo.q) < geo.p * geo.q, "\(label) bands") }
            if geo.p * geo.q >= gemmBlockColumns {
                #expect(packed.data == plain.data, "\(label)")
            } else {
                // Under 32 outputs the plain path runs OpenBLAS, the packed one the micro-kernel's tails.
                expectClose(packed.data, plain.data, atol: 1e-5, rtol: 1e-5, label)
            }
        }
        // A squeeze-excite gate: the packed weights scaled (K ≤ H·W) or the input (K > H·W), as the plain path does.
        for (c, k, h) in [(24, 20, 8), (40, 72, 6), (9, 30, 3)] {
            let x = r.tensor([2, c, h, h]), wt = r.tensor([k, c, 1, 1]), b = r.tensor([k])
            let scale = Tensor(shape: [2 * c], data: r.tensor([2 * c]).data)
            let geo = ConvGeometry(input: x.shape, weight: wt.shape, stride: 1, padding: .zero, dilation: 1, groups: 1)
            let residual = r.tensor(geo.outputShape)
            let plain = conv2dForward(x, wt, b, geo, inputScale: scale, residual: residual)
            let packed = convForwardPacked(x, PackedWeights(wt), b, geo, activation: .identity, inputScale: scale,
                                           residual: residual)
            if h * h >= gemmBlockColumns {
                #expect(packed.data == plain.data, "packed input-scaled conv \(c)→\(k) at \(h)×\(h)")
            } else {
                expectClose(packed.data, plain.data, atol: 1e-5, rtol: 1e-5, "packed input-scaled conv \(c)→\(k) at \(h)×\(h)")
            }
        }
        let wt = r.tensor([5, 3, 2, 2])
        #expect(PackedWeights(wt).unpacked().data == wt.data && PackedWeights(wt).unpacked().shape == wt.shape)
    }

    /// Where OpenBLAS does not know the CPU (Debian's 0.3.21 on Emerald Rapids fell back to Prescott's SSE3
    /// kernels, a fifth of the speed), the engine re-selects its kernels by the CPU's features.
    @Test func openBLASRunsKernelsForThisCPU() throws {
        guard ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] == nil,
              let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let flags = info.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) else { return }
        let features = Set(flags.split(separator: " ").map(String.init))
        guard features.isSuperset(of: ["avx2", "fma"]) else { return }
        #expect(Engine.blasCoreName.lowercased() != "prescott", "OpenBLAS runs \(Engine.blasCoreName) kernels on an AVX2 CPU")
    }

    @Test func packedPointwiseConvMatchesPlain() {
        var r = SeededRandom(seed: 37)
        let saved = Engine.threads
        defer { Engine.threads = saved }
        for (c, k, h, w) in [(5, 13, 7, 7), (24, 144, 6, 11), (17, 40, 2, 17), (9, 30, 15, 15), (3, 8, 4, 9),
                             (12, 20, 1, 1), (7, 9, 1, 5), (16, 27, 3, 6)] {
            let x = r.tensor([1 + (c + w) % 2, c, h, w]), wt = r.tensor([k, c, 1, 1]), b = r.tensor([k])
            let geo = ConvGeometry(input: x.shape, weight: wt.shape, stride: 1, padding: .zero, dilation: 1, groups: 1)
            let packed = PackedWeights(wt)
            let naive = conv2dNaive(x, wt, b, geo).data.map(Activation.silu.naive)
            var runs: [[Float]] = []
            for threads in [1, 2] {
                Engine.threads = threads
                let y = convForwardPacked(x, packed, b, geo, activation: .silu)
                expectClose(y.data, naive, atol: 1e-5, rtol: 1e-5, "packed 1×1 \(c)→\(k) at \(h)×\(w)")
                runs.append(y.data)
            }
            #expect(runs[0] == runs[1], "packed 1×1 \(c)→\(k) at \(h)×\(w) differs between 1 and 2 threads")
        }
    }

    /// A residual fused into the conv's epilogue equals conv, then add, then the activation, bit for bit, on every
    /// path: pointwise GEMM, im2col GEMM, OpenBLAS for narrow maps, the matrix-vector product for 1×1 maps,
    /// Winograd (banded too), depthwise, an input scale; and in a recording graph the residual gets the gradient
    /// of the sum.
    @Test func residualIsAddedBeforeTheActivation() {
        var r = SeededRandom(seed: 39)
        // (C, K, R, stride, H, W, groups, input-scaled)
        let cases: [(Int, Int, Int, Int, Int, Int, Int, Bool)] = [
            (6, 11, 1, 1, 9, 7, 1, false), (5, 9, 3, 2, 13, 12, 1, false), (4, 10, 1, 1, 3, 5, 1, false),
            (3, 8, 3, 1, 12, 11, 1, false), (64, 64, 3, 1, 60, 60, 1, false), (7, 7, 1, 1, 9, 9, 1, true),
            (3, 5, 1, 1, 8, 9, 1, true), (12, 12, 3, 1, 6, 10, 12, false),
            // 1×1 maps (squeeze-excite): the parallel matrix-vector product.
            (70, 45, 1, 1, 1, 1, 1, false), (9, 40, 1, 1, 1, 1, 1, true)]
        for (c, k, kernel, stride, h, w, groups, scaled) in cases {
            let x = r.tensor([2, c, h, w]), wt = r.tensor([k, c / groups, kernel, kernel]), b = r.tensor([k])
            let geo = ConvGeometry(input: x.shape, weight: wt.shape, stride: Size2D(stride, stride),
                                   padding: Padding2D(kernel / 2, kernel / 2), dilation: 1, groups: groups)
            let scale: Tensor? = scaled ? Tensor(shape: [2, c, 1, 1], data: r.tensor([2 * c]).data) : nil
            let residual = r.tensor(geo.outputShape)
            let plain = conv2dForward(x, wt, b, geo, inputScale: scale)
            if scale == nil && x.count < 10_000 {
                expectClose(plain.data, conv2dNaive(x, wt, b, geo).data, atol: 1e-5, rtol: 1e-5, "conv \(geo)")
            }
            let want = zip(plain.data, residual.data).map { Activation.relu.naive($0 + $1) }
            let fused = conv2dForward(x, wt, b, geo, activation: .relu, inputScale: scale, residual: residual)
            #expect(fused.data == want, "residual \(geo)\(scale == nil ? "" : " input-scaled")")
            if winogradApplies(geo) {
                let viaFilter = conv2dForward(x, wt, b, geo, activation: .relu, winograd: WinogradFilter(weight: wt),
                                              residual: residual)
                let winograd = winogradForward(x, WinogradFilter(weight: wt), b, geo, activation: .identity)
                #expect(viaFilter.data == zip(winograd.data, residual.data).map { Activation.relu.naive($0 + $1) },
                        "Winograd residual \(geo)")
            }
        }
        // Recording: d residual = d y where the activation passes.
        let g = Graph(recording: true)
        let x = g.input(r.tensor([1, 3, 5, 6])), res = g.input(r.tensor([1, 4, 5, 6]))
        let y = g.conv2d(x, weight: Variable(r.tensor([4, 3, 3, 3])), padding: 1, activation: .relu, residual: res)
        let grads = g.backward(from: g.sum(y, axes: [0, 1, 2, 3]), to: [res])
        #expect(grads[0].data == y.tensor.data.map { $0 > 0 ? 1 : 0 })
    }

    @Test func vectorisedActivationsMatchScalarReference() {
        var r = SeededRandom(seed: 22)
        let x = r.tensor([1003], scale: 30)
        for a in [Activation.relu, .relu6, .silu, .sigmoid, .tanh, .leakyReLU(0.3)] {
            expectClose(a.apply(x).data, x.data.map(a.naive), atol: 1e-6, rtol: 1e-5, "\(a)")
        }
        let extremes = Tensor(shape: [6], data: [-200, -88, -20, 20, 88, 200])
        let s = Activation.sigmoid.apply(extremes).data
        #expect(s.allSatisfy { $0.isFinite && $0 >= 0 && $0 <= 1 })
    }

    /// The forward micro-kernels against a double-precision product: row edges (M not a multiple of 8), every
    /// column tail (a 16-block or not, then none, one or two dot columns, or a padded 16-block), several
    /// 256-column slabs, long K, strided operands, bias and SiLU; and the same bits with one and two threads.
    /// The same for weights packed in blocks of eight rows (`PackedWeights`, the last block zero-padded).
    @Test func gemmForwardMatchesDoubleProduct() {
        var r = SeededRandom(seed: 31)
        let saved = Engine.threads
        defer { Engine.threads = saved }
        for (m, n, k) in [(8, 32, 1), (13, 49, 7), (1, 40, 300), (72, 600, 24), (29, 257, 65), (200, 33, 448), (16, 50, 70),
                          (9, 52, 19), (24, 62, 5), (8, 196, 112), (17, 275, 33), (24, 1100, 40), (9, 2001, 3),
                          // X rows ≥ 4096 floats apart: slabs packed into panels first (after the 48-column blocks: 32 + 5,
                          // and 16 + 2).
                          (37, 4117, 11), (32, 4098, 9),
                          // X of ≥ 192 Ki floats: narrow slabs, slab-major (tail 16 + 12).
                          (20, 700, 300),
                          // K ≥ 512 over X of ≥ 192 Ki floats, four runs of K (edge rows; a 16-block and a
                          // tail of 5).
                          (27, 400, 520), (33, 389, 512)] {
            let (ldw, ldx, ldy) = (k + 3, n + 5, n + 2)
            let w = r.tensor([m * ldw]), x = r.tensor([k * ldx]), bias = r.tensor([m])
            var expected = [Float](repeating: 0, count: m * ldy)
            for i in 0..<m {
                for j in 0..<n {
                    var acc = Double(bias.data[i])
                    for p in 0..<k { acc += Double(w.data[i * ldw + p]) * Double(x.data[p * ldx + j]) }
                    expected[i * ldy + j] = Activation.silu.naive(Float(acc))
                }
            }
            let packed = PackedWeights(Tensor(shape: [m, k], data: (0..<m).flatMap { i in w.data[(i * ldw)..<(i * ldw + k)] }))
            for usesPacked in [false, true] {
                let label = "gemm \(m)×\(n)×\(k)\(usesPacked ? " packed" : "")"
                var results: [[Float]] = []
                for threads in [1, 2] {
                    Engine.threads = threads
                    var y = [Float](repeating: .nan, count: m * ldy)
                    (usesPacked ? packed.data : w.data).withUnsafeBufferPointer { wp in x.data.withUnsafeBufferPointer { xp in
                        bias.data.withUnsafeBufferPointer { bp in y.withUnsafeMutableBufferPointer { yp in
                            gemmForward(m: m, n: n, k: k, w: wp.baseAddress!, ldw: ldw, x: xp.baseAddress!, ldx: ldx,
                                        y: yp.baseAddress!, ldy: ldy, bias: bp.baseAddress!, activation: .silu,
                                        packedW: usesPacked)
                        } }
                    } }
                    let written = (0..<m).flatMap { i in (0..<n).map { y[i * ldy + $0] } }
                    let want = (0..<m).flatMap { i in (0..<n).map { expected[i * ldy + $0] } }
                    expectClose(written, want, atol: 1e-4, rtol: 1e-4, "\(label), \(threads) thread(s)")
                    // Padding between rows is never written.
                    #expect((0..<m).allSatisfy { i in (n..<ldy).allSatisfy { y[i * ldy + $0].isNaN } }, "\(label) wrote past n")
                    results.append(written)
                }
                #expect(results[0] == results[1], "\(label) differs between 1 and 2 threads")
            }
        }
    }

    @Test func linearMatchesNaive() {
        var r = SeededRandom(seed: 23)
        let x = r.tensor([2, 3, 17]), w = r.tensor([9, 17]), b = r.tensor([9])
        expectClose(linearForward(x, w, b).data, linearNaive(x, w, b).data, atol: 1e-5, rtol: 1e-5, "linear")
    }

    // MARK: - Threads

    /// Every kernel splits work over independent outputs, and sgemm is tiled by shape alone (OpenBLAS runs
    /// single-threaded inside each tile), so results are bit-identical for any thread count.
    @Test func resultsAreIdenticalForOneAndTwoThreads() {
        var r = SeededRandom(seed: 24)
        let x = r.tensor([2, 16, 23, 21]), w = r.tensor([16, 1, 5, 5]), w2 = r.tensor([24, 16, 3, 3])
        let w3 = r.tensor([40, 16, 1, 1])
        func run(_ threads: Int) -> [Tensor] {
            Engine.threads = threads
            let g = Graph(recording: true)
            let xv = g.input(x)
            let d = g.conv2d(xv, weight: Variable(w), stride: 2, padding: 2, groups: 16, activation: .silu)
            let y = g.resize(g.maxPool2d(d, kernel: 3, stride: 2, padding: 1), to: Size2D(9, 8))
            var results = [d.tensor, y.tensor] + g.backward(from: y, to: [xv])
            g.zeroGradients()
            let c = g.conv2d(xv, weight: Variable(w2), padding: 1, activation: .relu6)
            let p = g.conv2d(xv, weight: Variable(w3), activation: .sigmoid)
            results += [c.tensor, p.tensor] + g.backward(from: g.add(g.mean(c, axes: [1]), g.mean(p, axes: [1])), to: [xv])
            return results
        }
        let saved = Engine.threads
        let one = run(1), two = run(2)
        Engine.threads = saved
        for (i, (a, b)) in zip(one, two).enumerated() {
            let same = a.data == b.data
            #expect(same, "result \(i) differs by \(maxAbsDifference(a.data, b.data)) between 1 and 2 threads")
        }
    }

    /// Broadcasts big enough to be split over workers (runs starting mid-tensor), and the gate-gradient and
    /// batch-norm reductions, against scalar loops, with one and two threads.
    @Test func largeBroadcastsAndReductionsMatchScalarLoops() {
        var r = SeededRandom(seed: 29)
        let (n, c, h, w) = (2, 40, 30, 31)
        let x = r.tensor([n, c, h, w]), gate = r.tensor([n, c, 1, 1]), map = r.tensor([n, 1, h, w])
        let saved = Engine.threads
        defer { Engine.threads = saved }
        for threads in [1, 2] {
            Engine.threads = threads
            let gated = broadcastForward(x, gate, .multiply), spatial = broadcastForward(x, map, .add)
            let gateSums = sumToShape(x, [n, c, 1, 1]), (mean, variance) = channelMeanVariance(x)
            let dots = channelDots(x, gated)
            for b in 0..<n {
                for ch in 0..<c {
                    var sum = 0.0
                    for i in 0..<(h * w) {
                        let at = (b * c + ch) * h * w + i
                        #expect(gated.data[at] == x.data[at] * gate.data[b * c + ch])
                        #expect(spatial.data[at] == x.data[at] + map.data[b * h * w + i])
                        sum += Double(x.data[at])
                    }
                    #expect(abs(Double(gateSums.data[b * c + ch]) - sum) <= 1e-4 * max(1, abs(sum)))
                }
            }
            for ch in 0..<c {
                var values: [Double] = []
                var dot = 0.0
                for b in 0..<n {
                    for i in 0..<(h * w) {
                        let at = (b * c + ch) * h * w + i
                        values.append(Double(x.data[at])); dot += Double(x.data[at] * gated.data[at])
                    }
                }
                let mu = values.reduce(0, +) / Double(values.count)
                let v = values.map { ($0 - mu) * ($0 - mu) }.reduce(0, +) / Double(values.count)
                #expect(abs(mean[ch] - mu) <= 1e-6 && abs(variance[ch] - v) <= 1e-5 * max(1, v), "channel \(ch)")
                #expect(abs(Double(dots.data[ch]) - dot) <= 1e-4 * max(1, abs(dot)), "dot \(ch)")
            }
        }
    }

    // MARK: - Tape conventions

    @Test func backwardAccumulatesAndWalksOnlyTheNeededPath() {
        let g = Graph(recording: true)
        let x = g.input(Tensor(shape: [1, 1, 1, 3], data: [1, 2, 3]))
        let y = g.add(g.multiply(x, x), x)   // y = x² + x: two paths into x
        let first = g.backward(from: y, to: [x])[0]
        #expect(first.data == [3, 5, 7])
        let second = g.backward(from: y, to: [x])[0]
        #expect(second.data == [6, 10, 14], "a second backward adds to the stored gradient")
        g.zeroGradients()
        #expect(g.backward(from: y, seed: Tensor(shape: [1, 1, 1, 3], data: [1, 0, 2]), to: [x])[0].data == [3, 0, 14])
        // A constant side input gets no gradient and is never differentiated.
        let c = g.constant(Tensor(shape: [1, 1, 1, 3], data: [4, 5, 6]))
        let z = g.multiply(x, c)
        g.zeroGradients()
        let grads = g.backward(from: z, to: [x, c])
        #expect(grads[0].data == [4, 5, 6])
        #expect(grads[1].data == [0, 0, 0])
    }

    @Test func foldedBatchNormEqualsConvThenBatchNorm() {
        var r = SeededRandom(seed: 25)
        let x = r.tensor([1, 3, 6, 5]), w = r.tensor([4, 3, 3, 3]), b = r.tensor([4])
        let gamma = r.tensor([4]), beta = r.tensor([4]), mean = r.tensor([4])
        let variance = Tensor(shape: [4], data: [0.3, 1, 2, 0.7])
        let g = Graph()
        let reference = g.batchNorm(g.conv2d(g.input(x), weight: Variable(w), bias: Variable(b), padding: 1),
                                    weight: Variable(gamma), bias: Variable(beta), runningMean: mean,
                                    runningVar: variance, eps: 1e-3)
        let (fw, fb) = foldBatchNorm(convWeight: w, convBias: b, gamma: gamma, beta: beta, mean: mean,
                                     var: variance, eps: 1e-3)
        let folded = g.conv2d(g.input(x), weight: Variable(fw), bias: Variable(fb), padding: 1)
        expectClose(folded.tensor.data, reference.tensor.data, atol: 1e-5, rtol: 1e-4, "folded BN")
    }

    @Test func samePaddingMatchesTensorFlowRule() {
        // TF SAME: out = ceil(in / stride); odd padding goes to the bottom/right.
        #expect(Padding2D.same(height: 224, width: 224, kernel: 3, stride: 2) == Padding2D(top: 0, bottom: 1, left: 0, right: 1))
        #expect(Padding2D.same(height: 225, width: 224, kernel: 5, stride: 2) == Padding2D(top: 2, bottom: 2, left: 1, right: 2))
        #expect(Padding2D.same(height: 7, width: 7, kernel: 3, stride: 1) == Padding2D(1, 1))
    }
}

// MARK: - Depthwise fast path

extension KernelTests {
    /// The padded 3×3/5×5 stride-1/2 kernels against the naive conv over odd sizes and asymmetric padding.
    @Test func depthwiseFastPathMatchesNaive() {
        var r = SeededRandom(seed: 26)
        for trial in 0..<40 {
            let k = trial % 2 == 0 ? 3 : 5, stride = (trial / 2) % 2 + 1
            let c = Int.random(in: 1...5, using: &r), mult = Int.random(in: 1...2, using: &r)
            let h = Int.random(in: k...17, using: &r), w = Int.random(in: k...19, using: &r)
            let pad = Padding2D(top: Int.random(in: 0...k / 2, using: &r), bottom: Int.random(in: 0...k / 2 + 1, using: &r),
                                left: Int.random(in: 0...k / 2, using: &r), right: Int.random(in: 0...k / 2 + 1, using: &r))
            let x = r.tensor([Int.random(in: 1...2, using: &r), c, h, w]), wt = r.tensor([c * mult, 1, k, k])
            let b: Tensor? = trial % 3 == 0 ? nil : r.tensor([c * mult])
            let geo = ConvGeometry(input: x.shape, weight: wt.shape, stride: Size2D(stride, stride), padding: pad,
                                   dilation: 1, groups: c)
            let fast = depthwiseForwardPadded(x, wt, b, geo, activation: .identity)
            expectClose(fast.data, conv2dNaive(x, wt, b, geo).data, atol: 1e-5, rtol: 1e-5, "depthwise trial \(trial) \(geo)")
            let generic = depthwiseForwardGeneric(x, wt, b, geo, activation: .identity)
            expectClose(generic.data, conv2dNaive(x, wt, b, geo).data, atol: 1e-5, rtol: 1e-5, "generic trial \(trial)")
        }
    }

    /// The flat 3×3 kernel against the naive conv: the smallest plane it takes (16×16) and large ones (64×64, 150×149),
    /// narrow and wide rows (vectors that span rows, rows shorter than a vector), one and two images, bias or
    /// none, an output activation, and the input ReLU it fuses (against the naive conv of the rectified input);
    /// the same bits with 1 and 2 threads; and `depthwiseForward` choosing it only where it applies.
    @Test func depthwiseFlatMatchesNaive() {
        var r = SeededRandom(seed: 38)
        let saved = Engine.threads
        defer { Engine.threads = saved }
        for (trial, (n, c, h, w)) in [(1, 3, 16, 16), (2, 5, 19, 19), (1, 2, 64, 64), (1, 4, 9, 37), (2, 3, 40, 7),
                                      (1, 1, 17, 100), (1, 2, 150, 149)].enumerated() {
            let x = r.tensor([n, c, h, w]), wt = r.tensor([c, 1, 3, 3])
            let b: Tensor? = trial % 2 == 0 ? r.tensor([c]) : nil
            let geo = ConvGeometry(input: x.shape, weight: wt.shape, stride: 1, padding: 1, dilation: 1, groups: c)
            #expect(depthwiseUsesFlatPlanes(geo))
            let naive = conv2dNaive(x, wt, b, geo)
            let rectified = conv2dNaive(Activation.relu.apply(x), wt, b, geo)
            var runs: [[Float]] = []
            for threads in [1, 2] {
                Engine.threads = threads
                let plain = depthwiseForwardFlat(x, wt, b, geo, activation: .identity)
                expectClose(plain.data, naive.data, atol: 1e-5, rtol: 1e-5, "flat \(x.shape)")
                let fused = depthwiseForwardFlat(x, wt, b, geo, activation: .silu, inputActivation: .relu)
                expectClose(fused.data, rectified.data.map(Activation.silu.naive), atol: 1e-5, rtol: 1e-5,
                            "flat relu+silu \(x.shape)")
                let viaEntry = depthwiseForward(x, wt, b, geo, activation: .identity, inputActivation: .relu)
                #expect(viaEntry.data == depthwiseForwardFlat(x, wt, b, geo, activation: .identity, inputActivation: .relu).data)
                runs.append(plain.data + fused.data)
            }
            #expect(runs[0] == runs[1], "flat \(x.shape) differs between 1 and 2 threads")
        }
        // Not taken: planes under 16×16, stride 2, 5×5, other padding; the input ReLU still applies.
        for (h, w, k, stride, pad) in [(15, 17, 3, 1, 1), (7, 30, 3, 1, 1), (20, 20, 3, 2, 1), (20, 20, 5, 1, 2),
                                       (20, 20, 3, 1, 0)] {
            let x = r.tensor([1, 3, h, w]), wt = r.tensor([3, 1, k, k])
            let geo = ConvGeometry(input: x.shape, weight: wt.shape, stride: Size2D(stride, stride),
                                   padding: Padding2D(pad, pad), dilation: 1, groups: 3)
            #expect(!depthwiseUsesFlatPlanes(geo))
            expectClose(depthwiseForward(x, wt, nil, geo, activation: .identity, inputActivation: .relu).data,
                        conv2dNaive(Activation.relu.apply(x), wt, nil, geo).data, atol: 1e-5, rtol: 1e-5,
                        "relu+depthwise \(geo)")
        }
    }

    /// The channel-blocked forward (16 channels per vector, transposed in and out) against the naive conv: channel
    /// counts around the block of 16, kernels 1…5 (rectangular too), strides 1 and 2 (also mixed), asymmetric and
    /// over-wide padding, planes narrower than a transpose; bias and SiLU; and the same bits with 1 and 2 threads.
    @Test func depthwiseBlockedMatchesNaive() {
        var r = SeededRandom(seed: 32)
        let saved = Engine.threads
        defer { Engine.threads = saved }
        for trial in 0..<40 {
            let c = [1, 5, 16, 17, 33, 40][trial % 6]
            let kh = Int.random(in: 1...5, using: &r), kw = trial % 4 == 0 ? Int.random(in: 1...5, using: &r) : kh
            let stride = Size2D(Int.random(in: 1...2, using: &r), trial % 5 == 0 ? 1 : Int.random(in: 1...2, using: &r))
            let h = Int.random(in: kh...21, using: &r), w = Int.random(in: kw...37, using: &r)
            let pad = Padding2D(top: Int.random(in: 0...kh / 2, using: &r), bottom: Int.random(in: 0...kh / 2 + 1, using: &r),
                                left: Int.random(in: 0...kw / 2, using: &r), right: Int.random(in: 0...kw / 2 + 1, using: &r))
            let x = r.tensor([Int.random(in: 1...2, using: &r), c, h, w]), wt = r.tensor([c, 1, kh, kw])
            let b: Tensor? = trial % 3 == 0 ? nil : r.tensor([c])
            let geo = ConvGeometry(input: x.shape, weight: wt.shape, stride: stride, padding: pad, dilation: 1, groups: c)
            Engine.threads = 1
            let one = depthwiseForwardBlocked(x, wt, b, geo, activation: .silu)
            Engine.threads = 2
            let two = depthwiseForwardBlocked(x, wt, b, geo, activation: .silu)
            expectClose(one.data, conv2dNaive(x, wt, b, geo).data.map(Activation.silu.naive), atol: 1e-5, rtol: 1e-5,
                        "blocked trial \(trial) \(geo)")
            #expect(one.data == two.data, "blocked trial \(trial) differs between 1 and 2 threads")
        }
    }

    /// F(2×2, 3×3) Winograd against the naive convolution: channel counts around the vector width, odd and even
    /// maps down to one output row or column, asymmetric padding, batches; the same bits on one and two threads;
    /// and the on-the-spot filter `conv2dForward` makes for large maps.
    @Test func winogradMatchesNaive() {
        var r = SeededRandom(seed: 45)
        let saved = Engine.threads
        defer { Engine.threads = saved }
        for trial in 0..<36 {
            let c = [1, 3, 16, 17, 40, 64][trial % 6], k = [1, 8, 9, 24][trial % 4]
            let pad = Padding2D(top: Int.random(in: 0...2, using: &r), bottom: Int.random(in: 0...2, using: &r),
                                left: Int.random(in: 0...2, using: &r), right: Int.random(in: 0...2, using: &r))
            let h = Int.random(in: max(1, 3 - pad.top - pad.bottom)...(trial % 3 == 0 ? 7 : 40), using: &r)
            let w = Int.random(in: max(1, 3 - pad.left - pad.right)...(trial % 3 == 1 ? 6 : 45), using: &r)
            let x = r.tensor([Int.random(in: 1...2, using: &r), c, h, w]), wt = r.tensor([k, c, 3, 3])
            let b: Tensor? = trial % 3 == 2 ? nil : r.tensor([k])
            let geo = ConvGeometry(input: x.shape, weight: wt.shape, stride: 1, padding: pad, dilation: 1, groups: 1)
            #expect(winogradApplies(geo))
            let filter = WinogradFilter(weight: wt)
            Engine.threads = 1
            let one = winogradForward(x, filter, b, geo, activation: .relu)
            Engine.threads = 2
            let two = winogradForward(x, filter, b, geo, activation: .relu)
            let reference = conv2dNaive(x, wt, b, geo).data.map(Activation.relu.naive)
            expectClose(one.data, reference, atol: 2e-5 * Float(c).squareRoot(), rtol: 1e-4, "winograd trial \(trial) \(geo)")
            #expect(one.data == two.data, "winograd trial \(trial) differs between 1 and 2 threads")
        }
        // A map large enough to go in bands of tile rows (here three), batch 2 (image by image).
        do {
            let x = r.tensor([2, 40, 60, 59]), wt = r.tensor([24, 40, 3, 3]), b = r.tensor([24])
            let geo = ConvGeometry(input: x.shape, weight: wt.shape, stride: 1, padding: Padding2D(1, 1), dilation: 1, groups: 1)
            expectClose(winogradForward(x, WinogradFilter(weight: wt), b, geo, activation: .relu).data,
                        conv2dNaive(x, wt, b, geo).data.map(Activation.relu.naive), atol: 2e-4, rtol: 1e-4, "banded winograd")
        }
        // Large maps transform the weight on the spot.
        let x = r.tensor([1, 5, 33, 34]), wt = r.tensor([7, 5, 3, 3]), b = r.tensor([7])
        let geo = ConvGeometry(input: x.shape, weight: wt.shape, stride: 1, padding: Padding2D(1, 1), dilation: 1, groups: 1)
        #expect(geo.p * geo.q >= winogradOnTheSpotArea)
        expectClose(conv2dForward(x, wt, b, geo).data, conv2dNaive(x, wt, b, geo).data, atol: 1e-4, rtol: 1e-4)
        expectClose(conv2dForward(x, wt, b, geo).data, winogradForward(x, WinogradFilter(weight: wt), b, geo,
                                                                       activation: .identity).data, atol: 0, rtol: 0)
    }

    /// Inference max pooling (separable, no argmax, 16 outputs at a time for strides 1 and 2) against the
    /// recording kernel: kernels 1–4, strides 1–3, rows up to 75 wide, padding up to half the kernel, ceil mode,
    /// NaN and −∞ in the input.
    /// The global average pool against a double-precision mean, on planes that end after each of its steps (32-float,
    /// 16-float, scalar tail): 1, 15, 16, 31, 32, 49 (7×7), 100, 196 (14×14) and 3136 (56×56) values.
    @Test func globalAveragePoolMatchesDoubleMean() {
        var r = SeededRandom(seed: 52)
        for (h, w) in [(1, 1), (3, 5), (4, 4), (1, 31), (4, 8), (7, 7), (10, 10), (14, 14), (56, 56)] {
            let x = r.tensor([2, 3, h, w])
            let y = globalAvgPoolForward(x)
            let want = (0..<6).map { plane in
                Float((0..<(h * w)).reduce(0.0) { $0 + Double(x.data[plane * h * w + $1]) } / Double(h * w))
            }
            expectClose(y.data, want, atol: 1e-6, rtol: 1e-5, "global average pool \(h)×\(w)")
        }
    }

    @Test func maxPoolValuesMatchTheArgmaxKernel() {
        var r = SeededRandom(seed: 51)
        for trial in 0..<40 {
            let kh = Int.random(in: 1...4, using: &r), kw = trial % 3 == 0 ? Int.random(in: 1...4, using: &r) : kh
            let stride = Size2D(Int.random(in: 1...3, using: &r), Int.random(in: 1...3, using: &r))
            let padding = Size2D(Int.random(in: 0...kh / 2, using: &r), Int.random(in: 0...kw / 2, using: &r))
            var x = r.tensor([Int.random(in: 1...2, using: &r), Int.random(in: 1...5, using: &r),
                              Int.random(in: kh...19, using: &r), Int.random(in: kw...(trial % 2 == 1 ? 75 : 23), using: &r)])
            if trial % 4 == 1 { x.data[Int.random(in: 0..<x.count, using: &r)] = .nan }
            if trial % 4 == 2 { x.data[Int.random(in: 0..<x.count, using: &r)] = -.infinity }
            let geo = PoolGeometry(x.shape, kernel: Size2D(kh, kw), stride: stride, padding: padding, ceilMode: trial % 2 == 0)
            let fast = maxPoolValues(x, geo), (reference, _) = maxPoolForward(x, geo)
            #expect(fast.shape == reference.shape)
            #expect(zip(fast.data, reference.data).allSatisfy { $0 == $1 || ($0.isNaN && $1.isNaN) },
                    "max pool trial \(trial): kernel \(kh)×\(kw) stride \(stride) padding \(padding)")
        }
    }

    /// The padded-plane backward kernels (d x by scattering into a padded plane, d weight by whole-plane dot
    /// products) against the per-row generic ones, on widths that exercise the 16-lane loops, their tails and
    /// padding wider than the kernel reaches; and the same bits with one and two threads.
    @Test func depthwiseBackwardFastPathsMatchGeneric() {
        var r = SeededRandom(seed: 28)
        for trial in 0..<40 {
            let k = trial % 2 == 0 ? 3 : 5, stride = (trial / 2) % 2 + 1
            let c = Int.random(in: 1...4, using: &r), mult = trial % 5 == 0 ? 2 : 1
            let h = Int.random(in: k...23, using: &r), w = Int.random(in: k...37, using: &r)
            let pad = Padding2D(top: Int.random(in: 0...k / 2, using: &r), bottom: Int.random(in: 0...k / 2 + 1, using: &r),
                                left: Int.random(in: 0...k / 2, using: &r), right: Int.random(in: 0...k / 2 + 1, using: &r))
            let x = r.tensor([Int.random(in: 1...3, using: &r), c, h, w]), wt = r.tensor([c * mult, 1, k, k])
            let geo = ConvGeometry(input: x.shape, weight: wt.shape, stride: Size2D(stride, stride), padding: pad,
                                   dilation: 1, groups: c)
            let dy = r.tensor(geo.outputShape)
            #expect(depthwiseUsesPaddedPlanes(geo))
            let dx = depthwiseBackwardInputPadded(dy, wt, geo), dxRef = depthwiseBackwardInputGeneric(dy, wt, geo)
            #expect(dx.shape == dxRef.shape)
            expectClose(dx.data, dxRef.data, atol: 1e-5, rtol: 1e-5, "d x trial \(trial) \(geo)")
            let dw = depthwiseBackwardWeightPadded(dy, x, geo), dwRef = depthwiseBackwardWeightGeneric(dy, x, geo)
            #expect(dw.shape == dwRef.shape)
            expectClose(dw.data, dwRef.data, atol: 1e-4, rtol: 1e-5, "d w trial \(trial) \(geo)")
            if trial % 8 == 0 {
                let saved = Engine.threads
                Engine.threads = 1
                let (dx1, dw1) = (depthwiseBackwardInputPadded(dy, wt, geo), depthwiseBackwardWeightPadded(dy, x, geo))
                Engine.threads = 2
                let (dx2, dw2) = (depthwiseBackwardInputPadded(dy, wt, geo), depthwiseBackwardWeightPadded(dy, x, geo))
                Engine.threads = saved
                #expect(dx1.data == dx2.data && dw1.data == dw2.data, "thread-count independence, trial \(trial)")
            }
        }
    }
}

// MARK: - Squeeze-excite folding

extension KernelTests {
    /// conv2d(x, inputScale: s) equals conv2d(x ⊙ s) in inference (weights folded) and when recording
    /// (multiply then conv, with gradients through both).
    @Test(arguments: [1, 3]) func inputScaledPointwiseConvMatchesMultiplyThenConv(batch: Int) {
        var r = SeededRandom(seed: 27)
        // 4 output channels over 5×7 scale the weights; 9 over 2×3 scale the input instead.
        for (k, h, width) in [(4, 5, 7), (9, 2, 3)] {
            let x = r.tensor([batch, 6, h, width]), w = r.tensor([k, 6, 1, 1]), b = r.tensor([k])
            let s = r.tensor([batch, 6, 1, 1])
            for recording in [false, true] {
                let g = Graph(recording: recording)
                let xv = g.input(x), sv = g.input(s)
                let fused = g.conv2d(xv, weight: Variable(w), bias: Variable(b), activation: .silu, inputScale: sv)
                let reference = g.conv2d(g.multiply(xv, sv), weight: Variable(w), bias: Variable(b), activation: .silu)
                expectClose(fused.tensor.data, reference.tensor.data, atol: 1e-5, rtol: 1e-5, "recording \(recording)")
                if recording {
                    let a = g.backward(from: fused, to: [xv, sv])
                    g.zeroGradients()
                    let bgrads = g.backward(from: reference, to: [xv, sv])
                    expectClose(a[0].data, bgrads[0].data, atol: 1e-6, rtol: 1e-5, "d x")
                    expectClose(a[1].data, bgrads[1].data, atol: 1e-6, rtol: 1e-5, "d scale")
                }
            }
        }
    }
}
