// swift-tools-version:6.0
// lorad: a local LoRA-serving daemon for Llama-family models on the CPU.
import PackageDescription

// The decode kernels are written with SIMD types; on x86-64 they need AVX2 and FMA to keep up with memory
// (the default target is SSE2). Set LORAD_PORTABLE=1 to build for any x86-64 CPU, at a cost in speed.
let vectorISA: [SwiftSetting] = {
    #if arch(x86_64)
    if Context.environment["LORAD_PORTABLE"] == nil {
        return [.unsafeFlags(["-target-cpu", "haswell"])]
    }
    #endif
    return []
}()

// The decode-attention kernel is C (clang's own optimizer keeps its accumulators in registers); it gets the same
// instruction set as the Swift kernels.
let vectorISAForC: [CSetting] = {
    #if arch(x86_64)
    if Context.environment["LORAD_PORTABLE"] == nil {
        return [.unsafeFlags(["-mavx2", "-mfma", "-mf16c", "-O3"])]
    }
    #endif
    return [.unsafeFlags(["-O3"])]
}()

// The executables are built without AVX (so their first act, the CPU check, runs anywhere) and only need to
// know whether the kernels they link were built with it.
let vectorISACheck: [SwiftSetting] = {
    #if arch(x86_64)
    if Context.environment["LORAD_PORTABLE"] == nil {
        return [.define("LORAD_VECTOR_ISA")]
    }
    #endif
    return []
}()

let package = Package(
    name: "lorad",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "lorad", targets: ["lorad"]),
        .executable(name: "lorad-bench", targets: ["lorad-bench"]),
        .library(name: "LoraModel", targets: ["LoraModel"]),
        .library(name: "LoraTokenizer", targets: ["LoraTokenizer"]),
        .executable(name: "lorctl", targets: ["lorctl"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]
        ),
        .systemLibrary(
            name: "CSystemd",
            pkgConfig: "libsystemd",
            providers: [.apt(["libsystemd-dev"])]
        ),
        // Prefetch hints for the kernels, and the CPU check the executables run before any kernel.
        .target(name: "CKernelSupport"),
        .target(name: "CSegmentAttention", cSettings: vectorISAForC),
        .target(
            name: "LoraNumerics",
            dependencies: ["CBLAS", "CKernelSupport", "CSegmentAttention"],
            swiftSettings: vectorISA
        ),
        .target(
            name: "LoraModel",
            dependencies: ["LoraNumerics", "LoraJSON"]
        ),
        // One JSON reader and writer for the whole package: tokenizer files and JSON-RPC messages.
        .target(name: "LoraJSON"),
        .target(
            name: "LoraTokenizer",
            dependencies: ["LoraJSON"]
        ),
        .target(
            name: "LoraEngine",
            dependencies: [
                "LoraModel",
                "LoraNumerics",
                "LoraTokenizer",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "LoraRegistry",
            dependencies: [
                "LoraModel",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // JSON-RPC 2.0 over a Unix socket: codec, framing, server, client. No engine, no BLAS (lorctl links it).
        .target(
            name: "LoraRPC",
            dependencies: ["LoraJSON", .product(name: "Logging", package: "swift-log")]
        ),
        // The service: configuration, method handlers, authorization, systemd, signals, logging.
        .target(
            name: "LoraDaemon",
            dependencies: [
                "LoraEngine",
                "LoraModel",
                "LoraTokenizer",
                "LoraRegistry",
                "LoraRPC",
                "LoraJSON",
                "CSystemd",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "TOMLKit", package: "TOMLKit"),
            ]
        ),
        .executableTarget(
            name: "lorctl",
            dependencies: [
                "LoraRPC",
                "LoraJSON",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "lorad",
            dependencies: [
                "LoraDaemon",
                "LoraEngine",
                "LoraModel",
                "LoraTokenizer",
                "CKernelSupport",
                "CSystemd",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: vectorISACheck
        ),
        .executableTarget(
            name: "lorad-bench",
            dependencies: [
                "LoraDaemon",
                "LoraRPC",
                "LoraJSON",
                "LoraEngine",
                "LoraModel",
                "LoraNumerics",
                "LoraTokenizer",
                "CBLAS",
                "CKernelSupport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: vectorISACheck
        ),
        // Locates ../shared/fixtures for every test target.
        .target(name: "LoraTestFixtures", path: "Tests/LoraTestFixtures"),
        .target(name: "LoraModelTestSupport", dependencies: ["LoraModel", "LoraNumerics"], path: "Tests/LoraModelTestSupport"),
        .target(
            name: "LoraEngineTestSupport",
            dependencies: ["LoraEngine", "LoraModel", "LoraTokenizer", "LoraTestFixtures", .product(name: "Logging", package: "swift-log")],
            path: "Tests/LoraEngineTestSupport"),
        .testTarget(name: "LoraNumericsTests", dependencies: ["LoraNumerics", "CKernelSupport"], swiftSettings: vectorISACheck),
        .testTarget(name: "LoraModelTests", dependencies: ["LoraModel", "LoraNumerics", "LoraTokenizer", "LoraTestFixtures", "LoraModelTestSupport"]),
        .testTarget(name: "LoraTokenizerTests", dependencies: ["LoraTokenizer", "LoraTestFixtures"]),
        .testTarget(name: "LoradCLITests", dependencies: ["lorad", "LoraTestFixtures"]),
        .testTarget(name: "LoraJSONTests", dependencies: ["LoraJSON"]),
        .testTarget(name: "LoraRegistryTests", dependencies: ["LoraRegistry", "LoraModel", "LoraTestFixtures", "LoraModelTestSupport", .product(name: "Logging", package: "swift-log")]),
        .testTarget(name: "LoraRPCTests", dependencies: ["LoraRPC", "LoraJSON"]),
        .testTarget(name: "LoraDaemonTests", dependencies: ["LoraDaemon", "LoraRPC", "LoraJSON", "LoraTestFixtures", "LoraModelTestSupport"],
                    exclude: ["Snapshots"]),  // expected help texts, read from the source tree by the lorctl tests
        .testTarget(name: "LoraEngineTests", dependencies: ["LoraEngine", "LoraModel", "LoraTokenizer", "LoraTestFixtures", "LoraEngineTestSupport", .product(name: "Logging", package: "swift-log")]),
    ],
    swiftLanguageModes: [.v6]
)
