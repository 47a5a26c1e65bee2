import Foundation
import LoraJSON
import LoraRPC

extension RPCClient {
    /// Calls `method` and returns its result; on any failure prints it and exits with the documented status
    /// (1 for an error from the daemon, 2 when the daemon cannot be reached or the connection broke).
    func callOrExit(_ method: String, _ params: JSONValue? = nil, timeout: Duration? = nil) -> JSONValue {
        do {
            return try call(method, params: params, timeout: timeout)
        } catch {
            LorctlFailure.from(error).exit()
        }
    }
}

extension JSONValue {
    /// The integer at this value, or 0 (for display only; lorctl never decides on a missing number).
    var intOrZero: Int { numberValue?.int ?? 0 }
    /// The number at this value, or 0.
    var doubleOrZero: Double { numberValue?.double ?? 0 }
    /// The string at this value, or "".
    var stringOrEmpty: String { stringValue ?? "" }
}

/// Prints a result as `--json` asks: the raw result, one line of JSON.
func printJSON(_ value: JSONValue) {
    print(value.serializedString)
}
