import LoraJSON

/// One declared parameter of a method.
public struct RPCParam: Sendable {
    /// The parameter's name (the key in the params object).
    public var name: String
    /// Its type.
    public var type: RPCParamType
    /// Whether it must be present.
    public var required: Bool
    /// What it is for (goes into `rpc.discover` and the API docs).
    public var description: String

    /// A parameter.
    public init(_ name: String, _ type: RPCParamType, required: Bool = false, description: String = "") {
        self.name = name
        self.type = type
        self.required = required
        self.description = description
    }

    /// The OpenRPC schema of the parameter (its type's schema plus the description).
    public var schema: JSONValue {
        guard !description.isEmpty, case .object(var members) = type.schema else { return type.schema }
        members.append(("description", .string(description)))
        return .object(members)
    }

    /// Validates an object's members against `params`: unknown names, missing required members and ill-typed
    /// values are -32602 errors naming the member (prefixed by `prefix`). An explicit null for an optional member
    /// whose type does not accept null counts as absent and is dropped from the result.
    static func validate(_ value: JSONValue, against params: [RPCParam], prefix: String) -> Result<JSONValue, RPCError> {
        guard case .object(let members) = value else {
            return .failure(RPCParamType.mismatch(prefix.isEmpty ? "params" : String(prefix.dropLast()), "an object",
                                                  got: RPCParamType.describe(value)))
        }
        var kept: [(String, JSONValue)] = []
        kept.reserveCapacity(members.count)
        for (key, member) in members {
            guard let param = params.first(where: { $0.name.utf8.elementsEqual(key.utf8) }) else {
                let known = params.isEmpty ? "no parameters" : "one of " + params.map(\.name).joined(separator: ", ")
                let path = prefix + key
                return .failure(.invalidParams("unknown parameter \(path); expected \(known)",
                                               data: ["param": .string(path), "expected": .string(known), "got": "an unknown parameter"]))
            }
            if members.lazy.filter({ $0.0.utf8.elementsEqual(key.utf8) }).count > 1 {
                let path = prefix + key
                return .failure(.invalidParams("\(path) is given more than once; give it once",
                                               data: ["param": .string(path), "expected": "one value", "got": "several"]))
            }
            if case .null = member, !param.type.acceptsNull, !param.required { continue }
            if let error = param.type.validate(member, path: prefix + key) { return .failure(error) }
            kept.append((key, member))
        }
        for param in params where param.required && !kept.contains(where: { $0.0.utf8.elementsEqual(param.name.utf8) }) {
            return .failure(RPCParamType.mismatch(prefix + param.name, param.type.expectation, got: "nothing (it is required)"))
        }
        return .success(.object(kept))
    }
}
