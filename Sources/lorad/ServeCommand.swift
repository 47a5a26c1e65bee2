import ArgumentParser
import Foundation
import Logging
import LoraDaemon

/// `lorad serve` (also `lorad` with no subcommand): the long-running service.
struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the model over JSON-RPC on a Unix socket (the default command).",
        discussion: """
            Settings come from the embedded defaults, then the configuration file (--config, $LORAD_CONFIG, or \
            $CONFIGURATION_DIRECTORY/lorad.toml), then $LORAD_MODEL, $LORAD_STATE_DIR and $LORAD_SOCKET, then these \
            flags. With no model configured lorad serves the embedded demo (stories260K with its dragon and snow \
            adapters). SIGTERM or SIGINT stops it gracefully; SIGHUP reloads the configuration.
            Exit status: 0 after a clean stop, 78 for a configuration error, 1 when it cannot start otherwise.
            """)

    @Option(help: ArgumentHelp("The TOML configuration file.", valueName: "file"))
    var config: String?

    @Option(help: ArgumentHelp("A Hugging Face checkpoint directory to serve instead of the demo.", valueName: "dir"))
    var model: String?

    @Option(name: .customLong("state-dir"), help: ArgumentHelp("Where the adapter registry lives.", valueName: "dir"))
    var stateDir: String?

    @Option(help: ArgumentHelp("The Unix socket to listen on.", valueName: "path"))
    var socket: String?

    @Flag(name: .customLong("check-config"), help: "Validate the configuration, print it, and exit (0 when valid, 78 when not).")
    var checkConfig = false

    func run() throws {
        let loader = ConfigurationLoader(flags: .init(configFile: config, modelPath: model, stateDirectory: stateDir, socketPath: socket))
        let configuration: DaemonConfiguration
        do {
            configuration = try loader.load()
        } catch {
            FileHandle.standardError.write(Data("lorad: \(error)\n".utf8))
            if !checkConfig { ServiceNotifier().startFailed(status: "lorad: invalid configuration: \(error)", errno: EINVAL) }
            throw ExitCode(DaemonExit.configuration)
        }
        if checkConfig {
            print(ConfigurationSummary.text(configuration))
            return
        }
        LogLevelSwitch.shared.level = configuration.logLevel
        // Under systemd, stderr is the journal: log there with structured fields instead of plain lines.
        if JournalLogHandler.stderrIsJournal() {
            LoggingSystem.bootstrap { JournalLogHandler(label: $0) }
        } else {
            LoggingSystem.bootstrap { StderrLogHandler(label: $0) }
        }
        let logger = Logger(label: "lorad")
        let code = DaemonRunner.run(configuration: configuration, loader: loader, logger: logger)
        throw ExitCode(code)
    }
}
