import LoraJSON

/// The methods a server dispatches, as data. Validates parameters before any handler runs and generates the
/// `rpc.discover` OpenRPC document from the same entries.
///
/// Parameters are by name only: a non-empty positional array is an Invalid params error saying which names to use
/// (an empty array is taken as no parameters).
public struct RPCMethodTable: Sendable {
    /// The methods in declaration order, `rpc.discover` last.
    public private(set) var methods: [RPCMethod]
    private let index: [String: Int]
    /// The OpenRPC document, built once.
    public let discoverDocument: JSONValue

    /// A table of `methods` plus `rpc.discover`; `title` and `version` go into the document's `info`.
    public init(methods: [RPCMethod], title: String, version: String) {
        var all = methods
        let documentBox = DocumentBox()
        all.append(RPCMethod(name: "rpc.discover", summary: "The OpenRPC description of every method of this service.",
                             resultName: "OpenRPC document", result: ["type": "object"]) { call in
            call.reply(documentBox.document)
        })
        var index: [String: Int] = [:]
        for (i, method) in all.enumerated() where index[method.name] == nil { index[method.name] = i }
        self.methods = all
        self.index = index
        let document: JSONValue = [
            "openrpc": "1.3.2",
            "info": ["title": .string(title), "version": .string(version)],
            "methods": .array(all.map { method in
                var entry: [(String, JSONValue)] = [("name", .string(method.name)), ("summary", .string(method.summary))]
                entry.append(("params", .array(method.params.map { param in
                    var p: [(String, JSONValue)] = [("name", .string(param.name)), ("required", .bool(param.required))]
                    if !param.description.isEmpty { p.append(("description", .string(param.description))) }
                    p.append(("schema", param.type.schema))
                    return .object(p)
                })))
                entry.append(("paramStructure", "by-name"))
                entry.append(("result", ["name": .string(method.resultName), "schema": method.result]))
                if method.admin { entry.append(("x-admin", true)) }
                return .object(entry)
            }),
        ]
        documentBox.document = document
        discoverDocument = document
    }

    /// The method called `name`.
    public func method(named name: String) -> RPCMethod? {
        index[name].map { methods[$0] }
    }

    /// Checks `params` against `method`'s declaration: -32602 naming the parameter, what it must be and what it got.
    public func validate(_ params: JSONValue?, for method: RPCMethod) -> Result<RPCParams, RPCError> {
        var object: JSONValue
        switch params {
        case nil: object = [:]
        case .array(let items)? where items.isEmpty: object = [:]
        case .array(let items)?:
            // Named parameters only: positional values would silently change meaning when a parameter is added.
            let names = method.params.map(\.name).joined(separator: ", ")
            let expected = method.params.isEmpty ? "absent (\(method.name) takes no parameters)"
                : "an object of named parameters (\(names))"
            return .failure(RPCParamType.mismatch("params", expected, got: "an array of \(items.count) items"))
        case let other?: object = other
        }
        return RPCParam.validate(object, against: method.params, prefix: "").map { RPCParams($0) }
    }
}

/// Lets the `rpc.discover` handler reach the document built after it (set once, during `init`, before any use).
private final class DocumentBox: @unchecked Sendable {
    var document: JSONValue = [:]
}
