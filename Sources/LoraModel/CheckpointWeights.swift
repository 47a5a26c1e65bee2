import Foundation
import LoraNumerics

/// Tensors of a Hugging Face checkpoint directory: `model.safetensors`, or shards listed in
/// `model.safetensors.index.json`. Every file is validated when opened.
public final class CheckpointWeights: WeightSource {
    /// The checkpoint directory.
    public let directory: URL
    private var locations: [String: (file: SafetensorsFile, info: TensorInfo)] = [:]
    private var used: Set<String> = []

    /// Opens the weights of the checkpoint in `directory`.
    public init(directory: URL) throws {
        self.directory = directory
        let fm = FileManager.default
        let single = directory.appendingPathComponent("model.safetensors")
        let index = directory.appendingPathComponent("model.safetensors.index.json")
        if fm.fileExists(atPath: index.path) {
            try openSharded(index: index)
        } else if fm.fileExists(atPath: single.path) {
            let file = try SafetensorsFile(path: single.path)
            for (name, info) in file.tensors { locations[name] = (file, info) }
        } else {
            throw ModelLoadError.noWeights(directory: directory.path)
        }
    }

    private func openSharded(index: URL) throws {
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: Data(contentsOf: index))
        } catch {
            throw ModelLoadError.invalidIndex(path: index.path, reason: "not valid JSON (\(error.localizedDescription))")
        }
        guard let root = object as? [String: Any], let map = root["weight_map"] as? [String: Any] else {
            throw ModelLoadError.invalidIndex(path: index.path, reason: "missing object 'weight_map'")
        }
        var shards: [String: SafetensorsFile] = [:]
        for (tensor, value) in map {
            guard let shardName = value as? String else {
                throw ModelLoadError.invalidIndex(path: index.path, reason: "weight_map entry for '\(tensor)' is not a file name")
            }
            // Shard names are plain file names in the same directory; refuse anything that walks elsewhere.
            guard !shardName.contains("/"), shardName != "..", !shardName.isEmpty else {
                throw ModelLoadError.invalidIndex(path: index.path, reason: "shard name '\(shardName)' must be a file name in the checkpoint directory")
            }
            let file: SafetensorsFile
            if let open = shards[shardName] {
                file = open
            } else {
                let url = directory.appendingPathComponent(shardName)
                guard FileManager.default.fileExists(atPath: url.path) else {
                    throw ModelLoadError.invalidIndex(path: index.path, reason: "shard '\(shardName)' (holding '\(tensor)') does not exist")
                }
                file = try SafetensorsFile(path: url.path)
                shards[shardName] = file
            }
            guard let info = file.tensors[tensor] else {
                throw ModelLoadError.invalidIndex(path: index.path, reason: "index places '\(tensor)' in \(shardName), which does not hold it")
            }
            locations[tensor] = (file, info)
        }
        // Tensors present in a shard but absent from the index would be silently ignored; report them.
        for (shardName, file) in shards {
            for name in file.tensors.keys where locations[name] == nil {
                throw ModelLoadError.unexpectedTensor(name: name, path: directory.appendingPathComponent(shardName).path)
            }
        }
    }

    public func contains(_ name: String) -> Bool { locations[name] != nil }

    public func tensor(_ name: String, shape: [Int]) throws -> FloatBuffer {
        let location = try checkedLocation(name, shape: shape)
        return try location.file.floats(location.info)
    }

    public func halfPrecisionTensor(_ name: String, shape: [Int]) throws -> HalfPrecisionTensor? {
        let location = try checkedLocation(name, shape: shape)
        return try location.file.halfPrecision(location.info)
    }

    /// The tensor's file and entry, once its shape is checked; marks it used.
    private func checkedLocation(_ name: String, shape: [Int]) throws -> (file: SafetensorsFile, info: TensorInfo) {
        guard let location = locations[name] else { throw ModelLoadError.missingTensor(name: name) }
        guard location.info.shape == shape else {
            throw ModelLoadError.wrongShape(name: name, expected: shape, actual: location.info.shape)
        }
        used.insert(name)
        return location
    }

    public func ignore(_ name: String, shape: [Int]) throws {
        guard let location = locations[name] else { return }
        guard location.info.shape == shape else {
            throw ModelLoadError.wrongShape(name: name, expected: shape, actual: location.info.shape)
        }
        used.insert(name)
    }

    public func unusedTensorNames() -> [String] {
        locations.keys.filter { !used.contains($0) }.sorted()
    }

    /// The file holding tensor `name` (for error messages).
    public func path(of name: String) -> String? { locations[name]?.file.path }
}
