import ArgumentParser
import LoraJSON

/// `lorctl loras set NAME[:SCALE]...`: replaces the adapter set in force (setLoras).
struct LorasSetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "set",
        abstract: "Replace the adapter set in force.",
        discussion: """
            Jobs already running finish under the old set; jobs submitted meanwhile wait and run under the new one. \
            lorctl returns once the new set is committed. On a terminal it shows how many running jobs it waits for \
            and for how long. Example: lorctl loras set dragon:0.5 snow --timeout 30s
            """
    )

    @OptionGroup var client: ClientOptions

    @Argument(help: ArgumentHelp("The adapters, each as NAME or NAME:SCALE (scale defaults to 1).", valueName: "name[:scale]"))
    var adapters: [String]

    @OptionGroup var options: SetLorasOptions

    func validate() throws {
        guard !adapters.isEmpty else { throw ValidationError("give at least one adapter; `lorctl loras clear` turns adapters off") }
        for adapter in adapters where Self.entry(adapter) == nil {
            throw ValidationError("'\(adapter)' is not NAME or NAME:SCALE with a finite number as SCALE, e.g. dragon:0.5")
        }
    }

    func run() throws {
        let entries = adapters.compactMap(Self.entry)
        let list: JSONValue = .array(entries.map { ["name": .string($0.name), "scale": .double($0.scale)] })
        let result = SetLorasCall(client: client, params: options.params(adapters: list)).run()
        if client.json { return printJSON(result) }
        print(SetLorasCall.summary(result))
    }

    /// `dragon` → (dragon, 1); `dragon:0.5` → (dragon, 0.5); nil for a bad scale. The scale is after the last
    /// colon, so a name never has to be quoted.
    static func entry(_ text: String) -> (name: String, scale: Double)? {
        guard let colon = text.lastIndex(of: ":") else { return text.isEmpty ? nil : (text, 1) }
        let name = String(text[..<colon])
        guard !name.isEmpty, let scale = Double(text[text.index(after: colon)...]), scale.isFinite else { return nil }
        return (name, scale)
    }
}
