// Engine: the global thread setting shared by OpenBLAS and the engine's own parallel loops.
import COpenBLAS
import Dispatch
import Foundation

/// Process-wide engine settings.
public enum Engine {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var storedThreads = 2
    nonisolated(unsafe) private static var blasThreadsApplied = 0

    /// Threads used by the engine's kernels, sgemm tiles included (default 2, the cores of the target machines).
    ///
    /// Results do not depend on this value: kernels split work over independent outputs only.
    public static var threads: Int {
        get {
            let stored = lock.withLock { storedThreads }
            return threadCap.map { min(max($0, 1), stored) } ?? stored
        }
        set {
            lock.withLock {
                storedThreads = max(1, newValue)
                applyBLASThreads()
            }
        }
    }

    /// A cap on `threads` for the current thread (and tasks it starts), set with `$threadCap.withValue(1) { … }`
    /// by work already spread over the workers at a coarser grain, such as one image per worker.
    @TaskLocal public static var threadCap: Int?

    /// Runs `body(i)` for i in 0..<count on the engine's workers, each call with the engine limited to one thread:
    /// coarse-grained parallelism for independent items (images of a batch), whose results are then the same as
    /// when each item runs alone.
    public static func forEachItemSingleThreaded(_ count: Int, _ body: (Int) -> Void) {
        let workers = min(threads, count)
        guard workers > 1 else {
            for item in 0..<count { body(item) }
            return
        }
        // Items are long (a whole image), so Dispatch's wake-up latency does not matter here, and the worker team
        // stays free for the ops inside other callers' jobs.
        withoutActuallyEscaping(body) { body in
            nonisolated(unsafe) let shared = body
            DispatchQueue.concurrentPerform(iterations: workers) { w in
                $threadCap.withValue(1) {
                    for item in (count * w / workers)..<(count * (w + 1) / workers) { shared(item) }
                }
            }
        }
    }

    /// Keeps OpenBLAS single-threaded: the engine runs one sgemm per tile on its own workers (Gemm.swift).
    static func prepareBLAS() {
        lock.withLock {
            if blasThreadsApplied != 1 { applyBLASThreads() }
            if !allocatorTuned { tuneAllocator(); allocatorTuned = true }
        }
    }

    nonisolated(unsafe) private static var allocatorTuned = false
    nonisolated(unsafe) private static var coreChecked = false

    /// The name of the kernels OpenBLAS runs (after the re-selection in `prepareBLAS`), for benchmark reports.
    public static var blasCoreName: String {
        prepareBLAS()
        return ds_blas_core_name().map { String(cString: $0) } ?? "unknown"
    }

    /// Activations are megabytes each and every op allocates its output. glibc serves blocks over its (adaptive,
    /// at most 32 MB) mmap threshold with fresh mappings, and gives the top of the heap back to the system once
    /// 128 KB of it is free, so each pass would fault in and zero every page again, on the calling thread while
    /// the other workers wait (a quarter of B4's batch-8 time went to the kernel's page clearing). Raising both
    /// thresholds keeps freed activations in the heap for the next op and the next pass; memory above 1 GB of
    /// free heap top still goes back.
    private static func tuneAllocator() {
        ds_tune_allocator(512 << 20, 1 << 30)
    }

    private static func applyBLASThreads() {
        if !coreChecked {
            // Before the first product: Prescott's kernels where the library does not know this CPU (see shim.h).
            _ = ds_blas_reselect_core()
            coreChecked = true
        }
        ds_blas_set_threads(1)
        blasThreadsApplied = 1
    }

    /// The fewest elements worth handing to a second worker in an elementwise loop (~a few µs of work).
    static let elementwiseChunk = 32_768

    /// Runs `body(range)` over contiguous chunks of `0..<count`, one per worker, so each worker can set up
    /// scratch memory once.
    static func parallelChunks(_ count: Int, minimumPerThread: Int = 1, _ body: (Range<Int>) -> Void) {
        let workers = min(threads, count / max(1, minimumPerThread))
        if workers <= 1 {
            if count > 0 { body(0..<count) }
            return
        }
        WorkerTeam.shared.run(parts: workers) { w in
            body((count * w / workers)..<(count * (w + 1) / workers))
        }
    }

    /// Runs `body(i)` for `i` in `0..<count`, spread over `threads` workers in contiguous chunks.
    ///
    /// Falls back to a plain loop when there is one thread or one item, so small ops pay no dispatch cost.
    static func parallelFor(_ count: Int, minimumPerThread: Int = 1, _ body: (Int) -> Void) {
        let workers = min(threads, count / max(1, minimumPerThread))
        if workers <= 1 {
            for i in 0..<count { body(i) }
            return
        }
        // Workers touch disjoint outputs only (the kernels' contract).
        WorkerTeam.shared.run(parts: workers) { w in
            let lo = count * w / workers, hi = count * (w + 1) / workers
            for i in lo..<hi { body(i) }
        }
    }
}
