import Foundation
import TestSupport

/// A real terminal for end-to-end tests: a private tmux server running one command in one pane.
final class TmuxSession {
    let socket = "deepscope-test-\(UUID().uuidString.prefix(8))"
    private(set) var started = false

    /// Starts `command` in a detached session of the given size. The pane stays open after the command ends
    /// (remain-on-exit), so its exit status and the restored screen can be inspected. `swift test` exports
    /// NO_COLOR=1 when its output is not a terminal; the pane starts without it, as a user's shell would.
    init(command: String, columns: Int = 100, rows: Int = 30, environment: [String: String] = [:]) throws {
        var env = ""
        for (k, v) in environment.sorted(by: { $0.key < $1.key }) { env += "\(k)='\(v)' " }
        try tmux(["-f", "/dev/null", "new-session", "-d", "-s", "t", "-x", "\(columns)", "-y", "\(rows)",
                  "env -u NO_COLOR \(env)\(command); echo DEEPSCOPE-EXIT:$?; sleep 30"])
        started = true
    }

    deinit { _ = try? tmux(["kill-server"]) }

    @discardableResult
    func tmux(_ arguments: [String]) throws -> String {
        let result = try runProcess("tmux", ["-L", socket] + arguments)
        guard result.status == 0 else { throw TmuxError(message: "tmux \(arguments.joined(separator: " ")): \(result.stderr)") }
        return result.stdoutText
    }

    /// The pane's text (with `-e`, its escape sequences: colours and attributes).
    func capture(escapes: Bool = false) throws -> String {
        try tmux(["capture-pane", "-p", "-t", "t"] + (escapes ? ["-e"] : []))
    }

    func send(_ keys: String...) throws { try tmux(["send-keys", "-t", "t"] + keys) }

    func resize(columns: Int, rows: Int) throws {
        try tmux(["resize-window", "-t", "t", "-x", "\(columns)", "-y", "\(rows)"])
    }

    /// Whether the pane is in the alternate screen (curses active).
    func alternateScreenOn() throws -> Bool {
        try tmux(["display-message", "-p", "-t", "t", "#{alternate_on}"]).trimmingCharacters(in: .whitespacesAndNewlines) == "1"
    }

    /// Polls the screen until `predicate` holds or `timeout` seconds pass; returns the last capture.
    /// Generous timeouts: CI is a loaded 2-core machine; the wait ends as soon as the screen is right.
    @discardableResult
    func waitFor(timeout: Double = 60, _ predicate: (String) -> Bool) throws -> (ok: Bool, screen: String) {
        let deadline = Date().addingTimeInterval(timeout)
        var screen = ""
        while Date() < deadline {
            screen = (try? capture()) ?? ""
            if predicate(screen) { return (true, screen) }
            Thread.sleep(forTimeInterval: 0.1)
        }
        return (false, screen)
    }

    func waitFor(_ text: String, timeout: Double = 60) throws -> (ok: Bool, screen: String) {
        try waitFor(timeout: timeout) { $0.contains(text) }
    }
}

struct TmuxError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}
