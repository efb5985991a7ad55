// MARK: - The allow-list

/// Globals that could run code if a real unpickler resolved them. Naming one is refused outright: no honest
/// checkpoint needs them, and a clear error is more useful than a silently inert placeholder.
private let forbiddenModules: Set<String> = [
    "os", "posix", "nt", "subprocess", "sys", "shutil", "socket", "importlib", "runpy", "pickle", "_pickle",
    "marshal", "ctypes", "code", "codeop", "pty", "webbrowser", "multiprocessing", "asyncio", "commands", "signal",
]
private let forbiddenBuiltins: Set<String> = [
    "eval", "exec", "execfile", "compile", "__import__", "open", "file", "getattr", "setattr", "delattr",
    "globals", "locals", "vars", "input", "breakpoint", "apply", "reload",
]

extension Unpickler {
    /// Resolves GLOBAL module.name to an inert name, refusing code-running ones.
    func global(_ module: String, _ name: String) throws -> PickleValue {
        let root = module.split(separator: ".").first.map(String.init) ?? module
        if forbiddenModules.contains(root)
            || ((module == "builtins" || module == "__builtin__") && forbiddenBuiltins.contains(name))
            || module.hasPrefix("torch.hub") || (module == "torch" && (name == "load" || name == "hub"))
            || (name.hasPrefix("__") && name.hasSuffix("__") && !name.hasPrefix("__newobj")) {
            throw WeightsError.forbiddenGlobal("\(module).\(name)")
        }
        return .global(module: module, name: name)
    }

    /// REDUCE: calls an allow-listed function, or records an inert object for anything else.
    func call(_ callable: PickleValue, _ args: [PickleValue]) throws -> PickleValue {
        guard case let .global(module, name) = callable else {
            return object("?", callable.typeName, args)
        }
        switch (module, name) {
        case ("torch._utils", "_rebuild_tensor"), ("torch._utils", "_rebuild_tensor_v2"),
             ("torch._utils", "_rebuild_tensor_v3"):
            return try rebuildTensor(args, withDType: name == "_rebuild_tensor_v3")
        case ("torch._utils", "_rebuild_parameter"), ("torch._utils", "_rebuild_parameter_with_state"),
             ("torch.nn.parameter", "Parameter"):
            // A Parameter is its data tensor; requires_grad and hooks mean nothing here.
            guard let data = args.first else { throw corrupt("\(name) without a tensor") }
            return data
        case ("torch._tensor", "_rebuild_from_type_v2"):
            // (func, new_type, args, state): rebuild with func; the subclass type is dropped.
            guard args.count >= 3, let inner = args[2].items else { throw corrupt("_rebuild_from_type_v2 arguments") }
            return try call(args[0], inner)
        case ("collections", "OrderedDict"), ("builtins", "dict"), ("__builtin__", "dict"),
             ("collections", "defaultdict"), ("collections", "Counter"):
            let d = newDict()
            if name != "defaultdict", let pairs = args.first?.items {
                for pair in pairs {
                    guard let kv = pair.items, kv.count == 2 else { throw corrupt("\(name) item is not a pair") }
                    d.set(kv[0], kv[1])
                }
            }
            return .dict(d)
        case ("builtins", "set"), ("__builtin__", "set"), ("builtins", "frozenset"), ("__builtin__", "frozenset"):
            return .set(array(args.first?.items ?? []))
        case ("builtins", "list"), ("__builtin__", "list"):
            return .list(array(args.first?.items ?? []))
        case ("builtins", "tuple"), ("__builtin__", "tuple"), ("torch", "Size"):
            return .tuple(array(args.first?.items ?? []))
        case ("torch", "device"):
            return .string(args.compactMap { $0.string ?? $0.int.map(String.init) }.joined(separator: ":"))
        case ("_codecs", "encode"):
            // Protocol 2 pickles Python 3 bytes as encode(latin-1 text, "latin1").
            guard let text = args.first?.string else { throw corrupt("_codecs.encode without text") }
            return .bytes(text.unicodeScalars.map { UInt8(truncatingIfNeeded: $0.value) })
        case ("builtins", "bytearray"), ("__builtin__", "bytearray"), ("builtins", "bytes"):
            return args.first ?? .bytes([])
        case ("copyreg", "_reconstructor"), ("copy_reg", "_reconstructor"):
            // (cls, base, state): the protocol-0/1 way to make an instance of cls.
            guard case let .global(m, n)? = args.first else { throw corrupt("_reconstructor without a class") }
            return object(m, n, Array(args.dropFirst()))
        default:
            return object(module, name, args)
        }
    }

    /// NEWOBJ / INST / OBJ: `cls.__new__(cls, *args)`. Allow-listed containers are made real; any other class
    /// becomes an inert object.
    func construct(_ cls: PickleValue, _ args: [PickleValue]) throws -> PickleValue {
        guard case let .global(module, name) = cls else { return object("?", cls.typeName, args) }
        switch (module, name) {
        case ("collections", "OrderedDict"), ("builtins", "dict"), ("__builtin__", "dict"), ("builtins", "set"),
             ("builtins", "frozenset"), ("builtins", "list"), ("torch", "Size"), ("torch.nn.parameter", "Parameter"),
             ("collections", "defaultdict"), ("collections", "Counter"):
            return try call(cls, args)
        default:
            return object(module, name, args)
        }
    }

    // MARK: - Tensors

    /// `_rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])`,
    /// or v3 with a dtype after the hooks. Only the description is kept; data is read and checked later.
    private func rebuildTensor(_ args: [PickleValue], withDType: Bool) throws -> PickleValue {
        guard args.count >= 4, case var .storage(storage) = args[0] else {
            throw corrupt("tensor rebuild needs (storage, offset, size, stride), got \(args.map(\.typeName))")
        }
        guard let offset = args[1].int, let sizes = args[2].items?.map(\.int), let strides = args[3].items?.map(\.int),
              sizes.count <= 64, strides.count == sizes.count else {
            throw corrupt("tensor rebuild has malformed offset, sizes or strides")
        }
        let shape = sizes.compactMap { $0 }, stride = strides.compactMap { $0 }
        guard shape.count == sizes.count, stride.count == strides.count else { throw corrupt("non-integer tensor size or stride") }
        if withDType, args.count >= 7, case let .global("torch", dtypeName) = args[6], let dtype = DType(torchDType: dtypeName),
           dtype != storage.dtype {
            // v3 pairs an untyped (byte) storage with the tensor's dtype.
            storage.elementCount = storage.elementCount * storage.dtype.size / dtype.size
            storage.elementOffset = storage.elementOffset * storage.dtype.size / dtype.size
            storage.dtype = dtype
        }
        return .tensor(TensorRef(storage: storage, view: StridedView(offset: offset, shape: shape, strides: stride)))
    }
}
