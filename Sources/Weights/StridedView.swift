import Neural

// MARK: - Strided views over raw storage

/// Where a tensor's elements sit in a storage: PyTorch's (storage offset, sizes, strides), all in elements.
struct StridedView {
    var offset: Int
    var shape: [Int]
    var strides: [Int]

    /// The row-major strides of `shape`.
    static func contiguousStrides(_ shape: [Int]) -> [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        var step = 1
        for axis in shape.indices.reversed() {
            strides[axis] = step
            step = step &* max(shape[axis], 1)
        }
        return strides
    }

    /// Most elements a view may produce beyond its storage's size: stride-0 (expanded) views legitimately
    /// repeat a small storage, but a hostile file could ask for 10¹⁸ copies of one byte.
    static let expansionLimit = 1 << 22

    /// Checks the view against a storage of `storageElements` elements and returns its element count.
    /// Nothing is allocated before this passes.
    func validate(storageElements: Int, name: String) throws -> Int {
        guard shape.count == strides.count else {
            throw WeightsError.invalidTensor(name: name, reason: "\(shape.count) sizes but \(strides.count) strides")
        }
        guard shape.count <= 64 else { throw WeightsError.invalidTensor(name: name, reason: "rank \(shape.count) is absurd (over 64)") }
        guard offset >= 0, shape.allSatisfy({ $0 >= 0 }), strides.allSatisfy({ $0 >= 0 }) else {
            throw WeightsError.invalidTensor(name: name, reason: "negative offset, size or stride (offset \(offset), sizes \(shape), strides \(strides))")
        }
        guard let count = checkedProduct(shape) else {
            throw WeightsError.invalidTensor(name: name, reason: "shape \(shape) overflows")
        }
        if count == 0 { return 0 }
        var last = offset
        for (size, stride) in zip(shape, strides) {
            let (span, o1) = (size - 1).multipliedReportingOverflow(by: stride)
            let (sum, o2) = last.addingReportingOverflow(span)
            guard !o1, !o2 else { throw WeightsError.invalidTensor(name: name, reason: "strides \(strides) overflow") }
            last = sum
        }
        guard last < storageElements else {
            throw WeightsError.invalidTensor(
                name: name, reason: "view (offset \(offset), sizes \(shape), strides \(strides)) reaches element \(last) of a storage of \(storageElements)")
        }
        guard count <= max(storageElements, StridedView.expansionLimit) else {
            throw WeightsError.invalidTensor(name: name, reason: "\(count) elements from a storage of \(storageElements) is too many")
        }
        return count
    }

    /// Gathers the view into a contiguous row-major Float tensor. Call `validate` first: `raw` must hold at
    /// least `storageElements × dtype.size` bytes.
    func gather(from raw: UnsafeRawBufferPointer, dtype: DType, bigEndian: Bool, count: Int) -> Tensor {
        if count == 0 { return Tensor(shape: shape, data: []) }
        let offset = self.offset
        if strides == StridedView.contiguousStrides(shape) || count == 1 {
            return Tensor(shape: shape, data: dtype.decode(raw, count: count, bigEndian: bigEndian) { offset + $0 })
        }
        // Walk the index odometer once to list storage positions, then decode them in one tight loop.
        var positions = [Int](repeating: 0, count: count)
        var index = [Int](repeating: 0, count: shape.count)
        var position = offset
        for i in 0..<count {
            positions[i] = position
            var axis = shape.count - 1
            while axis >= 0 {
                index[axis] += 1
                position += strides[axis]
                if index[axis] < shape[axis] { break }
                position -= strides[axis] * shape[axis]
                index[axis] = 0
                axis -= 1
            }
        }
        return positions.withUnsafeBufferPointer { p in
            Tensor(shape: shape, data: dtype.decode(raw, count: count, bigEndian: bigEndian) { p[$0] })
        }
    }
}
