// MARK: - A minimal ZIP reader

/// The records of a ZIP archive, read from its central directory. Only STORED records can be read: that is all
/// `torch.save` writes (its miniz writer never compresses), and inflate is not worth carrying for anything else.
struct ZipArchive {
    struct Record {
        var name: String
        var method: UInt16
        var compressedSize: Int
        var size: Int
        var headerOffset: Int
    }

    let bytes: UnsafeRawBufferPointer
    private(set) var records: [Record] = []
    private var index: [String: Int] = [:]

    init(_ bytes: UnsafeRawBufferPointer) throws {
        self.bytes = bytes
        let (count, directorySize, directoryOffset) = try ZipArchive.findDirectory(bytes)
        guard directoryOffset <= bytes.count, directorySize <= bytes.count - directoryOffset else {
            throw WeightsError.corrupt("zip central directory (offset \(directoryOffset), \(directorySize) bytes) lies outside the file")
        }
        // A central-directory entry is at least 46 bytes; this bounds the reservation on hostile counts.
        guard count <= directorySize / 46 + 1 else {
            throw WeightsError.corrupt("zip declares \(count) records in a \(directorySize)-byte directory")
        }
        var reader = ByteReader(bytes, at: directoryOffset)
        records.reserveCapacity(count)
        for n in 0..<count {
            guard try reader.integer(UInt32.self, "zip directory entry \(n)") == 0x0201_4b50 else {
                throw WeightsError.corrupt("zip directory entry \(n) has a bad signature")
            }
            let fixed = try reader.slice(42, "zip directory entry \(n)")
            func u16(_ at: Int) -> Int { Int(UInt16(littleEndian: fixed.loadUnaligned(fromByteOffset: at, as: UInt16.self))) }
            func u32(_ at: Int) -> Int { Int(UInt32(littleEndian: fixed.loadUnaligned(fromByteOffset: at, as: UInt32.self))) }
            let method = UInt16(u16(6))
            var compressed = u32(16), size = u32(20), offset = u32(38)
            let nameBytes = try reader.array(u16(24), "zip entry \(n) name")
            let extra = try reader.slice(u16(26), "zip entry \(n) extra field")
            _ = try reader.slice(u16(28), "zip entry \(n) comment")
            let name = String(decoding: nameBytes, as: UTF8.self)
            if size == 0xffff_ffff || compressed == 0xffff_ffff || offset == 0xffff_ffff {
                try ZipArchive.applyZip64(extra, size: &size, compressed: &compressed, offset: &offset, name: name)
            }
            index[name] = records.count
            records.append(Record(name: name, method: method, compressedSize: compressed, size: size, headerOffset: offset))
        }
    }

    /// The bytes of record `name`, or nil if the archive has none.
    func contents(of name: String) throws -> UnsafeRawBufferPointer? {
        guard let i = index[name] else { return nil }
        let r = records[i]
        guard r.method == 0 else {
            throw WeightsError.unsupported("zip record '\(name)' is compressed (method \(r.method)); only stored records are read")
        }
        guard r.compressedSize == r.size else {
            throw WeightsError.corrupt("zip record '\(name)' is stored but its sizes differ (\(r.compressedSize) vs \(r.size))")
        }
        var reader = ByteReader(bytes, at: 0)
        guard r.headerOffset <= bytes.count - 30 else { throw WeightsError.truncated("zip record '\(name)' header at \(r.headerOffset)") }
        reader.position = r.headerOffset
        guard try reader.integer(UInt32.self, "zip record '\(name)'") == 0x0403_4b50 else {
            throw WeightsError.corrupt("zip record '\(name)' has a bad local header signature")
        }
        reader.position += 22
        let nameLength = Int(try reader.integer(UInt16.self, "zip record '\(name)'"))
        let extraLength = Int(try reader.integer(UInt16.self, "zip record '\(name)'"))
        _ = try reader.slice(nameLength + extraLength, "zip record '\(name)' header")
        return try reader.slice(r.size, "zip record '\(name)' data")
    }

    // MARK: - Directory

    private static func findDirectory(_ b: UnsafeRawBufferPointer) throws -> (count: Int, size: Int, offset: Int) {
        guard b.count >= 22 else { throw WeightsError.truncated("zip archive of \(b.count) bytes has no end record") }
        // The end record is the last 22 bytes plus a comment of at most 65535 bytes.
        var at = b.count - 22
        let lowest = max(0, b.count - 22 - 65535)
        while at >= lowest {
            if b.loadUnaligned(fromByteOffset: at, as: UInt32.self) == UInt32(0x0605_4b50).littleEndian { break }
            at -= 1
        }
        guard at >= lowest else { throw WeightsError.truncated("zip end-of-directory record not found") }
        var r = ByteReader(b, at: at + 10)
        var count = Int(try r.integer(UInt16.self, "zip end record"))
        var size = Int(try r.integer(UInt32.self, "zip end record"))
        var offset = Int(try r.integer(UInt32.self, "zip end record"))
        if count == 0xffff || size == 0xffff_ffff || offset == 0xffff_ffff {
            // ZIP64: a locator sits just before the end record and points at the 64-bit end record.
            guard at >= 20 else { throw WeightsError.corrupt("zip64 locator missing") }
            var locator = ByteReader(b, at: at - 20)
            guard try locator.integer(UInt32.self, "zip64 locator") == 0x0706_4b50 else { throw WeightsError.corrupt("zip64 locator missing") }
            locator.position += 4
            let recordAt = try locator.integer(UInt64.self, "zip64 locator")
            guard recordAt <= UInt64(b.count) else { throw WeightsError.corrupt("zip64 end record offset \(recordAt) is outside the file") }
            var z = ByteReader(b, at: Int(recordAt))
            guard try z.integer(UInt32.self, "zip64 end record") == 0x0606_4b50 else { throw WeightsError.corrupt("zip64 end record has a bad signature") }
            z.position += 28
            let c = try z.integer(UInt64.self, "zip64 end record")
            let s = try z.integer(UInt64.self, "zip64 end record")
            let o = try z.integer(UInt64.self, "zip64 end record")
            let limit = UInt64(b.count)
            guard c <= limit, s <= limit, o <= limit else { throw WeightsError.corrupt("zip64 end record sizes exceed the file") }
            (count, size, offset) = (Int(c), Int(s), Int(o))
        }
        return (count, size, offset)
    }

    private static func applyZip64(_ extra: UnsafeRawBufferPointer, size: inout Int, compressed: inout Int,
                                   offset: inout Int, name: String) throws {
        var r = ByteReader(extra)
        while r.remaining >= 4 {
            let id = try r.integer(UInt16.self, "zip extra field")
            let length = Int(try r.integer(UInt16.self, "zip extra field"))
            var field = ByteReader(try r.slice(length, "zip extra field of '\(name)'"))
            guard id == 1 else { continue }
            // Only the fields saturated in the fixed part appear, in this order.
            func next() throws -> Int {
                let v = try field.integer(UInt64.self, "zip64 field of '\(name)'")
                guard v <= UInt64(Int.max / 2) else { throw WeightsError.corrupt("zip64 size of '\(name)' is absurd") }
                return Int(v)
            }
            if size == 0xffff_ffff { size = try next() }
            if compressed == 0xffff_ffff { compressed = try next() }
            if offset == 0xffff_ffff { offset = try next() }
            return
        }
        throw WeightsError.corrupt("zip record '\(name)' needs a zip64 extra field but has none")
    }
}
