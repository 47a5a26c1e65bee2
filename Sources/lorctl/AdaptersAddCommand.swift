import ArgumentParser
import Foundation
import LoraJSON

/// `lorctl adapters add NAME PATH`: imports a PEFT LoRA directory into the registry (addAdapter).
struct AdaptersAddCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add",
        abstract: "Import a PEFT LoRA adapter directory under a name.",
        discussion: """
            lorad copies the directory (adapter_config.json and adapter_model.safetensors) into its state \
            directory, hashes and validates it against the loaded model. PATH is read by lorad, not by lorctl: a \
            relative PATH is made absolute from the current directory. On a terminal the import steps are shown.
            """
    )

    @OptionGroup var client: ClientOptions

    @Argument(help: "The name to register it under (letters, digits, -, _, .).")
    var name: String

    @Argument(help: ArgumentHelp("The adapter directory.", valueName: "path"), completion: .directory)
    var path: String

    @Flag(help: "Replace an adapter of that name (refused while it is active).")
    var replace = false

    func run() throws {
        let absolute = URL(fileURLWithPath: path).standardizedFileURL.path
        var params: [(String, JSONValue)] = [("name", .string(name)), ("path", .string(absolute))]
        if replace { params.append(("replace", true)) }
        let connection = client.connect()
        let progress = ProgressLine()
        // The steps so far, e.g. `copying → hashing → validating`: the last one is in progress.
        let steps = StepTrail()
        connection.onNotification = { method, params in
            guard method == "addAdapter.progress", let step = params["step"]?.stringValue else { return }
            progress.update("adding \(params["name"]?.stringValue ?? ""): \(steps.appending(step))")
        }
        let adapter = connection.callOrExit("addAdapter", .object(params))
        progress.clear()
        if client.json { return printJSON(adapter) }
        print("added \(adapter["name"]?.stringOrEmpty ?? name)")
        print(AdaptersShowCommand.render(adapter), terminator: "")
    }
}
