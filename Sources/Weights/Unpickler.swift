// MARK: - The restricted unpickler

/// A pickle virtual machine for the opcodes of protocols 0–5 that checkpoints use, which never imports or calls
/// anything. GLOBAL only names a class; REDUCE, NEWOBJ and BUILD act on an allow-list modelled on PyTorch's
/// `weights_only` unpickler (tensor rebuilding, OrderedDict, set, torch.Size, …). Any other class becomes an inert
/// `PickleObject`; a global that could run code (`os.system`, `builtins.eval`, …) stops the load with an error.
///
/// Keep the unpickler alive while walking its result: its deinit empties every container it made, so cyclic
/// or deeply nested hostile graphs are freed without recursion.
final class Unpickler {
    private var reader: ByteReader
    private var stack: [PickleValue] = []
    private var marks: [Int] = []
    private var memo: [Int: PickleValue] = [:]
    private var arena: [PickleContainer] = []
    private let persistentLoad: (PickleValue) throws -> PickleValue
    let what: String

    /// Reads one pickle starting at `offset`; `persistentLoad` resolves PERSID/BINPERSID ids.
    init(_ bytes: UnsafeRawBufferPointer, at offset: Int = 0, what: String,
         persistentLoad: @escaping (PickleValue) throws -> PickleValue = { _ in
             throw WeightsError.corrupt("unexpected persistent id in a plain pickle") }) {
        reader = ByteReader(bytes, at: offset)
        self.what = what
        self.persistentLoad = persistentLoad
    }

    deinit { for container in arena { container.clear() } }

    /// Where the next pickle (if any) starts, after `load()` has returned.
    var endOffset: Int { reader.position }

    // MARK: - Allocation

    func array(_ items: [PickleValue]) -> PickleArray {
        let a = PickleArray(items)
        arena.append(a)
        return a
    }

    func newDict() -> PickleDict {
        let d = PickleDict()
        arena.append(d)
        return d
    }

    func object(_ module: String, _ name: String, _ arguments: [PickleValue]) -> PickleValue {
        let o = PickleObject(module: module, name: name, arguments: arguments)
        arena.append(o)
        return .object(o)
    }

    // MARK: - Stack

    func corrupt(_ message: String) -> WeightsError {
        .corrupt("\(what): \(message) (pickle byte \(reader.position))")
    }

    private func pop() throws -> PickleValue {
        guard let v = stack.popLast(), stack.count >= (marks.last ?? 0) else { throw corrupt("stack underflow") }
        return v
    }

    private func top() throws -> PickleValue {
        guard let v = stack.last, stack.count > (marks.last ?? 0) else { throw corrupt("stack underflow") }
        return v
    }

    private func popMark() throws -> [PickleValue] {
        guard let mark = marks.popLast() else { throw corrupt("no MARK") }
        let items = Array(stack[mark...])
        stack.removeSubrange(mark...)
        return items
    }

    private func lineString() throws -> String { String(decoding: try reader.line("\(what) text opcode"), as: UTF8.self) }

    private func lineInt() throws -> Int {
        let text = try lineString()
        guard let v = Int(text.hasSuffix("L") ? String(text.dropLast()) : text) else { throw corrupt("bad integer '\(text.prefix(20))'") }
        return v
    }

    private func length<T: FixedWidthInteger>(_ type: T.Type) throws -> Int {
        let n = try reader.integer(T.self, "\(what) length")
        guard n >= 0, UInt64(n) <= UInt64(reader.remaining) else {
            throw WeightsError.truncated("\(what): a \(n)-byte string at pickle byte \(reader.position), \(reader.remaining) bytes left")
        }
        return Int(n)
    }

    // MARK: - Run

