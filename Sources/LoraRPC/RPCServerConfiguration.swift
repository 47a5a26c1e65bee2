import LoraJSON

/// Limits and settings of a `UnixSocketServer`.
public struct RPCServerConfiguration: Sendable {
    /// The longest request line (bytes); a longer one gets Invalid Request with id null and the connection closes.
    public var maxMessageBytes: Int = 16 << 20
    /// The bound on one connection's unsent output; a client that lets it pass this is disconnected.
    public var maxPendingOutputBytes: Int = 8 << 20
    /// The most connections at once; one more gets `connectionLimitError` as one line and is closed.
    public var maxConnections: Int = 256
    /// How each line is decoded (batch cap, JSON depth and size caps).
    public var decoder = RPCMessageDecoder()
    /// The mode of a socket file the server creates.
    public var socketMode: UInt32 = 0o660
    /// How long a connection that sent an oversized line may go on sending (discarded) before it is closed.
    public var drainSeconds: Double = 2
    /// The error line sent to a connection over `maxConnections`.
    public var connectionLimitError: RPCError? = nil

    /// The defaults.
    public init() {}

    /// The error sent to a connection refused for the connection cap.
    public var resolvedConnectionLimitError: RPCError {
        connectionLimitError ?? RPCError(
            code: -32000, name: "Busy",
            message: "too many connections (the limit is \(maxConnections)); close idle clients or raise the limit",
            details: ["limit": .int(maxConnections)])
    }
}
