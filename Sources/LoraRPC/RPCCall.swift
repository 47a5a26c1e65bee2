import LoraJSON
import Synchronization

/// One validated call handed to a method's handler. The handler replies exactly once, from any thread, whenever
/// the work is done (later replies are ignored); a call dropped without a reply is answered with Internal error.
public final class RPCCall: Sendable {
    /// The method's name.
    public let method: String
    /// The validated parameters.
    public let params: RPCParams
    /// The request id, or nil for a notification (its reply is not sent).
    public let id: RPCID?
    /// The connection the call came on (peer credentials, notifications, close callbacks).
    public let connection: RPCConnectionHandle
    /// Whether the call is an entry of a batch: its reply is held until every entry has one, so a handler that
    /// streams notifications after its reply cannot keep that order.
    public let inBatch: Bool
    private let respond: @Sendable (Result<JSONValue, RPCError>) -> Void
    private let replied = Atomic<Bool>(false)

    /// A call whose reply goes to `respond` (the server's writer, or a test's recorder).
    public init(method: String, params: RPCParams, id: RPCID?, connection: RPCConnectionHandle, inBatch: Bool = false,
                respond: @escaping @Sendable (Result<JSONValue, RPCError>) -> Void) {
        self.inBatch = inBatch
        self.method = method
        self.params = params
        self.id = id
        self.connection = connection
        self.respond = respond
    }

    deinit {
        if !replied.load(ordering: .acquiring) {
            respond(.failure(.internalError("the handler of \(method) finished without a reply")))
        }
    }

    /// Who called.
    public var peer: PeerCredentials { connection.peer }
    /// The connection's number.
    public var connectionID: UInt64 { connection.id }
    /// Whether a reply has been given.
    public var hasReplied: Bool { replied.load(ordering: .acquiring) }

    /// Replies with a result or an error; only the first reply counts.
    public func reply(_ result: Result<JSONValue, RPCError>) {
        guard replied.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged else { return }
        respond(result)
    }

    /// Replies with a result.
    public func reply(_ value: JSONValue) { reply(.success(value)) }

    /// Replies with an error.
    public func fail(_ error: RPCError) { reply(.failure(error)) }

    /// Replies with an application error.
    public func fail(_ error: some RPCApplicationError) { reply(.failure(error.rpcError)) }

    /// Sends a notification on the call's connection; false when it is closed or its queue overflowed.
    @discardableResult
    public func notify(method: String, params: JSONValue) -> Bool { connection.notify(method: method, params: params) }

    /// Runs `callback` when the connection closes (at once if it already has), e.g. to cancel the call's jobs.
    public func onClose(_ callback: @escaping @Sendable () -> Void) { connection.onClose(callback) }
}
