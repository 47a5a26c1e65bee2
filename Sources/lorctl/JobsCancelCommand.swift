import ArgumentParser
import LoraJSON

/// `lorctl jobs cancel ID`: cancels a queued or running job.
struct JobsCancelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cancel",
        abstract: "Cancel a queued or running job (your own; an admin's, anyone's)."
    )

    @OptionGroup var client: ClientOptions

    @Argument(help: "The job's id, as `lorctl jobs list` shows it.")
    var id: UInt64

    func run() throws {
        let result = client.connect().callOrExit("cancel", ["jobId": .uint64(id)])
        if client.json { return printJSON(result) }
        if result["cancelled"]?.boolValue == true {
            print("cancelled job \(id)")
        } else {
            print("job \(id) was already finishing; nothing to cancel")
        }
    }
}
