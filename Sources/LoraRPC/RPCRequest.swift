import LoraJSON

/// One well-formed JSON-RPC 2.0 request or notification.
public struct RPCRequest: Sendable, Equatable {
    /// The method name.
    public var method: String
    /// The parameters: an object or an array, or nil when absent.
    public var params: JSONValue?
    /// The id, or nil for a notification (which gets no reply).
    public var id: RPCID?

    /// A request (or, with `id: nil`, a notification).
    public init(method: String, params: JSONValue? = nil, id: RPCID?) {
        self.method = method
        self.params = params
        self.id = id
    }

    /// Whether no reply is expected.
    public var isNotification: Bool { id == nil }

    /// The request as JSON: `{"jsonrpc":"2.0","method":...,"params":...,"id":...}`.
    public var json: JSONValue {
        var members: [(String, JSONValue)] = [("jsonrpc", "2.0"), ("method", .string(method))]
        if let params { members.append(("params", params)) }
        if let id { members.append(("id", id.json)) }
        return .object(members)
    }
}
