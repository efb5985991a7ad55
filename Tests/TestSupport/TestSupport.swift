// TestSupport: helpers shared by the test targets — tolerances, paths, temporary folders, child processes.
import Foundation
import Testing

/// The repository root (the folder holding Package.swift), found from this file's location.
public let repositoryRoot: URL = {
    var url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    while url.path != "/" {
        if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url }
        url.deleteLastPathComponent()
    }
    fatalError("Package.swift not found above \(#filePath)")
}()

/// `assets/<name>` in the repository.
public func assetURL(_ name: String) -> URL { repositoryRoot.appendingPathComponent("assets").appendingPathComponent(name) }

/// `Tests/Fixtures/<name>` in the repository.
public func fixtureURL(_ name: String) -> URL {
    repositoryRoot.appendingPathComponent("Tests/Fixtures").appendingPathComponent(name)
}

/// A fresh temporary folder, removed by the caller when it likes (tests leave them to the OS otherwise).
public func makeTemporaryDirectory(_ label: String = "deepscope-test") throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(label)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// Checks |a − b| ≤ atol + rtol·|b| elementwise and reports the worst element.
public func expectClose(_ a: [Float], _ b: [Float], atol: Float = 1e-5, rtol: Float = 1e-4,
                        _ what: String = "", sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(a.count == b.count, "\(what): count \(a.count) vs \(b.count)", sourceLocation: sourceLocation)
    guard a.count == b.count else { return }
    var worst = 0, worstExcess: Float = -.infinity
    for i in a.indices {
        let excess = abs(a[i] - b[i]) - (atol + rtol * abs(b[i]))
        if excess > worstExcess || a[i].isNaN { worstExcess = a[i].isNaN ? .infinity : excess; worst = i }
    }
    #expect(worstExcess <= 0 || a.isEmpty,
            "\(what): element \(worst): \(a.isEmpty ? 0 : a[worst]) vs \(b.isEmpty ? 0 : b[worst])",
            sourceLocation: sourceLocation)
}

/// The largest |a − b|.
public func maxAbsDifference(_ a: [Float], _ b: [Float]) -> Float {
    precondition(a.count == b.count)
    var m: Float = 0
    for i in a.indices { m = max(m, abs(a[i] - b[i])) }
    return m
}

/// The output of a finished child process.
public struct ProcessResult: Sendable {
    public var status: Int32
    public var stdout: Data
    public var stderr: String
    public var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
}

