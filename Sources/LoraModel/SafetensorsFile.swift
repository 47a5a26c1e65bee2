import Foundation
import LoraJSON
import LoraNumerics

/// One tensor's entry in a safetensors header.
public struct TensorInfo: Sendable, Equatable {
    /// Tensor name as stored.
    public let name: String
    /// Element type as stored.
    public let dtype: SafetensorsDType
    /// Shape, outermost first.
    public let shape: [Int]
    /// Byte range within the data section.
    public let span: Range<Int>

    /// Number of elements.
    public var elementCount: Int { shape.reduce(1, *) }
}

/// The element types of the safetensors format.
public enum SafetensorsDType: String, Sendable, CaseIterable {
    case bool = "BOOL", u8 = "U8", i8 = "I8", f8e5m2 = "F8_E5M2", f8e4m3 = "F8_E4M3", i16 = "I16", u16 = "U16"
    case f16 = "F16", bf16 = "BF16", i32 = "I32", u32 = "U32", f32 = "F32", f64 = "F64", i64 = "I64", u64 = "U64"

    /// The floating-point format lorad reads this dtype as; nil for the ones it does not read.
    public var floatElement: PanelElement? {
        switch self {
        case .f32: return .float32
        case .bf16: return .bfloat16
        case .f16: return .float16
        default: return nil
        }
    }

    /// Size of one element in bytes.
    public var byteSize: Int {
        switch self {
        case .bool, .u8, .i8, .f8e5m2, .f8e4m3: return 1
        case .i16, .u16, .f16, .bf16: return 2
        case .i32, .u32, .f32: return 4
        case .f64, .i64, .u64: return 8
        }
    }
}

/// A safetensors file, mapped and validated: the header is parsed once and every entry checked (known dtype,
/// byte size matching the shape, span inside the data section, no overlaps) before any tensor is read, so a
/// hostile file yields an error rather than a read out of bounds.
public final class SafetensorsFile: @unchecked Sendable {
    /// Headers above this size are refused (the format's reference implementation uses the same cap).
    public static let maxHeaderLength: UInt64 = 100 * 1024 * 1024

    /// The file's path.
    public let path: String
    /// Tensors by name.
    public let tensors: [String: TensorInfo]
    /// The `__metadata__` string map, if any.
    public let metadata: [String: String]
    private let file: MappedFile
    private let dataOffset: Int

    /// Opens, maps and validates the file at `path`.
    public init(path: String) throws {
        self.path = path
        file = try MappedFile(path: path)
        guard file.size >= 8, let base = file.base else {
            throw ModelLoadError.truncatedFile(path: path, size: file.size)
        }
        let headerLength = UInt64(littleEndian: base.loadUnaligned(as: UInt64.self))
        guard headerLength <= Self.maxHeaderLength else {
            throw ModelLoadError.headerTooLarge(path: path, length: headerLength)
        }
        guard headerLength <= UInt64(file.size - 8) else {
            throw ModelLoadError.headerPastEnd(path: path, length: headerLength, fileSize: file.size)
        }
        dataOffset = 8 + Int(headerLength)
        let headerData = Data(bytes: base + 8, count: Int(headerLength))
        let parsed = try Self.parseHeader(headerData, path: path, dataSize: file.size - dataOffset)
        tensors = parsed.tensors
        metadata = parsed.metadata
    }

    /// Tensor names, sorted.
    public var names: [String] { tensors.keys.sorted() }

    /// Reads tensor `name` as f32, converting F16/BF16. F32 data aligned in the file is borrowed, not copied.
    public func floats(_ name: String) throws -> FloatBuffer {
        guard let info = tensors[name] else { throw ModelLoadError.missingTensor(name: name) }
        return try floats(info)
    }

    /// The tensor described by `info` as stored, when it is bf16 or f16; nil for any other dtype. The values
    /// stay in the mapping (the result keeps the file alive).
    public func halfPrecision(_ info: TensorInfo) throws -> HalfPrecisionTensor? {
        guard let base = file.base else { throw ModelLoadError.truncatedFile(path: path, size: file.size) }
        guard let element = info.dtype.floatElement, element != .float32 else { return nil }
        return HalfPrecisionTensor(element: element, bits: base + dataOffset + info.span.lowerBound, count: info.elementCount, owner: file)
    }

