// MARK: - Values of the restricted unpickler

/// A value on the unpickler's stack. Containers are reference types because pickles mutate a container after
/// memoising it (EMPTY_DICT, BINPUT, … SETITEMS) and later BINGETs must see the filled one.
enum PickleValue {
    case none
    case bool(Bool)
    case int(Int)
    /// An integer too wide for Int (the legacy magic number is 80 bits): little-endian two's complement bytes.
    case bigInt([UInt8])
    case float(Double)
    case string(String)
    case bytes([UInt8])
    case tuple(PickleArray)
    case list(PickleArray)
    case set(PickleArray)
    case dict(PickleDict)
    /// A class or function named by GLOBAL / STACK_GLOBAL, never imported.
    case global(module: String, name: String)
    /// An instance of a class that was not on the allow-list: inert, its constructor arguments and state kept.
    case object(PickleObject)
    case storage(StorageRef)
    case tensor(TensorRef)

    var typeName: String {
        switch self {
        case .none: return "None"
        case .bool: return "bool"
        case .int, .bigInt: return "int"
        case .float: return "float"
        case .string: return "str"
        case .bytes: return "bytes"
        case .tuple: return "tuple"
        case .list: return "list"
        case .set: return "set"
        case .dict: return "dict"
        case let .global(module, name): return "\(module).\(name)"
        case let .object(o): return "\(o.module).\(o.name) object"
        case .storage: return "storage"
        case .tensor: return "tensor"
        }
    }

    var int: Int? { if case let .int(v) = self { return v }; if case let .bool(b) = self { return b ? 1 : 0 }; return nil }
    var string: String? {
        switch self {
        case let .string(s): return s
        // Python 2 era pickles carry some names as byte strings.
        case let .bytes(b): return String(decoding: b, as: UTF8.self)
        default: return nil
        }
    }
    var items: [PickleValue]? {
        switch self {
        case let .tuple(a), let .list(a), let .set(a): return a.items
        default: return nil
        }
    }
    var dict: PickleDict? { if case let .dict(d) = self { return d }; return nil }
}

/// Something the unpickler allocated; emptied after use so cyclic or deeply nested graphs free without recursion.
protocol PickleContainer: AnyObject { func clear() }

final class PickleArray: PickleContainer {
    var items: [PickleValue]
    init(_ items: [PickleValue]) { self.items = items }
    func clear() { items = [] }
}

/// An insertion-ordered dictionary. Keys that are str or int are indexed; other keys are kept but never replace.
final class PickleDict: PickleContainer {
    private(set) var keys: [PickleValue] = []
    private(set) var values: [PickleValue] = []
    private var index: [String: Int] = [:]
    /// State from BUILD (an OrderedDict's `_metadata`); kept, never interpreted.
    var attributes: PickleValue?

    var count: Int { keys.count }
    var pairs: Zip2Sequence<[PickleValue], [PickleValue]> { zip(keys, values) }

    private static func hashKey(_ key: PickleValue) -> String? {
        switch key {
        case let .string(s): return "s" + s
        case let .int(i): return "i\(i)"
        default: return nil
        }
    }

    func set(_ key: PickleValue, _ value: PickleValue) {
        if let h = PickleDict.hashKey(key) {
            if let i = index[h] { values[i] = value; return }
            index[h] = keys.count
        }
        keys.append(key)
        values.append(value)
    }

    subscript(key: String) -> PickleValue? { index["s" + key].map { values[$0] } }

    func clear() { keys = []; values = []; index = [:]; attributes = nil }
}

/// An inert stand-in for an instance of a class deepscope will not construct (a pickled `nn.Module`, an optimizer,
/// an argparse Namespace). Its arguments and BUILD state are recorded so whole modules can be walked.
final class PickleObject: PickleContainer {
    let module: String
    let name: String
    var arguments: [PickleValue]
    var state: PickleValue?
    /// Items appended or set on the object (subclasses of list or dict).
    var extra: [PickleValue] = []

    init(module: String, name: String, arguments: [PickleValue]) {
        self.module = module
        self.name = name
        self.arguments = arguments
    }

    func clear() { arguments = []; state = nil; extra = [] }
}

/// A storage named by a checkpoint's persistent id: a record key, an element type, and (legacy views) an
/// element offset into the root storage.
struct StorageRef {
    var key: String
    var dtype: DType
    var elementCount: Int
    var elementOffset: Int = 0
}

/// A tensor as `_rebuild_tensor_v2` describes it; the data is read only after the whole pickle is validated.
struct TensorRef {
    var storage: StorageRef
    var view: StridedView
}
