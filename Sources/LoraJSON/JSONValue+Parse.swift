extension JSONValue {
    /// Parses one JSON document (surrounding whitespace allowed) from raw bytes.
    public static func parse(_ bytes: UnsafeRawBufferPointer, options: JSONParseOptions = .strict) throws(JSONParseError) -> JSONValue {
        var parser = JSONParser(bytes: bytes.bindMemory(to: UInt8.self), options: options)
        return try parser.parseDocument()
    }

    /// Parses one JSON document from a byte collection (contiguous storage is read in place).
    public static func parse<Bytes: Collection>(_ bytes: Bytes, options: JSONParseOptions = .strict) throws(JSONParseError) -> JSONValue
    where Bytes.Element == UInt8 {
        let result: Result<JSONValue, JSONParseError>? = bytes.withContiguousStorageIfAvailable { buffer in
            var parser = JSONParser(bytes: buffer, options: options)
            return Result { () throws(JSONParseError) in try parser.parseDocument() }
        }
        if let result { return try result.get() }
        let copy = Array(bytes)
        return try copy.withUnsafeBufferPointer { buffer throws(JSONParseError) in
            var parser = JSONParser(bytes: buffer, options: options)
            return try parser.parseDocument()
        }
    }

    /// Parses one JSON document from the UTF-8 of `text`.
    public static func parse(_ text: String, options: JSONParseOptions = .strict) throws(JSONParseError) -> JSONValue {
        try parse(Array(text.utf8), options: options)
    }
}
