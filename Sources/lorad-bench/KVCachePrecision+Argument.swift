import ArgumentParser
import LoraModel

extension KVCachePrecision: ExpressibleByArgument {}
