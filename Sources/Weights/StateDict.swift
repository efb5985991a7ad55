// MARK: - Finding the state dict in a checkpoint

/// Finds the tensors in an unpickled checkpoint: a state dict at top level, nested under a wrapper key
/// (`{"state_dict": …}`, `{"net": …}`, …), or a whole pickled `nn.Module` walked through its `_parameters`,
/// `_buffers` and `_modules` as `state_dict()` would.
enum StateDict {
    /// Wrapper keys tried in order; the first that leads to tensors wins.
    static let wrapperKeys = ["state_dict", "model_state_dict", "model", "network", "net"]
    /// Guards against hostile nesting; real checkpoints are a handful of levels deep.
    static let maxDepth = 48

    static func extract(_ root: PickleValue) throws -> (path: String, entries: [(String, TensorRef)]) {
        var visited = Set<ObjectIdentifier>()
        guard let (path, entries) = find(root, depth: 0, visited: &visited), !entries.isEmpty else {
            throw WeightsError.noTensors("the checkpoint holds a \(root.typeName) with no tensors in it")
        }
        var seen = Set<String>()
        for (name, _) in entries where !seen.insert(name).inserted {
            throw WeightsError.corrupt("two tensors are both named '\(name)'")
        }
        return (path.joined(separator: "."), entries)
    }

    private static func find(_ value: PickleValue, depth: Int, visited: inout Set<ObjectIdentifier>)
        -> (path: [String], entries: [(String, TensorRef)])? {
        guard depth < maxDepth else { return nil }
        switch value {
        case let .tensor(t): return ([], [("", t)])
        case let .dict(d):
            for key in wrapperKeys {
                if let inner = d[key], let (path, entries) = find(inner, depth: depth + 1, visited: &visited), !entries.isEmpty {
                    return ([key] + path, entries)
                }
            }
            let direct: [(String, TensorRef)] = d.pairs.compactMap { k, v in
                guard let name = k.string, case let .tensor(t) = v else { return nil }
                return (name, t)
            }
            if !direct.isEmpty { return ([], direct) }
            var all: [(String, TensorRef)] = []
            flatten(value, prefix: "", depth: depth, visited: &visited, into: &all)
            return ([], all)
        default:
            var all: [(String, TensorRef)] = []
            flatten(value, prefix: "", depth: depth, visited: &visited, into: &all)
            return ([], all)
        }
    }

    /// Every tensor under `value`, named by dotted paths; modules are walked as `state_dict()` would.
    private static func flatten(_ value: PickleValue, prefix: String, depth: Int, visited: inout Set<ObjectIdentifier>,
                                into out: inout [(String, TensorRef)]) {
        guard depth < maxDepth else { return }
        func name(_ key: String) -> String { prefix.isEmpty ? key : prefix + key }
        switch value {
        case let .tensor(t): out.append((prefix.hasSuffix(".") ? String(prefix.dropLast()) : prefix, t))
        case let .dict(d):
            guard visited.insert(ObjectIdentifier(d)).inserted else { return }
            for (k, v) in d.pairs {
                guard let key = k.string ?? k.int.map(String.init) else { continue }
                flatten(v, prefix: name(key) + ".", depth: depth + 1, visited: &visited, into: &out)
            }
        case let .list(a), let .tuple(a):
            guard visited.insert(ObjectIdentifier(a)).inserted else { return }
            for (i, v) in a.items.enumerated() {
                flatten(v, prefix: name(String(i)) + ".", depth: depth + 1, visited: &visited, into: &out)
            }
        case let .object(o):
            guard visited.insert(ObjectIdentifier(o)).inserted, let state = moduleState(o) else { return }
            walkModule(state, prefix: prefix, depth: depth + 1, visited: &visited, into: &out)
        default: return
        }
    }

    /// The `__dict__` of a pickled `nn.Module`, recognised by its `_parameters` entry.
    private static func moduleState(_ o: PickleObject) -> PickleDict? {
        var state = o.state
        if let items = state?.items, let first = items.first { state = first }  // (dict, slotstate)
        guard let d = state?.dict, d["_parameters"] != nil else { return nil }
        return d
    }

    /// Parameters, then persistent buffers, then submodules: `state_dict()`'s order.
    private static func walkModule(_ state: PickleDict, prefix: String, depth: Int, visited: inout Set<ObjectIdentifier>,
                                   into out: inout [(String, TensorRef)]) {
        guard depth < maxDepth else { return }
        let skipped = Set((state["_non_persistent_buffers_set"]?.items ?? []).compactMap(\.string))
        for group in ["_parameters", "_buffers"] {
            for (k, v) in state[group]?.dict?.pairs.map({ $0 }) ?? [] {
                guard let key = k.string, case let .tensor(t) = v else { continue }
                if group == "_buffers", skipped.contains(key) { continue }
                out.append((prefix + key, t))
            }
        }
        for (k, v) in state["_modules"]?.dict?.pairs.map({ $0 }) ?? [] {
            guard let key = k.string, case let .object(child) = v,
                  visited.insert(ObjectIdentifier(child)).inserted, let childState = moduleState(child) else { continue }
            walkModule(childState, prefix: prefix + key + ".", depth: depth + 1, visited: &visited, into: &out)
        }
    }
}

// MARK: - Key normalisation

extension TensorFile {
    /// Prefixes that wrappers add to every key: `nn.DataParallel` (`module.`) and detector frameworks that keep
    /// the network as `self.backbone`.
    public static let wrapperPrefixes = ["module.", "backbone."]

    /// Removes each of `prefixes` while *every* key carries it (a prefix on only some keys is meaningful and
    /// kept), recording what was removed in `removedPrefixes`.
    ///
    /// Example: keys `module.conv1.weight`, `module.fc.bias` become `conv1.weight`, `fc.bias`.
    public func removingCommonPrefixes(_ prefixes: [String] = TensorFile.wrapperPrefixes) -> TensorFile {
        var copy = self
        var changed = true
        while changed, !copy.entries.isEmpty {
            changed = false
            for p in prefixes where copy.entries.allSatisfy({ $0.name.hasPrefix(p) && $0.name.count > p.count }) {
                copy.entries = copy.entries.map { e in
                    var e = e
                    e.name = String(e.name.dropFirst(p.count))
                    return e
                }
                copy.removedPrefixes.append(p)
                changed = true
            }
        }
        return copy
    }
}
