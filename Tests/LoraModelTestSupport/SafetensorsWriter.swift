import Foundation

/// Builds safetensors files byte by byte for tests, including deliberately broken ones.
public enum SafetensorsWriter {
    /// One tensor of a written file.
    public struct Entry {
        public var name: String
        public var dtype: String
        public var shape: [Int]
        public var values: [Float]
        public init(name: String, dtype: String = "F32", shape: [Int], values: [Float]) {
            self.name = name
            self.dtype = dtype
            self.shape = shape
            self.values = values
        }
    }

    /// A well-formed file from entries (F32 data, laid out in order).
    public static func file(_ entries: [Entry]) -> Data {
        var header: [String: Any] = [:]
        var data = Data()
        for e in entries {
            let begin = data.count
            for v in e.values { withUnsafeBytes(of: v.bitPattern.littleEndian) { data.append(contentsOf: $0) } }
            header[e.name] = ["dtype": e.dtype, "shape": e.shape, "data_offsets": [begin, data.count]]
        }
        return raw(headerJSON: try! JSONSerialization.data(withJSONObject: header, options: [.sortedKeys]), data: data)
    }

    /// A file from a literal header and data section.
    public static func raw(headerJSON: Data, data: Data, declaredLength: UInt64? = nil) -> Data {
        var out = Data()
        withUnsafeBytes(of: (declaredLength ?? UInt64(headerJSON.count)).littleEndian) { out.append(contentsOf: $0) }
        out.append(headerJSON)
        out.append(data)
        return out
    }

    /// Writes `data` to a fresh temporary file and returns its path.
    public static func temporary(_ data: Data, name: String = "model.safetensors") throws -> String {
        let url = try TestScratch.directory("model").appendingPathComponent(name)
        try data.write(to: url)
        return url.path
    }
}
