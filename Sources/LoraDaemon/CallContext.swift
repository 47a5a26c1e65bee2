import LoraJSON

/// What a method handler sees of the call it serves: who called, on which connection, and how to answer.
/// The JSON-RPC layer provides it (`RPCCall`); handlers never block the thread they are called on.
protocol CallContext: Sendable {
    /// The caller's uid and primary gid (SO_PEERCRED).
    var peerUID: UInt32 { get }
    var peerGID: UInt32 { get }
    /// Identifies the caller's connection for as long as it is open.
    var connectionID: UInt64 { get }
    /// Whether the caller's connection is still open.
    var isConnectionOpen: Bool { get }
    /// Whether the call is an entry of a batch (its reply waits for the whole batch).
    var inBatch: Bool { get }
    /// Answers the call; only the first answer counts. Errors that are not `DaemonError` are internal errors.
    func reply(_ result: Result<JSONValue, any Error>)
    /// Sends a notification on the caller's connection; false when it is closed or its queue overflowed.
    func notify(_ method: String, _ params: JSONValue) -> Bool
    /// Keeps the caller's connection open after the client shuts down its side, until `releaseConnection`.
    func holdConnection()
    /// Ends `holdConnection`.
    func releaseConnection()
    /// Runs `action` once when the caller's connection closes (at once if it already has).
    func onClose(_ action: @escaping @Sendable () -> Void)
}
