import Foundation
import Neural

/// Reads `torch.save` checkpoints in both serialisations through the restricted unpickler: the ZIP format of
/// PyTorch ≥ 1.6 and the legacy stream of pickles of PyTorch < 1.6 (still written with
/// `_use_new_zipfile_serialization=False`, as facenet-pytorch's MTCNN weights are).
enum TorchCheckpoint {
    /// The little-endian bytes of PyTorch's legacy magic number 0x1950a86a20f9469cfc6c.
    static let legacyMagic: [UInt8] = [0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19]
    static let legacyProtocolVersion = 1001

    // MARK: - ZIP checkpoints

    static func readZip(_ bytes: UnsafeRawBufferPointer) throws -> TensorFile {
        let archive = try ZipArchive(bytes)
        // Every record sits under one folder (named after the file when saved); find it through data.pkl.
        guard let pickleName = archive.records.map(\.name).first(where: {
            $0.hasSuffix("/data.pkl") && $0.dropLast("/data.pkl".count).firstIndex(of: "/") == nil
        }) else {
            throw WeightsError.unrecognizedFormat("zip archive without <folder>/data.pkl, so not a torch.save checkpoint")
        }
        let prefix = String(pickleName.dropLast("data.pkl".count))
        // TorchScript archives also hold a data.pkl, but of scripted objects whose parameters are plain attributes.
        if archive.records.contains(where: { $0.name == prefix + "constants.pkl" || $0.name.hasPrefix(prefix + "code/") }) {
            throw WeightsError.unsupported("TorchScript archive (torch.jit.save); save the state_dict with torch.save instead")
        }
        var metadata: [String: String] = [:]
        for record in ["version", ".data/version", "byteorder"] {
            if let text = try archive.contents(of: prefix + record), text.count <= 64 {
                metadata[record] = String(decoding: text, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            }
        }
        let bigEndian: Bool
        switch metadata["byteorder"] {
        case nil, "little": bigEndian = false
        case "big": bigEndian = true
        case let other?: throw WeightsError.corrupt("byteorder record says '\(other.prefix(20))', expected little or big")
        }

        let unpickler = Unpickler(try archive.contents(of: pickleName)!, what: "data.pkl") { pid in
            // ('storage', storage_type, key, location, numel)
            guard let parts = pid.items, parts.count >= 5, parts[0].string == "storage",
                  case let .global(_, typeName) = parts[1], let key = parts[2].string, let numel = parts[4].int, numel >= 0 else {
                throw WeightsError.corrupt("data.pkl: malformed storage id \(pid.items?.map(\.typeName) ?? [pid.typeName])")
            }
            guard let dtype = DType(torchStorage: typeName) else { throw WeightsError.unsupported("storage type torch.\(typeName)") }
            return .storage(StorageRef(key: key, dtype: dtype, elementCount: numel))
        }
        let found = try StateDict.extract(try unpickler.load())
        let entries = try materialize(found.entries, bigEndian: bigEndian, fileSize: bytes.count) { storage in
            guard let data = try archive.contents(of: prefix + "data/" + storage.key) else {
                throw WeightsError.corrupt("storage record data/\(storage.key) is missing from the archive")
            }
            return data
        }
        withExtendedLifetime(unpickler) {}
        return TensorFile(format: .torchZip, entries: entries, metadata: metadata, statePath: found.path)
    }

    // MARK: - Legacy checkpoints

    static func readLegacy(_ bytes: UnsafeRawBufferPointer) throws -> TensorFile {
        let magic = Unpickler(bytes, what: "legacy magic number")
        guard case let .bigInt(number) = try magic.load(), number == legacyMagic else {
            throw WeightsError.unrecognizedFormat("a pickle without PyTorch's magic number")
        }
        let version = Unpickler(bytes, at: magic.endOffset, what: "legacy protocol version")
        let protocolVersion = try version.load()
        guard protocolVersion.int == legacyProtocolVersion else {
            throw WeightsError.unsupported("legacy checkpoint protocol \(protocolVersion.int.map(String.init) ?? protocolVersion.typeName)")
        }
        let sysInfo = Unpickler(bytes, at: version.endOffset, what: "legacy sys_info")
        let info = try sysInfo.load()
        var metadata = ["protocol_version": String(legacyProtocolVersion)]
        var bigEndian = false
        if let d = info.dict, case let .bool(little)? = d["little_endian"] {
            bigEndian = !little
            metadata["byteorder"] = little ? "little" : "big"
        }

        // Root storages by key: dtype and element count from their first persistent id.
        var roots: [String: (dtype: DType, count: Int)] = [:]
        let main = Unpickler(bytes, at: sysInfo.endOffset, what: "legacy object pickle") { pid in
            guard let parts = pid.items, let kind = parts.first?.string else {
                throw WeightsError.corrupt("legacy object pickle: persistent id is a \(pid.typeName)")
            }
            if kind == "module", parts.count >= 2 { return parts[1] }  // ('module', class, source file, source)
            // ('storage', storage_type, root_key, location, numel, view_metadata)
            guard kind == "storage", parts.count >= 6, case let .global(_, typeName) = parts[1],
                  let key = parts[2].string, let numel = parts[4].int, numel >= 0 else {
                throw WeightsError.corrupt("legacy object pickle: malformed persistent id")
            }
            guard let dtype = DType(torchStorage: typeName) else { throw WeightsError.unsupported("storage type torch.\(typeName)") }
            if let known = roots[key], known.dtype != dtype {
                throw WeightsError.corrupt("storage \(key) is used as both \(known.dtype.rawValue) and \(dtype.rawValue)")
            }
            if roots[key] == nil { roots[key] = (dtype, numel) }
            if let view = parts[5].items {
                // (view_key, offset, view_size): a window on the root, in elements.
                guard view.count == 3, let offset = view[1].int, let size = view[2].int, offset >= 0, size >= 0 else {
                    throw WeightsError.corrupt("legacy storage view of \(key) is malformed")
                }
                return .storage(StorageRef(key: key, dtype: dtype, elementCount: size, elementOffset: offset))
            }
            return .storage(StorageRef(key: key, dtype: dtype, elementCount: numel))
        }
        let found = try StateDict.extract(try main.load())

        let keyList = Unpickler(bytes, at: main.endOffset, what: "legacy storage key list")
        guard let keys = try keyList.load().items?.map(\.string) else {
            throw WeightsError.corrupt("legacy storage key list is not a list")
        }
        // Each storage: an int64 element count, then its raw bytes, in key-list order.
        var reader = ByteReader(bytes, at: keyList.endOffset)
        var storages: [String: UnsafeRawBufferPointer] = [:]
        for key in keys {
            guard let key, let root = roots[key] else { throw WeightsError.corrupt("legacy storage list names an unknown storage") }
            let count = try reader.integer(Int64.self, "legacy storage \(key) size")
            guard count == Int64(root.count) else {
                throw WeightsError.corrupt("legacy storage \(key) holds \(count) elements, the pickle says \(root.count)")
            }
            let (length, overflow) = root.count.multipliedReportingOverflow(by: root.dtype.size)
            guard !overflow else { throw WeightsError.corrupt("legacy storage \(key) size overflows") }
            storages[key] = try reader.slice(length, "legacy storage \(key) data")
        }
        let entries = try materialize(found.entries, bigEndian: bigEndian, fileSize: bytes.count) { storage in
            guard let data = storages[storage.key] else {
                throw WeightsError.corrupt("storage \(storage.key) is not in the legacy storage list")
            }
            return data
        }
        withExtendedLifetime((magic, version, sysInfo, main, keyList)) {}
        return TensorFile(format: .torchLegacy, entries: entries, metadata: metadata, statePath: found.path)
    }

    // MARK: - Tensors from storages

    /// Reads each tensor's view out of its storage bytes, checking offsets, sizes and strides first.
    static func materialize(_ refs: [(String, TensorRef)], bigEndian: Bool, fileSize: Int,
                            storage: (StorageRef) throws -> UnsafeRawBufferPointer) throws -> [NamedTensor] {
        // Views may share storages (tied weights), so the total may exceed the file, but not by much: a hostile
        // pickle could otherwise point a thousand huge expanded views at one byte.
        let budget = 4 * fileSize + StridedView.expansionLimit
        var total = 0
        return try refs.map { name, ref in
            let s = ref.storage
            let root = try storage(s)
            let size = s.dtype.size
            guard case let (start, false) = s.elementOffset.multipliedReportingOverflow(by: size),
                  case let (length, false) = s.elementCount.multipliedReportingOverflow(by: size),
                  case let (end, false) = start.addingReportingOverflow(length), end <= root.count else {
                throw WeightsError.invalidTensor(
                    name: name, reason: "storage \(s.key) holds \(root.count) bytes, fewer than \(s.elementCount) \(s.dtype.rawValue) elements at element \(s.elementOffset)")
            }
            let count = try ref.view.validate(storageElements: s.elementCount, name: name)
            total += count
            guard total <= budget else {
                throw WeightsError.invalidTensor(name: name, reason: "the checkpoint's views add up to over \(budget) elements from a \(fileSize)-byte file")
            }
            let raw = UnsafeRawBufferPointer(rebasing: root[start..<end])
            return NamedTensor(name: name, tensor: ref.view.gather(from: raw, dtype: s.dtype, bigEndian: bigEndian, count: count),
                               dtype: s.dtype)
        }
    }
}