    /// Reads the tensor described by `info` as f32.
    public func floats(_ info: TensorInfo) throws -> FloatBuffer {
        guard let base = file.base else { throw ModelLoadError.truncatedFile(path: path, size: file.size) }
        let source = base + dataOffset + info.span.lowerBound
        let count = info.elementCount
        guard let element = info.dtype.floatElement else {
            throw ModelLoadError.unsupportedDType(path: path, tensor: info.name, dtype: info.dtype.rawValue)
        }
        if element == .float32, Int(bitPattern: source) % MemoryLayout<Float>.alignment == 0 {
            let pointer = UnsafeMutablePointer(mutating: source.assumingMemoryBound(to: Float.self))
            return FloatBuffer(borrowing: pointer, count: count, owner: file)
        }
        return element.widened(source, count: count)
    }

    static func parseHeader(_ data: Data, path: String, dataSize: Int) throws -> (tensors: [String: TensorInfo], metadata: [String: String]) {
        let json: JSONValue
        do {
            json = try JSONValue.parseModelFile(data)
        } catch {
            // A repeated key would let two entries claim one tensor name; the parser refuses it.
            throw ModelLoadError.invalidHeaderJSON(path: path, reason: error.description)
        }
        guard case .object(let members) = json else {
            throw ModelLoadError.invalidHeaderJSON(path: path, reason: "the top level is not an object")
        }
        var tensors: [String: TensorInfo] = [:]
        var metadata: [String: String] = [:]
        for (name, value) in members {
            if name == "__metadata__" {
                guard case .object(let map) = value else {
                    throw ModelLoadError.malformedTensorEntry(path: path, tensor: name, reason: "__metadata__ must be an object of strings")
                }
                for (k, v) in map { metadata[k] = v.stringValue ?? v.serializedString }
                continue
            }
            tensors[name] = try parseEntry(name: name, value: value, path: path, dataSize: dataSize)
        }
        // Spans must not overlap: sort by start and compare neighbours.
        let ordered = tensors.values.filter { !$0.span.isEmpty }.sorted { $0.span.lowerBound < $1.span.lowerBound }
        for (a, b) in zip(ordered, ordered.dropFirst()) where b.span.lowerBound < a.span.upperBound {
            throw ModelLoadError.overlappingSpans(path: path, first: a.name, second: b.name)
        }
        return (tensors, metadata)
    }

    private static func parseEntry(name: String, value: JSONValue, path: String, dataSize: Int) throws -> TensorInfo {
        guard case .object = value else {
            throw ModelLoadError.malformedTensorEntry(path: path, tensor: name, reason: "entry is not an object")
        }
        guard let dtypeName = value["dtype"]?.stringValue else {
            throw ModelLoadError.malformedTensorEntry(path: path, tensor: name, reason: "missing string field 'dtype'")
        }
        guard let dtype = SafetensorsDType(rawValue: dtypeName) else {
            throw ModelLoadError.unknownDType(path: path, tensor: name, dtype: dtypeName)
        }
        guard case .array(let shapeValues) = value["shape"] else {
            throw ModelLoadError.malformedTensorEntry(path: path, tensor: name, reason: "missing array field 'shape'")
        }
        var shape: [Int] = []
        for (i, v) in shapeValues.enumerated() {
            shape.append(try integer(v, field: "shape[\(i)]", tensor: name, path: path))
        }
        guard case .array(let offsets) = value["data_offsets"], offsets.count == 2 else {
            throw ModelLoadError.malformedTensorEntry(path: path, tensor: name, reason: "'data_offsets' must be two integers")
        }
        let begin = try integer(offsets[0], field: "data_offsets[0]", tensor: name, path: path)
        let end = try integer(offsets[1], field: "data_offsets[1]", tensor: name, path: path)
        guard end >= begin, end <= dataSize else {
            throw ModelLoadError.spanOutOfBounds(path: path, tensor: name, begin: begin, end: end, dataSize: dataSize)
        }
        var expected = dtype.byteSize
        for d in shape {
            let (product, overflow) = expected.multipliedReportingOverflow(by: d)
            guard !overflow else {
                throw ModelLoadError.malformedTensorEntry(path: path, tensor: name, reason: "shape \(shape) is too large")
            }
            expected = product
        }
        guard expected == end - begin else {
            throw ModelLoadError.sizeMismatch(path: path, tensor: name, shape: shape, dtype: dtypeName, expectedBytes: expected, actualBytes: end - begin)
        }
        return TensorInfo(name: name, dtype: dtype, shape: shape, span: begin..<end)
    }

    /// A shape entry or offset: a non-negative integer by `JSONValue.integer`'s rule, the field named if not.
    private static func integer(_ value: JSONValue, field: String, tensor: String, path: String) throws -> Int {
        do {
            return try value.integer(minimum: 0)
        } catch {
            throw ModelLoadError.malformedTensorEntry(path: path, tensor: tensor, reason: "'\(field)' = \(error.description); it must be a non-negative integer")
        }
    }
}
