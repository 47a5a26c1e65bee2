import Foundation
import LoraModel
import LoraModelTestSupport
import Testing

/// Hostile and broken safetensors files: each gives its own error, never a crash or an out-of-bounds read.
struct SafetensorsHostileFileTests {
    func open(_ data: Data) throws -> SafetensorsFile {
        try SafetensorsFile(path: try SafetensorsWriter.temporary(data))
    }

    func header(_ object: Any) -> Data { try! JSONSerialization.data(withJSONObject: object) }

    @Test func wellFormedFileReadsBack() throws {
        let file = try open(SafetensorsWriter.file([.init(name: "a", shape: [2, 2], values: [1, 2, 3, 4])]))
        #expect(file.tensors["a"]?.shape == [2, 2])
        #expect(try file.floats("a").array == [1, 2, 3, 4])
    }

    @Test func truncatedFile() throws {
        #expect { try open(Data([1, 2, 3])) } throws: { error in
            guard case ModelLoadError.truncatedFile(_, let size) = error else { return false }
            return size == 3
        }
    }

    @Test func headerLengthPastEnd() throws {
        let data = SafetensorsWriter.raw(headerJSON: Data("{}".utf8), data: Data(), declaredLength: 4096)
        #expect { try open(data) } throws: { error in
            guard case ModelLoadError.headerPastEnd(_, let length, _) = error else { return false }
            return length == 4096
        }
    }

    @Test func headerLengthTwoToThe63() throws {
        let data = SafetensorsWriter.raw(headerJSON: Data("{}".utf8), data: Data(), declaredLength: 1 << 63)
        #expect { try open(data) } throws: { error in
            guard case ModelLoadError.headerTooLarge(_, let length) = error else { return false }
            return length == 1 << 63
        }
    }

    @Test func invalidJSON() throws {
        #expect { try open(SafetensorsWriter.raw(headerJSON: Data("{\"a\": [".utf8), data: Data())) } throws: { error in
            if case ModelLoadError.invalidHeaderJSON = error { return true }
            return false
        }
        #expect { try open(SafetensorsWriter.raw(headerJSON: Data("[1, 2]".utf8), data: Data())) } throws: { error in
            if case ModelLoadError.invalidHeaderJSON = error { return true }
            return false
        }
    }

    @Test func unknownDType() throws {
        let h = header(["w": ["dtype": "F7", "shape": [1], "data_offsets": [0, 4]]])
        #expect { try open(SafetensorsWriter.raw(headerJSON: h, data: Data(count: 4))) } throws: { error in
            guard case ModelLoadError.unknownDType(_, "w", "F7") = error else { return false }
            return true
        }
    }

    @Test func overlappingSpans() throws {
        let h = header([
            "a": ["dtype": "F32", "shape": [2], "data_offsets": [0, 8]],
            "b": ["dtype": "F32", "shape": [2], "data_offsets": [4, 12]],
        ])
        #expect { try open(SafetensorsWriter.raw(headerJSON: h, data: Data(count: 12))) } throws: { error in
            guard case ModelLoadError.overlappingSpans(_, let a, let b) = error else { return false }
            return Set([a, b]) == ["a", "b"]
        }
    }

    @Test func shapeSizeMismatch() throws {
        let h = header(["w": ["dtype": "F32", "shape": [3, 2], "data_offsets": [0, 20]]])
        #expect { try open(SafetensorsWriter.raw(headerJSON: h, data: Data(count: 20))) } throws: { error in
            guard case ModelLoadError.sizeMismatch(_, "w", [3, 2], "F32", 24, 20) = error else { return false }
            return true
        }
    }

    @Test func spanOutsideDataSection() throws {
        let h = header(["w": ["dtype": "F32", "shape": [4], "data_offsets": [0, 16]]])
        #expect { try open(SafetensorsWriter.raw(headerJSON: h, data: Data(count: 8))) } throws: { error in
            guard case ModelLoadError.spanOutOfBounds(_, "w", 0, 16, 8) = error else { return false }
            return true
        }
    }

    @Test func hugeShapeDoesNotOverflow() throws {
        let h = header(["w": ["dtype": "F32", "shape": [1 << 40, 1 << 40], "data_offsets": [0, 4]]])
        #expect { try open(SafetensorsWriter.raw(headerJSON: h, data: Data(count: 4))) } throws: { error in
            guard case ModelLoadError.malformedTensorEntry(_, "w", _) = error else { return false }
            return true
        }
    }

    /// A header from literal JSON text over a zero-filled data section.
    func openLiteral(_ header: String, dataSize: Int = 16) throws -> SafetensorsFile {
        try open(SafetensorsWriter.raw(headerJSON: Data(header.utf8), data: Data(count: dataSize)))
    }

    @Test func tensorNameGivenTwiceIsRefused() throws {
        // JSONSerialization kept one of the two entries; which one a reader got was up to the parser.
        let entry = #"{"dtype":"F32","shape":[1],"data_offsets":[0,4]}"#
        let other = #"{"dtype":"F32","shape":[1],"data_offsets":[4,8]}"#
        #expect { try openLiteral("{\"w\":\(entry),\"w\":\(other)}") } throws: { error in
            guard case ModelLoadError.invalidHeaderJSON(_, let reason) = error else { return false }
            return reason.contains("\"w\"") && reason.contains("twice")
        }
    }

    @Test(arguments: ["1.5", "1e-1", "1e400", "-1", "\"1\"", "true", "null", "9223372036854775808"])
    func shapeAndOffsetsTakeExactNonNegativeIntegersOnly(literal: String) throws {
        // One rule with the PEFT config: every refusal names the field.
        let shape = "{\"w\":{\"dtype\":\"F32\",\"shape\":[\(literal)],\"data_offsets\":[0,4]}}"
        #expect { try openLiteral(shape) } throws: { error in
            guard case ModelLoadError.malformedTensorEntry(_, "w", let reason) = error else { return false }
            return reason.contains("'shape[0]'") && reason.contains(literal)
        }
        let offsets = "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,\(literal)]}}"
        #expect { try openLiteral(offsets) } throws: { error in
            guard case ModelLoadError.malformedTensorEntry(_, "w", let reason) = error else { return false }
            return reason.contains("'data_offsets[1]'")
        }
    }

    @Test func integerLiteralsReadExactly() throws {
        // Plain integers, including a 0 dimension, still read; -0 is zero; by JSONNumber's exact reading (the
        // rule the PEFT config follows too) 2.0 and 1.6e1 are the integers 2 and 16.
        let file = try openLiteral(#"{"a":{"dtype":"F32","shape":[2.0,2],"data_offsets":[0,1.6e1]},"e":{"dtype":"F32","shape":[0,-0],"data_offsets":[16,16]}}"#)
        #expect(file.tensors["a"]?.shape == [2, 2] && file.tensors["a"]?.span == 0..<16)
        #expect(file.tensors["e"]?.shape == [0, 0])
    }

    @Test func namesAreDecodedStrictly() throws {
        // Escapes decode (é, and 😀 from a surrogate pair); a lone surrogate or bad UTF-8 is refused, so two
        // distinct names cannot both decode to one U+FFFD-laden string.
        let file = try openLiteral(#"{"a\u00e9\ud83d\ude00":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#)
        #expect(file.names == ["aé😀"])
        #expect { try openLiteral(#"{"a\ud800":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#) } throws: { error in
            if case ModelLoadError.invalidHeaderJSON(_, let reason) = error { return reason.contains("surrogate") }
            return false
        }
        var bad = Data(#"{"a"#.utf8)
        bad.append(0xFF)
        bad.append(Data(#"":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#.utf8))
        #expect { try open(SafetensorsWriter.raw(headerJSON: bad, data: Data(count: 4))) } throws: { error in
            if case ModelLoadError.invalidHeaderJSON(_, let reason) = error { return reason.contains("UTF-8") }
            return false
        }
    }

    @Test func deepNestingIsRefusedNotRecursedInto() throws {
        let deep = String(repeating: "[", count: 100_000)
        #expect { try openLiteral("{\"w\":\(deep)") } throws: { error in
            if case ModelLoadError.invalidHeaderJSON(_, let reason) = error { return reason.contains("nesting") }
            return false
        }
    }

    @Test func errorsNameTheProblem() {
        let message = ModelLoadError.wrongShape(name: "model.norm.weight", expected: [64], actual: [32]).description
        #expect(message.contains("model.norm.weight") && message.contains("[64]") && message.contains("[32]"))
    }
}