    /// Runs until STOP and returns the pickled object.
    func load() throws -> PickleValue {
        while true {
            let op = try reader.byte("\(what) opcode")
            switch op {
            case 0x80: _ = try reader.byte("\(what) protocol")                       // PROTO
            case 0x95: _ = try reader.integer(UInt64.self, "\(what) frame")            // FRAME: frames are inline
            case 0x2e: return try pop()                                                 // STOP
            case 0x28: marks.append(stack.count)                                       // MARK
            case 0x30: _ = try pop()                                                    // POP
            case 0x31: _ = try popMark()                                                // POP_MARK
            case 0x32: stack.append(try top())                                          // DUP

            // Constants and numbers
            case 0x4e: stack.append(.none)                                              // NONE
            case 0x88: stack.append(.bool(true))                                        // NEWTRUE
            case 0x89: stack.append(.bool(false))                                       // NEWFALSE
            case 0x4b: stack.append(.int(Int(try reader.byte("\(what) BININT1"))))       // BININT1
            case 0x4d: stack.append(.int(Int(try reader.integer(UInt16.self, "\(what) BININT2"))))
            case 0x4a: stack.append(.int(Int(try reader.integer(Int32.self, "\(what) BININT"))))
            case 0x8a: stack.append(try long(count: Int(try reader.byte("\(what) LONG1"))))
            case 0x8b: stack.append(try long(count: try length(Int32.self)))           // LONG4
            case 0x49:                                                                  // INT
                let text = try lineString()
                if text == "00" || text == "01" { stack.append(.bool(text == "01")) }
                else if let v = Int(text) { stack.append(.int(v)) } else { throw corrupt("bad INT '\(text.prefix(20))'") }
            case 0x4c: stack.append(.int(try lineInt()))                                // LONG
            case 0x47:                                                                  // BINFLOAT (big-endian)
                let bits = UInt64(bigEndian: try reader.slice(8, "\(what) BINFLOAT").loadUnaligned(as: UInt64.self))
                stack.append(.float(Double(bitPattern: bits)))
            case 0x46:                                                                  // FLOAT
                let text = try lineString()
                guard let v = Double(text) else { throw corrupt("bad FLOAT '\(text.prefix(20))'") }
                stack.append(.float(v))

            // Strings and bytes
            case 0x8c: stack.append(.string(try text(length(UInt8.self))))              // SHORT_BINUNICODE
            case 0x58: stack.append(.string(try text(length(UInt32.self))))             // BINUNICODE
            case 0x8d: stack.append(.string(try text(length(UInt64.self))))             // BINUNICODE8
            case 0x56: stack.append(.string(unescapeRawUnicode(try lineString())))      // UNICODE
            case 0x55: stack.append(.bytes(try reader.array(length(UInt8.self), what)))  // SHORT_BINSTRING
            case 0x54: stack.append(.bytes(try reader.array(length(Int32.self), what)))  // BINSTRING
            case 0x53: stack.append(.bytes(try unquote(lineString())))                  // STRING
            case 0x43: stack.append(.bytes(try reader.array(length(UInt8.self), what)))  // SHORT_BINBYTES
            case 0x42: stack.append(.bytes(try reader.array(length(UInt32.self), what))) // BINBYTES
            case 0x8e, 0x96: stack.append(.bytes(try reader.array(length(UInt64.self), what))) // BINBYTES8, BYTEARRAY8

            // Containers
            case 0x29: stack.append(.tuple(array([])))                                  // EMPTY_TUPLE
            case 0x85: stack.append(.tuple(array([try pop()])))                         // TUPLE1
            case 0x86: let b = try pop(), a = try pop(); stack.append(.tuple(array([a, b])))
            case 0x87: let c = try pop(), b = try pop(), a = try pop(); stack.append(.tuple(array([a, b, c])))
            case 0x74: stack.append(.tuple(array(try popMark())))                       // TUPLE
            case 0x5d: stack.append(.list(array([])))                                   // EMPTY_LIST
            case 0x6c: stack.append(.list(array(try popMark())))                        // LIST
            case 0x7d: stack.append(.dict(newDict()))                                   // EMPTY_DICT
            case 0x64:                                                                  // DICT
                let items = try popMark()
                let d = newDict()
                try setItems(d, items)
                stack.append(.dict(d))
            case 0x8f: stack.append(.set(array([])))                                    // EMPTY_SET
            case 0x91: stack.append(.set(array(try popMark())))                         // FROZENSET
            case 0x61: let v = try pop(); try append([v], to: try top())                // APPEND
            case 0x65: let items = try popMark(); try append(items, to: try top())      // APPENDS
            case 0x90:                                                                  // ADDITEMS
                let items = try popMark()
                guard case let .set(s) = try top() else { throw corrupt("ADDITEMS on a \(try top().typeName)") }
                s.items += items
            case 0x73: let v = try pop(), k = try pop(); try setItems(on: try top(), [k, v])  // SETITEM
            case 0x75: let items = try popMark(); try setItems(on: try top(), items)   // SETITEMS

            // Memo
            case 0x94: memo[memo.count] = try top()                                     // MEMOIZE
            case 0x71: memo[Int(try reader.byte("\(what) BINPUT"))] = try top()         // BINPUT
            case 0x72: memo[Int(try reader.integer(UInt32.self, "\(what) LONG_BINPUT"))] = try top()
            case 0x70: memo[try lineInt()] = try top()                                  // PUT
            case 0x68: stack.append(try memoGet(Int(try reader.byte("\(what) BINGET"))))
            case 0x6a: stack.append(try memoGet(Int(try reader.integer(UInt32.self, "\(what) LONG_BINGET"))))
            case 0x67: stack.append(try memoGet(try lineInt()))                         // GET

            // Globals, construction, state
            case 0x63:                                                                  // GLOBAL
                let module = try lineString(), name = try lineString()
                stack.append(try global(module, name))
            case 0x93:                                                                  // STACK_GLOBAL
                let name = try pop(), module = try pop()
                guard let n = name.string, let m = module.string else { throw corrupt("STACK_GLOBAL needs two strings") }
                stack.append(try global(m, n))
            case 0x52:                                                                  // REDUCE
                let args = try pop(), callable = try pop()
                guard let items = args.items else { throw corrupt("REDUCE arguments are a \(args.typeName), not a tuple") }
                stack.append(try call(callable, items))
            case 0x81:                                                                  // NEWOBJ
                let args = try pop(), cls = try pop()
                stack.append(try construct(cls, args.items ?? []))
            case 0x92:                                                                  // NEWOBJ_EX
                _ = try pop()
                let args = try pop(), cls = try pop()
                stack.append(try construct(cls, args.items ?? []))
            case 0x69:                                                                  // INST
                let module = try lineString(), name = try lineString()
                let items = try popMark()
                stack.append(try construct(try global(module, name), items))
            case 0x6f:                                                                  // OBJ
                var items = try popMark()
                guard !items.isEmpty else { throw corrupt("OBJ without a class") }
                let cls = items.removeFirst()
                stack.append(try construct(cls, items))
            case 0x62:                                                                  // BUILD
                let state = try pop()
                switch try top() {
                case let .object(o): o.state = state
                case let .dict(d): d.attributes = state
                default: break  // tensor or parameter state (hooks, subclass slots): nothing deepscope needs
                }
            case 0x51: stack.append(try persistentLoad(try pop()))                      // BINPERSID
            case 0x50: stack.append(try persistentLoad(.string(try lineString())))     // PERSID

            case 0x82, 0x83, 0x84: throw WeightsError.unsupported("\(what): pickle extension registry (EXT opcodes)")
            case 0x97, 0x98: throw WeightsError.unsupported("\(what): out-of-band pickle buffers")
            default:
                throw corrupt(String(format: "unknown pickle opcode 0x%02x", op))
            }
        }
    }

