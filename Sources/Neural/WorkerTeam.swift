// WorkerTeam: persistent helper threads for the engine's parallel loops.
//
// A forward pass of EfficientNet is some 250 ops, many of them 20–200 µs long. Dispatch's concurrentPerform wakes
// a parked worker for each one, and on Linux that wake-up takes ~50 µs: measured here, two 50 µs halves took 91 µs
// in all, two 20 µs halves 52 µs — slower than one thread. The team's helpers instead spin for a while after each
// job, so the next op reaches them in well under a microsecond, and only then park on a semaphore (an idle
// explorer burns no CPU).
//
// One job runs at a time. A caller that finds the team busy (another thread's job, or a loop inside a job) falls
// back to concurrentPerform, so nesting and concurrent callers stay correct. Which worker runs which part is fixed
// by the part index, so results never depend on timing.
import Dispatch
import Foundation
import Synchronization

final class WorkerTeam: @unchecked Sendable {
    /// The team for this process: one helper per core beyond the first, at most 15. On one core there are none
    /// (a spinning helper would only take the core from the caller) and every job goes to Dispatch.
    static let shared = WorkerTeam(helpers: min(max(ProcessInfo.processInfo.activeProcessorCount - 1, 0), 15))

    /// Spin iterations (an atomic load each, and a sched_yield every 1024) before a helper parks: about a
    /// millisecond.
    private static let spinLimit = 400_000

    private final class Helper: @unchecked Sendable {
        let parked = Atomic<Bool>(false)
        let wake = DispatchSemaphore(value: 0)
    }

    private let helpers: [Helper]
    private let busy = Atomic<Bool>(false)
    /// The posted job: generation << 8 | parts, read atomically so a helper sees a job's part count with the job.
    private let ticket = Atomic<Int>(0)
    private let remaining = Atomic<Int>(0)
    /// The job's body: written before the ticket is posted, read only by helpers that take part, so it cannot
    /// change while one of them runs it (the caller waits for all of them first).
    private var body: ((Int) -> Void)?

    private init(helpers count: Int) {
        helpers = (0..<count).map { _ in Helper() }
        for (i, helper) in helpers.enumerated() {
            let thread = Thread { [unowned self] in self.serve(part: i + 1, helper) }
            thread.name = "deepscope-engine-\(i + 1)"
            thread.start()
        }
    }

    /// Runs `body(part)` for part in 0..<parts, part 0 on the calling thread, and returns when all have finished.
    func run(parts: Int, _ body: (Int) -> Void) {
        guard parts > 1 else {
            if parts == 1 { body(0) }
            return
        }
        guard parts <= helpers.count + 1,
              busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else {
            withoutActuallyEscaping(body) { escapable in
                // Parts touch disjoint outputs only (the kernels' contract), so sharing the closure is safe.
                nonisolated(unsafe) let shared = escapable
                DispatchQueue.concurrentPerform(iterations: parts) { shared($0) }
            }
            return
        }
        withoutActuallyEscaping(body) { escapable in
            self.body = escapable
            remaining.store(parts - 1, ordering: .sequentiallyConsistent)
            let generation = (ticket.load(ordering: .relaxed) >> 8) + 1
            ticket.store(generation << 8 | parts, ordering: .sequentiallyConsistent)
            for helper in helpers.prefix(parts - 1) where helper.parked.exchange(false, ordering: .sequentiallyConsistent) {
                helper.wake.signal()
            }
            escapable(0)
            var spins = 0
            while remaining.load(ordering: .acquiring) > 0 {
                spins += 1
                if spins & 1023 == 0 { sched_yield() }
            }
            self.body = nil
        }
        busy.store(false, ordering: .releasing)
    }

    /// A helper's life: wait for a job (spinning, then parked), run its part if the job has one for it, repeat.
    private func serve(part: Int, _ helper: Helper) {
        // Generation 0 is the team's creation: no job can be posted before the team exists, but one may be posted
        // before this thread first runs, so the start is not read from the ticket.
        var seen = 0
        while true {
            var spins = 0
            var current = ticket.load(ordering: .acquiring)
            while current >> 8 == seen {
                spins += 1
                // Give the core away now and then: when the process has fewer cores than helpers (an affinity
                // mask, a container quota), the thread that would post the next job may need this one.
                if spins & 1023 == 0 { sched_yield() }
                if spins >= Self.spinLimit {
                    helper.parked.store(true, ordering: .sequentiallyConsistent)
                    current = ticket.load(ordering: .sequentiallyConsistent)
                    if current >> 8 != seen {
                        // A job arrived while parking. If the caller already claimed the flag it will signal:
                        // take that signal so the semaphore stays balanced.
                        if !helper.parked.exchange(false, ordering: .sequentiallyConsistent) { helper.wake.wait() }
                        break
                    }
                    helper.wake.wait()
                    spins = 0
                }
                current = ticket.load(ordering: .acquiring)
            }
            seen = current >> 8
            if part < current & 0xFF {
                body!(part)
                remaining.subtract(1, ordering: .releasing)
            }
        }
    }
}