/// Runs a program (looked up on PATH when not absolute) to completion and collects its output.
///
/// Spawned with `posix_spawnp` and reaped with `waitpid` on its own pid, not with Foundation's `Process`: on Linux
/// `Process.waitUntilExit` can miss the exit of a short-lived child (a tmux client that starts a server) and
/// wait forever, which once stalled the whole suite until CI's time ran out. Output is read with `poll`, so a
/// grandchild that keeps a pipe open (a daemon) cannot block the caller: reading stops two seconds after the
/// child exits. A child still running after `timeout` seconds is killed and reported with status 124.
@discardableResult
public func runProcess(_ program: String, _ arguments: [String], environment: [String: String]? = nil,
                       stdin: Data? = nil, timeout: Double = 300) throws -> ProcessResult {
    var env = ProcessInfo.processInfo.environment
    if let environment { env.merge(environment) { $1 } }
    var outPipe: [Int32] = [0, 0], errPipe: [Int32] = [0, 0], inPipe: [Int32] = [0, 0]
    guard pipe(&outPipe) == 0, pipe(&errPipe) == 0, pipe(&inPipe) == 0 else {
        throw ChildProcessError(message: "pipe: \(String(cString: strerror(errno)))")
    }
    // Close-on-exec, so no other child spawned meanwhile keeps these pipes open (pipe2 is not in Glibc's module).
    for fd in outPipe + errPipe + inPipe { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_adddup2(&actions, inPipe[0], 0)
    posix_spawn_file_actions_adddup2(&actions, outPipe[1], 1)
    posix_spawn_file_actions_adddup2(&actions, errPipe[1], 2)
    let argv = ([program] + arguments).map { strdup($0) } + [nil]
    let envp = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
    defer { (argv + envp).forEach { free($0) } }
    // The child starts with no blocked signals and default handlers: test threads (libdispatch workers) block
    // most signals, and a child inheriting that mask would never see SIGWINCH, SIGINT or SIGTERM.
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    var none = sigset_t(), all = sigset_t()
    sigemptyset(&none)
    sigfillset(&all)
    posix_spawnattr_setsigmask(&attributes, &none)
    posix_spawnattr_setsigdefault(&attributes, &all)
    posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
    var pid: pid_t = 0
    let spawned = program.hasPrefix("/") ? posix_spawn(&pid, program, &actions, &attributes, argv, envp)
        : posix_spawnp(&pid, program, &actions, &attributes, argv, envp)
    [outPipe[1], errPipe[1], inPipe[0]].forEach { close($0) }
    guard spawned == 0 else {
        [outPipe[0], errPipe[0], inPipe[1]].forEach { close($0) }
        throw ChildProcessError(message: "cannot run \(program): \(String(cString: strerror(spawned)))")
    }
    // Small inputs only (test data): written at once, then closed so the child sees end of file.
    if let stdin, !stdin.isEmpty {
        signal(SIGPIPE, SIG_IGN)
        stdin.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = write(inPipe[1], raw.baseAddress! + offset, raw.count - offset)
                if n <= 0 { break }
                offset += n
            }
        }
    }
    close(inPipe[1])

    var out = Data(), err = Data()
    var open: [Int32] = [outPipe[0], errPipe[0]]
    var status: Int32 = 0, exited = false, exitTime = 0.0
    let start = Date().timeIntervalSince1970
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let now = Date().timeIntervalSince1970
        if !exited {
            var raw: Int32 = 0
            if waitpid(pid, &raw, WNOHANG) == pid {
                exited = true
                exitTime = now
                status = (raw & 0x7f) == 0 ? (raw >> 8) & 0xff : 128 + (raw & 0x7f)
            } else if now - start > timeout {
                kill(pid, SIGKILL)
                _ = waitpid(pid, &raw, 0)
                exited = true
                exitTime = now
                status = 124
            }
        }
        if open.isEmpty && exited { break }
        if exited && now - exitTime > 2 { break }
        var fds = open.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
        if !fds.isEmpty { _ = poll(&fds, nfds_t(fds.count), 20) } else { usleep(10_000) }
        for f in fds where f.revents != 0 {
            let n = read(f.fd, &buffer, buffer.count)
            if n > 0 {
                if f.fd == outPipe[0] { out.append(contentsOf: buffer[0..<n]) } else { err.append(contentsOf: buffer[0..<n]) }
            } else if n == 0 || (errno != EINTR && errno != EAGAIN) {
                open.removeAll { $0 == f.fd }
            }
        }
    }
    close(outPipe[0])
    close(errPipe[0])
    return ProcessResult(status: status, stdout: out, stderr: String(decoding: err, as: UTF8.self))
}

/// A child process could not be started.
public struct ChildProcessError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

/// Whether a program is on PATH.
public func haveProgram(_ name: String) -> Bool {
    (try? runProcess("sh", ["-c", "command -v \(name)"]).status) == 0
}

/// The built `deepscope` executable beside the test bundle (swift test builds it with the package).
public var deepscopeBinary: URL {
    let bundle = Bundle.main.bundleURL
    var dir = bundle.deletingLastPathComponent()
    for _ in 0..<4 {
        let candidate = dir.appendingPathComponent("deepscope")
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: candidate.path, isDirectory: &isDir), !isDir.boolValue { return candidate }
        dir.deleteLastPathComponent()
    }
    // Fall back to the debug build folder.
    return repositoryRoot.appendingPathComponent(".build/debug/deepscope")
}
