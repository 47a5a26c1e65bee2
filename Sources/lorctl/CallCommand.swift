import ArgumentParser
import Foundation
import LoraJSON
import LoraRPC

/// `lorctl call METHOD [PARAMS]`: any method, raw; the result is printed as JSON.
struct CallCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "call",
        abstract: "Call any JSON-RPC method and print its result as JSON.",
        discussion: "Notifications the call produces (generate.delta, addAdapter.progress) are printed to stderr as they arrive."
    )

    @OptionGroup var client: ClientOptions

    @Argument(help: "The method, e.g. status, generate, setLoras.")
    var method: String

    @Argument(help: "The parameters as a JSON object, e.g. '{\"name\": \"dragon\"}'.")
    var params: String?

    func validate() throws {
        if let params {
            guard let value = try? JSONValue.parse(params), value.objectValue != nil || value.arrayValue != nil else {
                throw ValidationError("PARAMS must be a JSON object (or array), got: \(params)")
            }
        }
    }

    func run() throws {
        let parsed = try params.map { try JSONValue.parse($0) }
        let connection = client.connect()
        connection.onNotification = { method, params in
            FileHandle.standardError.write(Data("\(method) \(params.serializedString)\n".utf8))
        }
        do {
            let result = try connection.call(method, params: parsed)
            print(result.serializedString)
        } catch {
            LorctlFailure.from(error).exit()
        }
    }
}
