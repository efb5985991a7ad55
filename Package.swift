// swift-tools-version:6.0
// deepscope: a terminal explorer for deepfake detectors. One module per layer; dependencies point one way:
// C shims → Neural → Weights → Models → Media → Faces → Detection → Explain → Graphics → Explorer → deepscope.
import PackageDescription
import Foundation

/// The instruction set the numeric modules are compiled for. deepscope is built from source on the machine that
/// runs it (scripts/dev.sh), so, like `-march=native`, it uses what this CPU has: x86-64-v4 (AVX-512) or v3
/// (AVX2+FMA) where /proc/cpuinfo lists them, else the baseline. Activations, depthwise convolutions and
/// elementwise kernels are vector loops; 16 lanes with FMA run them 2–4× faster than baseline SSE2.
/// `DEEPSCOPE_CPU=baseline` (or any LLVM CPU name) overrides it, e.g. for a binary to copy to another machine.
let targetCPU: String? = {
    if let forced = ProcessInfo.processInfo.environment["DEEPSCOPE_CPU"], !forced.isEmpty {
        return forced == "baseline" ? nil : forced
    }
    #if arch(x86_64) && os(Linux)
    guard let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
          let flagsLine = info.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) else { return nil }
    let flags = Set(flagsLine.split(separator: " ").map(String.init))
    let v3: Set = ["avx", "avx2", "fma", "bmi1", "bmi2", "f16c", "movbe"]
    let v4: Set = ["avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"]
    if flags.isSuperset(of: v3.union(v4)) { return "skylake-avx512" }
    if flags.isSuperset(of: v3) { return "haswell" }
    #endif
    return nil
}()

/// Whether that CPU has fused multiply-add: the vector kernels (activations, depthwise rows, the packed GEMM) then
/// use it (`DEEPSCOPE_FMA`). Without it they multiply and add apart, so a baseline build gives results that
/// differ from an FMA build in the last bits, never a slow per-lane fma call.
let hasFMA: Bool = {
    guard let cpu = targetCPU else { return false }
    let fmaCPUs: Set = ["haswell", "broadwell", "skylake", "skylake-avx512", "cascadelake", "cooperlake",
                        "icelake-client", "icelake-server", "tigerlake", "sapphirerapids", "alderlake",
                        "znver1", "znver2", "znver3", "znver4", "znver5", "x86-64-v3", "x86-64-v4", "native"]
    return fmaCPUs.contains(cpu)
}()

/// Numeric modules are compiled with optimisation even in debug builds: the test suite runs real models and
/// real video, and an unoptimised Swift inner loop is 30–100× slower than the same loop at -O.
let optimised: [SwiftSetting] = [.unsafeFlags(["-O"], .when(configuration: .debug))]
    + (targetCPU.map { [.unsafeFlags(["-target-cpu", $0])] } ?? [])
    + (hasFMA ? [.define("DEEPSCOPE_FMA")] : [])

let package = Package(
    name: "deepscope",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "deepscope", targets: ["deepscope"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // MARK: - System-library shims
        .systemLibrary(name: "CNcursesw", pkgConfig: "ncursesw", providers: [.apt(["libncursesw5-dev"])]),
        .systemLibrary(name: "COpenBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CFFmpeg", pkgConfig: "libavformat libavcodec libswscale libavutil",
                       providers: [.apt(["libavformat-dev", "libavcodec-dev", "libswscale-dev", "libavutil-dev"])]),
        .systemLibrary(name: "CPNG", pkgConfig: "libpng", providers: [.apt(["libpng-dev"])]),

        // MARK: - Engine and models
        .target(name: "Neural", dependencies: ["COpenBLAS"], swiftSettings: optimised),
        .target(name: "Weights", dependencies: ["Neural"], swiftSettings: optimised),
        .target(name: "Models", dependencies: ["Neural", "Weights"], swiftSettings: optimised),

        // MARK: - Pipeline
        .target(name: "Media", dependencies: ["CFFmpeg", "CPNG"], swiftSettings: optimised),
        .target(name: "Faces", dependencies: ["Neural", "Weights", "Models", "Media"], swiftSettings: optimised),
        .target(name: "Detection", dependencies: ["Neural", "Weights", "Models", "Media", "Faces"], swiftSettings: optimised),
        .target(name: "Training", dependencies: ["Neural", "Weights", "Models", "Media", "Faces", "Detection"], swiftSettings: optimised),
        .target(name: "Explain", dependencies: ["Neural", "Models", "Media", "Faces", "Detection", "Graphics"], swiftSettings: optimised),

        // MARK: - Presentation
        .target(name: "Graphics", dependencies: ["Media"], swiftSettings: optimised),
        .target(name: "Explorer", dependencies: ["CNcursesw", "Media", "Graphics", "Faces", "Detection", "Explain"]),
        .executableTarget(name: "deepscope", dependencies: [
            "Neural", "Weights", "Models", "Media", "Faces", "Detection", "Explain", "Graphics", "Explorer", "Training",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        // MARK: - Tests
        .target(name: "TestSupport", dependencies: ["Neural", "Media"], path: "Tests/TestSupport"),
        .testTarget(name: "NeuralTests", dependencies: ["Neural", "TestSupport"]),
        .testTarget(name: "WeightsTests", dependencies: ["Weights", "Neural", "TestSupport"]),
        .testTarget(name: "ModelsTests", dependencies: ["Models", "Weights", "Neural", "TestSupport"]),
        .testTarget(name: "MediaTests", dependencies: ["Media", "TestSupport"]),
        .testTarget(name: "FacesTests", dependencies: ["Faces", "Media", "Models", "Weights", "Neural", "TestSupport"]),
        .testTarget(name: "GraphicsTests", dependencies: ["Graphics", "Media", "TestSupport"]),
        .testTarget(name: "ExplorerTests", dependencies: ["Explorer", "Graphics", "Media", "Faces", "Detection", "Explain", "TestSupport"]),
        .testTarget(name: "ExplainTests", dependencies: ["Explain", "Models", "Weights", "Neural", "Media", "Graphics", "TestSupport"]),
        .testTarget(name: "EndToEndTests", dependencies: ["TestSupport", "Media"]),
        .testTarget(name: "TrainingTests", dependencies: ["Training", "Detection", "Models", "Weights", "Neural", "Media", "Faces", "TestSupport"]),
        .testTarget(name: "ExplainSHAPTests", dependencies: ["Explain", "Models", "Weights", "Neural", "Media", "TestSupport"]),
        .testTarget(name: "DetectionTests", dependencies: ["Detection", "Faces", "Media", "Models", "Weights", "Neural", "TestSupport"]),
    ]
)
