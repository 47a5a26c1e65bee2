import LoraJSON

/// A JSON-RPC error object: the standard protocol errors, or an application error with its own code.
public struct RPCError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The error code (-32768...-32000 are reserved for the protocol and the server).
    public var code: Int
    /// A short message that tells the user what went wrong and what to do.
    public var message: String
    /// Details; application errors carry at least `{"name": ...}`.
    public var data: JSONValue?

    /// An error with the given fields.
    public init(code: Int, message: String, data: JSONValue? = nil) {
        self.code = code
        self.message = message
        self.data = data
    }

    /// An application error: `data` is `{"name": name}` followed by `details`' members (when an object).
    public init(code: Int, name: String, message: String, details: JSONValue? = nil) {
        var members: [(String, JSONValue)] = [("name", .string(name))]
        if let extra = details?.objectValue { members += extra } else if let details { members.append(("details", details)) }
        self.init(code: code, message: message, data: .object(members))
    }

    /// -32700: the line is not JSON; `reason` says where.
    public static func parseError(_ reason: String? = nil) -> RPCError {
        RPCError(code: -32700, message: "Parse error", data: reason.map { ["reason": .string($0)] })
    }

    /// -32600: the message is not a valid request; `reason` says why.
    public static func invalidRequest(_ reason: String? = nil) -> RPCError {
        RPCError(code: -32600, message: "Invalid Request", data: reason.map { ["reason": .string($0)] })
    }

    /// -32601: no method `name`.
    public static func methodNotFound(_ name: String) -> RPCError {
        RPCError(code: -32601, message: "Method not found", data: ["method": .string(name), "hint": "rpc.discover lists the methods"])
    }

    /// -32602: the parameters are wrong; `message` names the parameter, what it must be and what it got.
    public static func invalidParams(_ message: String, data: JSONValue? = nil) -> RPCError {
        RPCError(code: -32602, message: message, data: data)
    }

    /// -32603: a fault in the server, not in the request.
    public static func internalError(_ reason: String? = nil) -> RPCError {
        RPCError(code: -32603, message: "Internal error", data: reason.map { ["reason": .string($0)] })
    }

    /// The `data.name` of an application error, if any.
    public var name: String? { data?["name"]?.stringValue }

    /// The error object as JSON: `{"code":...,"message":...,"data":...}`.
    public var json: JSONValue {
        var members: [(String, JSONValue)] = [("code", .int(code)), ("message", .string(message))]
        if let data { members.append(("data", data)) }
        return .object(members)
    }

    /// The error read back from JSON (for clients), or nil when `value` is not an error object.
    public init?(json value: JSONValue) {
        guard let code = value["code"]?.numberValue?.int, let message = value["message"]?.stringValue else { return nil }
        self.init(code: code, message: message, data: value["data"])
    }

    /// "message (code N)".
    public var description: String { "\(message) (code \(code))" }
}

/// An error of the service that maps to a JSON-RPC application error (code outside the reserved range, a stable
/// name in `data.name`, a message telling the user what to do, details merged into `data`).
public protocol RPCApplicationError: Error {
    /// The error code.
    var rpcCode: Int { get }
    /// The stable name, e.g. "AdapterNotFound".
    var rpcName: String { get }
    /// What went wrong and what to do.
    var rpcMessage: String { get }
    /// Extra members for `data` (an object), or nil.
    var rpcDetails: JSONValue? { get }
}

extension RPCApplicationError {
    /// No details by default.
    public var rpcDetails: JSONValue? { nil }

    /// The JSON-RPC error object for this error.
    public var rpcError: RPCError { RPCError(code: rpcCode, name: rpcName, message: rpcMessage, details: rpcDetails) }
}
