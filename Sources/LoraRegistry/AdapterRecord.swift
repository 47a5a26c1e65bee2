import Foundation

/// One adapter the registry knows: its name, the digest of its stored files, what its config says, and whether
/// it fits the loaded model.
public struct AdapterRecord: Sendable, Equatable, Codable {
    /// The unique name clients use (see `AdapterName`).
    public var name: String
    /// Lowercase hex sha256 over the adapter's files (see `AdapterDigest`); also its directory under `adapters/`.
    public var digest: String
    /// The config's default rank `r`.
    public var rank: Int
    /// The config's default `lora_alpha`.
    public var alpha: Double
    /// The config's `use_rslora`.
    public var useRSLoRA: Bool
    /// The projections the adapter changes (`q_proj`, `v_proj`, ...), sorted as in a Llama layer.
    public var targetModules: [String]
    /// The layers the adapter changes, nil when it changes every layer of the model it was validated against.
    public var layers: [Int]?
    /// Bytes of the stored files.
    public var sizeBytes: Int64
    /// When it was imported.
    public var addedAt: Date
    /// The fingerprint of the model it was validated against (see `ModelFingerprint`).
    public var modelFingerprint: String
    /// Whether `modelFingerprint` is the loaded model's.
    public var compatible: Bool
    /// Why its stored files cannot be trusted (missing or corrupt), nil when they are fine.
    public var broken: String?

    /// A record as the registry builds it.
    public init(
        name: String, digest: String, rank: Int, alpha: Double, useRSLoRA: Bool, targetModules: [String], layers: [Int]?,
        sizeBytes: Int64, addedAt: Date, modelFingerprint: String, compatible: Bool, broken: String?
    ) {
        self.name = name
        self.digest = digest
        self.rank = rank
        self.alpha = alpha
        self.useRSLoRA = useRSLoRA
        self.targetModules = targetModules
        self.layers = layers
        self.sizeBytes = sizeBytes
        self.addedAt = addedAt
        self.modelFingerprint = modelFingerprint
        self.compatible = compatible
        self.broken = broken
    }
}
