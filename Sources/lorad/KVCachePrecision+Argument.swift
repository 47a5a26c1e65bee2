import ArgumentParser
import LoraModel

extension KVCachePrecision: ExpressibleByArgument {
    static let help = ArgumentHelp("How the KV cache stores keys and values: f32 (exact, the default) or f16 (half the memory and attention reads, about three significant digits).", valueName: "f32|f16")
}
