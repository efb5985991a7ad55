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
@discardableResult
public func runProcess(_ program: String, _ arguments: [String], environment: [String: String]? = nil,
                       stdin: Data? = nil) throws -> ProcessResult {
    let process = Process()
    if program.hasPrefix("/") {
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = arguments
    } else {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [program] + arguments
    }
    if let environment { process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
    let out = Pipe(), err = Pipe(), input = Pipe()
    process.standardOutput = out
    process.standardError = err
    process.standardInput = stdin == nil ? FileHandle.nullDevice : input
    try process.run()
    if let stdin { input.fileHandleForWriting.write(stdin); try? input.fileHandleForWriting.close() }
    // Read both pipes concurrently so a chatty child never blocks on a full pipe.
    nonisolated(unsafe) var errData = Data()
    let group = DispatchGroup()
    group.enter()
    DispatchQueue.global().async { errData = err.fileHandleForReading.readDataToEndOfFile(); group.leave() }
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    group.wait()
    process.waitUntilExit()
    return ProcessResult(status: process.terminationStatus, stdout: outData,
                         stderr: String(decoding: errData, as: UTF8.self))
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
