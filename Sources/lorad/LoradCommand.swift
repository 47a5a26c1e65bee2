import ArgumentParser
import CKernelSupport

/// The `lorad` executable: the daemon (`serve`, the default) and offline tools for checking models,
/// adapters and tokenizers without a running daemon.
@main
struct LoradCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lorad",
        abstract: "Serve a Llama-family model with switchable LoRA adapters on the CPU.",
        subcommands: [ServeCommand.self, EvalCommand.self, TokenizeCommand.self, GenerateCommand.self],
        defaultSubcommand: ServeCommand.self
    )

    /// Checks the CPU before anything built for AVX2 runs: without the check an older CPU dies of SIGILL.
    static func main() {
        #if LORAD_VECTOR_ISA
        lorad_require_vector_kernels("lorad")
        #endif
        main(nil)
    }
}
