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

    @Test func errorsNameTheProblem() {
        let message = ModelLoadError.wrongShape(name: "model.norm.weight", expected: [64], actual: [32]).description
        #expect(message.contains("model.norm.weight") && message.contains("[64]") && message.contains("[32]"))
    }
}