    // MARK: - Opcode helpers

    private func memoGet(_ key: Int) throws -> PickleValue {
        guard let v = memo[key] else { throw corrupt("memo key \(key) was never stored") }
        return v
    }

    private func text(_ count: Int) throws -> String {
        String(decoding: try reader.slice(count, "\(what) string"), as: UTF8.self)
    }

    private func long(count: Int) throws -> PickleValue {
        let bytes = try reader.array(count, "\(what) LONG")
        if bytes.isEmpty { return .int(0) }
        guard bytes.count <= 8 else { return .bigInt(bytes) }
        var v: UInt64 = bytes.last! & 0x80 != 0 ? ~0 : 0  // sign-extend
        for (i, b) in bytes.enumerated() {
            v &= ~(UInt64(0xff) << (8 * UInt64(i)))
            v |= UInt64(b) << (8 * UInt64(i))
        }
        return .int(Int(Int64(bitPattern: v)))
    }

    private func append(_ items: [PickleValue], to target: PickleValue) throws {
        switch target {
        case let .list(a): a.items += items
        case let .object(o): o.extra += items
        default: throw corrupt("APPEND to a \(target.typeName)")
        }
    }

    private func setItems(on target: PickleValue, _ items: [PickleValue]) throws {
        switch target {
        case let .dict(d): try setItems(d, items)
        case let .object(o): o.extra += items
        default: throw corrupt("SETITEM on a \(target.typeName)")
        }
    }

    private func setItems(_ d: PickleDict, _ items: [PickleValue]) throws {
        guard items.count % 2 == 0 else { throw corrupt("odd number of dictionary items") }
        for i in stride(from: 0, to: items.count, by: 2) { d.set(items[i], items[i + 1]) }
    }

    /// Python 2 `STRING` operands: a quoted repr with backslash escapes.
    private func unquote(_ s: String) throws -> [UInt8] {
        var bytes = Array(s.utf8)
        guard bytes.count >= 2, let q = bytes.first, q == bytes.last, q == UInt8(ascii: "'") || q == UInt8(ascii: "\"") else {
            throw corrupt("STRING operand is not quoted")
        }
        bytes = Array(bytes.dropFirst().dropLast())
        var out: [UInt8] = []
        var i = 0
        while i < bytes.count {
            if bytes[i] == UInt8(ascii: "\\"), i + 1 < bytes.count {
                let e = bytes[i + 1]
                i += 2
                switch e {
                case UInt8(ascii: "n"): out.append(10)
                case UInt8(ascii: "t"): out.append(9)
                case UInt8(ascii: "r"): out.append(13)
                case UInt8(ascii: "x") where i + 2 <= bytes.count:
                    out.append(UInt8(String(decoding: bytes[i..<(i + 2)], as: UTF8.self), radix: 16) ?? 0)
                    i += 2
                default: out.append(e)
                }
            } else {
                out.append(bytes[i])
                i += 1
            }
        }
        return out
    }

    private func unescapeRawUnicode(_ s: String) -> String {
        guard s.contains("\\u") || s.contains("\\U") else { return s }
        var out = String.UnicodeScalarView()
        let scalars = Array(s.unicodeScalars)
        var i = 0
        while i < scalars.count {
            if scalars[i] == "\\", i + 1 < scalars.count, scalars[i + 1] == "u" || scalars[i + 1] == "U" {
                let width = scalars[i + 1] == "u" ? 4 : 8
                let digits = String(String.UnicodeScalarView(scalars[(i + 2)..<min(i + 2 + width, scalars.count)]))
                if digits.count == width, let v = UInt32(digits, radix: 16), let u = Unicode.Scalar(v) {
                    out.append(u)
                    i += 2 + width
                    continue
                }
            }
            out.append(scalars[i])
            i += 1
        }
        return String(out)
    }
}
