import LoraJSON

/// A method handler: called on the server's queue with a validated call; it must not block, and replies through
/// `call.reply` whenever its work is done.
public typealias RPCHandler = @Sendable (RPCCall) -> Void

/// One entry of the method table: name, documentation, parameter schema, whether admins only, and the handler.
public struct RPCMethod: Sendable {
    /// The method name (camelCase).
    public var name: String
    /// One line: what the method does.
    public var summary: String
    /// The declared parameters (by name).
    public var params: [RPCParam]
    /// What the result is called in `rpc.discover`.
    public var resultName: String
    /// The JSON Schema of the result (`{}` when undocumented).
    public var result: JSONValue
    /// Whether only admins may call it (`UnixSocketServer`'s `authorize` decides who is one).
    public var admin: Bool
    /// The handler.
    public var handler: RPCHandler

    /// A method.
    public init(name: String, summary: String, params: [RPCParam] = [], resultName: String? = nil, result: JSONValue = [:],
                admin: Bool = false, handler: @escaping RPCHandler) {
        self.name = name
        self.summary = summary
        self.params = params
        self.resultName = resultName ?? "\(name)Result"
        self.result = result
        self.admin = admin
        self.handler = handler
    }
}
