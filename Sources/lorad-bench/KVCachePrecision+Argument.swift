import ArgumentParser
import LoraModel

extension KVCachePrecision: ExpressibleByArgument {
    static let help: ArgumentHelp = "How the KV cache stores keys and values: f32 or f16."
}
