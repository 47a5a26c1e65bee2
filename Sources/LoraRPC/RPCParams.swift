import LoraJSON

/// A call's parameters after validation against the method's declaration: always an object, only declared names,
/// every value of its declared type, so the typed accessors below return nil only for absent parameters.
public struct RPCParams: Sendable {
    /// The validated parameters object.
    public let object: JSONValue

    /// Wraps an already validated object (also for tests of handlers).
    public init(_ object: JSONValue) { self.object = object }

    /// The raw value of `name`, or nil when absent.
    public func value(_ name: String) -> JSONValue? { object[name] }
    /// Whether `name` was given (null counts as given only for nullable parameters).
    public func has(_ name: String) -> Bool { object[name] != nil }
    /// A string parameter.
    public func string(_ name: String) -> String? { object[name]?.stringValue }
    /// An integer parameter as `Int64`.
    public func int64(_ name: String) -> Int64? { object[name]?.numberValue?.int64 }
    /// An integer parameter as `UInt64`.
    public func uint64(_ name: String) -> UInt64? { object[name]?.numberValue?.uint64 }
    /// An integer parameter as `Int`.
    public func int(_ name: String) -> Int? { object[name]?.numberValue?.int }
    /// A number parameter as `Double`.
    public func double(_ name: String) -> Double? { object[name]?.numberValue?.double }
    /// A boolean parameter.
    public func bool(_ name: String) -> Bool? { object[name]?.boolValue }
    /// An array parameter.
    public func array(_ name: String) -> [JSONValue]? { object[name]?.arrayValue }
    /// An object parameter's members.
    public func objectMembers(_ name: String) -> [(String, JSONValue)]? { object[name]?.objectValue }
    /// Whether `name` was given as null (nullable parameters).
    public func isNull(_ name: String) -> Bool { object[name]?.isNull ?? false }
}
