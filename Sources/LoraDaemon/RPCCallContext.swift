import LoraJSON
import LoraRPC

/// A JSON-RPC call as a handler sees it; maps the daemon's errors to JSON-RPC error objects in one place.
struct RPCCallContext: CallContext {
    let call: RPCCall

    var peerUID: UInt32 { call.peer.uid }
    var peerGID: UInt32 { call.peer.gid }
    var connectionID: UInt64 { call.connectionID }
    var inBatch: Bool { call.inBatch }
    var isConnectionOpen: Bool { call.connection.isOpen }

    func holdConnection() { call.connection.hold() }

    func releaseConnection() { call.connection.release() }

    func reply(_ result: Result<JSONValue, any Error>) {
        call.reply(result.mapError(Self.rpcError))
    }

    func notify(_ method: String, _ params: JSONValue) -> Bool { call.notify(method: method, params: params) }

    func onClose(_ action: @escaping @Sendable () -> Void) { call.onClose(action) }

    /// The JSON-RPC error for anything a handler throws: application errors keep their code and name,
    /// parameter errors are -32602, anything else is an internal error that still says what happened.
    static func rpcError(_ error: any Error) -> RPCError {
        switch DaemonErrors.map(error) {
        case let e as RPCError: return e
        case let e as DaemonError: return e.rpcError
        case let e as InvalidParams: return .invalidParams(e.message)
        case let e: return .internalError("\(e)")
        }
    }
}

extension DaemonError: RPCApplicationError {
    var rpcCode: Int { kind.rawValue }
    var rpcName: String { kind.name }
    var rpcMessage: String { message }
    var rpcDetails: JSONValue? { details.isEmpty ? nil : .object(details) }
}
