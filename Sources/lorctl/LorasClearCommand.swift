import ArgumentParser
import LoraJSON

/// `lorctl loras clear`: turns adapters off (setLoras with no adapters).
struct LorasClearCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "clear",
        abstract: "Turn adapters off: serve the base model.",
        discussion: "Waits for running jobs like `loras set`."
    )

    @OptionGroup var client: ClientOptions
    @OptionGroup var options: SetLorasOptions

    func run() throws {
        let result = SetLorasCall(client: client, params: options.params(adapters: .null)).run()
        if client.json { return printJSON(result) }
        print(SetLorasCall.summary(result))
    }
}
