import Foundation
import Testing
import TestSupport
@testable import Weights

/// The restricted unpickler runs nothing: code-running globals are refused, unknown classes stay inert.
@Suite struct UnpicklerTests {
    private func run(_ bytes: [UInt8], _ body: (PickleValue) throws -> Void = { _ in }) throws {
        try bytes.withUnsafeBytes { raw in
            let unpickler = Unpickler(raw, what: "test pickle")
            try body(try unpickler.load())
        }
    }

    /// `os.system("touch <marker>")` — what a malicious checkpoint looks like to pickle.
    private func systemCall(module: String, name: String, marker: String) -> [UInt8] {
        var p = PickleBuilder()
        p.global(module, name)
        p.mark()
        p.string("touch \(marker)")
        p.tuple()
        p.reduce()
        p.stop()
        return p.bytes
    }

    @Test(arguments: [("os", "system"), ("posix", "system"), ("subprocess", "check_output"), ("builtins", "eval"),
                      ("builtins", "exec"), ("__builtin__", "eval"), ("builtins", "__import__")])
    func codeRunningGlobalsAreRefused(_ module: String, _ name: String) throws {
        let marker = FileManager.default.temporaryDirectory.appendingPathComponent("deepscope-pwned-\(UUID().uuidString)").path
        #expect(throws: WeightsError.forbiddenGlobal("\(module).\(name)")) { try run(systemCall(module: module, name: name, marker: marker)) }
        #expect(!FileManager.default.fileExists(atPath: marker), "the pickle ran a command")
    }

    @Test func stackGlobalEvalIsRefused() throws {
        // Protocol 4 names globals with STACK_GLOBAL rather than GLOBAL.
        var p = PickleBuilder(protocol: 4)
        p.op(0x8c, 8); p.bytes += Array("builtins".utf8)
        p.op(0x8c, 4); p.bytes += Array("eval".utf8)
        p.op(0x93)
        p.string("print(1)")
        p.op(0x85)
        p.reduce()
        p.stop()
        #expect(throws: WeightsError.forbiddenGlobal("builtins.eval")) { try run(p.bytes) }
    }

    @Test func maliciousLegacyCheckpointRunsNothing() throws {
        let marker = FileManager.default.temporaryDirectory.appendingPathComponent("deepscope-pwned-\(UUID().uuidString)").path
        var bytes = [UInt8](legacyCheckpoint(storageCount: 2, offset: 0, sizes: [2], strides: [1]))
        // Replace the object pickle's first opcode run: splice os.system in front of the state dict.
        let head = 15 + 8 + 4 + 2  // the magic, version and sys_info pickles, then the object pickle's PROTO
        bytes.replaceSubrange(head..<head, with: systemCall(module: "os", name: "system", marker: marker).dropFirst(2).dropLast())
        #expect(throws: WeightsError.forbiddenGlobal("os.system")) { try TensorFile.load(data: Data(bytes)) }
        #expect(!FileManager.default.fileExists(atPath: marker))
    }

    @Test func unknownClassesBecomeInertObjects() throws {
        var p = PickleBuilder()
        p.global("__main__", "Exploit")
        p.mark(); p.string("rm -rf /"); p.tuple()
        p.reduce()
        p.mark(); p.string("x"); p.int(1); p.op(0x64)  // DICT: BUILD state
        p.op(0x62)
        p.stop()
        try run(p.bytes) { value in
            guard case let .object(o) = value else { Issue.record("expected an inert object, got \(value.typeName)"); return }
            #expect(o.module == "__main__" && o.name == "Exploit")
            #expect(o.arguments.first?.string == "rm -rf /")
            #expect(o.state?.dict?["x"]?.int == 1)
        }
    }

    @Test func memoisedContainersSeeLaterMutation() throws {
        // d = {}; memo[0] = d; l = [d, memo[0]]; then fill d — both list items must show the entry.
        var p = PickleBuilder()
        p.emptyDict()
        p.op(0x71, 0)            // BINPUT 0
        p.op(0x5d)               // EMPTY_LIST
        p.op(0x68, 0)            // BINGET 0
        p.op(0x61)               // APPEND
        p.op(0x68, 0, 0x61)      // BINGET 0, APPEND
        p.op(0x68, 0)            // BINGET 0 → d on the stack
        p.string("k"); p.int(7)
        p.op(0x73)               // SETITEM on d
        p.op(0x30)               // POP d
        p.stop()
        try run(p.bytes) { value in
            let items = value.items ?? []
            #expect(items.count == 2)
            #expect(items.allSatisfy { $0.dict?["k"]?.int == 7 })
        }
    }

    @Test func protocolZeroTextOpcodes() throws {
        // (lp0\nI42\naF1.5\naS'ab'\naVx\\u00e9\na.   — a list [42, 1.5, b'ab', 'xé'] in protocol 0
        let text = "(lp0\nI42\naF1.5\naS'ab'\naVx\\u00e9\na."
        try run(Array(text.utf8)) { value in
            let items = value.items ?? []
            #expect(items.count == 4)
            #expect(items.first?.int == 42)
            if case let .float(f)? = items.dropFirst().first { #expect(f == 1.5) } else { Issue.record("no float") }
            #expect(items.dropFirst(2).first?.string == "ab")
            #expect(items.last?.string == "xé")
        }
    }

    @Test func bigIntegersAndNegatives() throws {
        var p = PickleBuilder()
        p.mark()
        p.op(0x8a, 2, 0x00, 0x80)                         // LONG1 -32768
        p.op(0x8a, 10); p.bytes += TorchCheckpoint.legacyMagic // the 80-bit magic number
        p.int(-5)
        p.tuple()
        p.stop()
        try run(p.bytes) { value in
            let items = value.items ?? []
            #expect(items.first?.int == -32768)
            if case let .bigInt(b)? = items.dropFirst().first { #expect(b == TorchCheckpoint.legacyMagic) } else { Issue.record("no big int") }
            #expect(items.last?.int == -5)
        }
    }

    @Test func deepNestingDoesNotOverflowTheStack() throws {
        // 200 000 nested lists, then 200 000 nested tuples: freeing or walking them must not recurse.
        var p = PickleBuilder()
        p.bytes += [UInt8](repeating: 0x5d, count: 200_000)
        p.bytes += [UInt8](repeating: 0x61, count: 199_999)
        p.op(0x30)
        p.op(0x29)
        p.bytes += [UInt8](repeating: 0x85, count: 200_000)
        p.stop()
        try run(p.bytes) { value in
            #expect(throws: WeightsError.self) { try StateDict.extract(value) }
        }
    }

    @Test func cyclesDoNotHangTheWalker() throws {
        // l = []; l.append(l)
        var p = PickleBuilder()
        p.op(0x5d, 0x71, 0, 0x68, 0, 0x61)
        p.stop()
        try run(p.bytes) { value in
            #expect(throws: WeightsError.self) { try StateDict.extract(value) }
        }
    }

    @Test(arguments: [[UInt8]([0x80, 2, 0x30, 0x2e]), [0x80, 2, 0x68, 5, 0x2e], [0x80, 2, 0xff], [0x80, 2, 0x58, 0xff, 0xff, 0xff, 0x7f],
                      [0x80, 2, 0x75, 0x2e], [0x80, 2, 0x82, 1], [0x80, 2, 0x4e, 0x61, 0x2e]])
    func malformedStreamsThrow(_ bytes: [UInt8]) {
        #expect(throws: WeightsError.self) { try run(bytes) }
    }
}
