// Asking the terminal on /dev/tty (device attributes, cell size), with termios raw mode restored on every path.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension TerminalCapabilities {
    // MARK: - Queries

    /// Sends Primary Device Attributes (`ESC [ c`) to `/dev/tty` and returns the reply's parameters.
    ///
    /// Returns nil when there is no terminal, it does not answer within `timeout` seconds, or the reply is
    /// malformed. The terminal's termios settings are restored before returning.
    public static func queryDA1(timeout: Double = 0.2) -> [Int]? {
        guard let reply = queryTerminal(EscapeSequence.primaryDeviceAttributes, until: UInt8(ascii: "c"),
                                        timeout: timeout) else { return nil }
        return parseDA1(reply)
    }

    /// Sends XTWINOPS 16 (`ESC [ 16 t`) and returns the cell size in pixels, when the terminal reports it.
    public static func queryCellSize(timeout: Double = 0.2) -> (width: Int, height: Int)? {
        guard let reply = queryTerminal(EscapeSequence.cellSizeQuery, until: UInt8(ascii: "t"),
                                        timeout: timeout) else { return nil }
        return parseCellSize(reply)
    }

    // MARK: - Reply parsing

    /// The parameters of a DA1 reply `ESC [ ? p1 ; p2 ; … c` found anywhere in `bytes`.
    static func parseDA1(_ bytes: [UInt8]) -> [Int]? {
        guard let body = csiBody(in: bytes, prefix: [0x1B, UInt8(ascii: "["), UInt8(ascii: "?")],
                                 final: UInt8(ascii: "c")) else { return nil }
        return parameters(body)
    }

    /// The `(width, height)` of a cell-size reply `ESC [ 6 ; height ; width t` found anywhere in `bytes`.
    static func parseCellSize(_ bytes: [UInt8]) -> (width: Int, height: Int)? {
        guard let body = csiBody(in: bytes, prefix: [0x1B, UInt8(ascii: "[")], final: UInt8(ascii: "t")),
              let values = parameters(body), values.count == 3, values[0] == 6,
              values[1] > 0, values[2] > 0 else { return nil }
        return (values[2], values[1])
    }

    /// The bytes between `prefix` and the first `final` after it.
    private static func csiBody(in bytes: [UInt8], prefix: [UInt8], final: UInt8) -> ArraySlice<UInt8>? {
        guard bytes.count >= prefix.count else { return nil }
        for start in 0...(bytes.count - prefix.count) where Array(bytes[start..<start + prefix.count]) == prefix {
            let bodyStart = start + prefix.count
            guard let end = bytes[bodyStart...].firstIndex(of: final) else { return nil }
            return bytes[bodyStart..<end]
        }
        return nil
    }

    /// Decimal parameters separated by `;`; nil when anything else appears.
    private static func parameters(_ body: ArraySlice<UInt8>) -> [Int]? {
        var values: [Int] = []
        for field in body.split(separator: UInt8(ascii: ";"), omittingEmptySubsequences: false) {
            guard !field.isEmpty, field.count <= 9,
                  field.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else { return nil }
            values.append(field.reduce(0) { $0 * 10 + Int($1 - UInt8(ascii: "0")) })
        }
        return values
    }

    // MARK: - /dev/tty

    /// Writes `request` to the controlling terminal in raw mode and reads until `terminator` or `timeout`.
    private static func queryTerminal(_ request: String, until terminator: UInt8, timeout: Double) -> [UInt8]? {
        let fd = open("/dev/tty", O_RDWR | O_NOCTTY)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var saved = termios()
        guard tcgetattr(fd, &saved) == 0 else { return nil }
        // Restores the user's settings however we leave: reply, timeout or error.
        defer { _ = tcsetattr(fd, TCSANOW, &saved) }
        var raw = saved
        raw.c_lflag &= ~tcflag_t(ICANON | ECHO)
        withUnsafeMutableBytes(of: &raw.c_cc) { cc in
            cc[Int(VMIN)] = 0
            cc[Int(VTIME)] = 0
        }
        guard tcsetattr(fd, TCSANOW, &raw) == 0 else { return nil }

        let bytes = Array(request.utf8)
        guard bytes.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) == bytes.count else { return nil }

        var reply: [UInt8] = []
        let deadline = monotonicSeconds() + timeout
        var buffer = [UInt8](repeating: 0, count: 64)
        while reply.count < 256 {
            let left = deadline - monotonicSeconds()
            guard left > 0 else { return nil }
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&pfd, 1, Int32(max(1, left * 1000)))
            if ready < 0 && errno == EINTR { continue }
            guard ready > 0 else { return nil }
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            guard n > 0 else { return nil }
            reply.append(contentsOf: buffer[0..<n])
            if buffer[0..<n].contains(terminator) { return reply }
        }
        return nil
    }

    private static func monotonicSeconds() -> Double {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Double(now.tv_sec) + Double(now.tv_nsec) * 1e-9
    }
}
