import Foundation
import LoraJSON
import Testing

/// lorctl's exit statuses: 0 success, 1 the daemon returned an error, 2 nothing to talk to, 64 usage; and the
/// socket it picks.
@Suite(.serialized)
struct LorctlExitStatusTests {
    @Test func nothingListeningExitsTwoAndSaysWhatToCheck() throws {
        let missing = "/tmp/lorctl-test-\(getpid())-missing/lorad.sock"
        let run = try LorctlRunner.run(["--socket", missing, "status"])
        #expect(run.status == 2)
        #expect(run.stdout.isEmpty)
        #expect(run.stderr.contains("no socket at \(missing)"))
        #expect(run.stderr.contains("is lorad running"))
        #expect(run.stderr.contains("socket from --socket"))
        let fromEnvironment = try LorctlRunner.run(["loras", "get"], environment: ["LORAD_SOCKET": missing])
        #expect(fromEnvironment.status == 2)
        #expect(fromEnvironment.stderr.contains("socket from LORAD_SOCKET"))
    }

    @Test func daemonErrorsExitOneWithNameAndMessage() throws {
        // 0666, so another uid reaches the socket and meets the daemon's own admin rule.
        let daemon = try LoradProcess(config: "[server]\nsocket_mode = \"0666\"\n")
        try daemon.start()
        let unknown = try daemon.runLorctl(["loras", "set", "nope"])
        #expect(unknown.status == 1)
        #expect(unknown.stdout.isEmpty)
        #expect(unknown.stderr.hasPrefix("lorctl: AdapterNotFound: "), "\(unknown.stderr)")
        #expect(unknown.stderr.hasSuffix("(code 1001)\n"))
        #expect(unknown.stderr.split(separator: "\n").count == 1, "one line, not a stack of JSON")
        let show = try daemon.runLorctl(["adapters", "show", "nope", "--json"])
        #expect(show.status == 1)
        #expect(show.stderr.hasPrefix("lorctl: AdapterNotFound: no adapter named nope"))
        let badParams = try daemon.runLorctl(["call", "generate", #"{"prompt":"x","seed":-1}"#])
        #expect(badParams.status == 1)
        #expect(badParams.stderr.contains("seed must be an integer"))
        #expect(badParams.stderr.contains("(code -32602)"))
        let unknownMethod = try daemon.runLorctl(["call", "nope"])
        #expect(unknownMethod.status == 1)
        #expect(unknownMethod.stderr.contains("Method not found"))
        // LORAD_SOCKET is used when --socket is not given.
        let viaEnvironment = try LorctlRunner.run(["status", "--json"], environment: ["LORAD_SOCKET": daemon.socketPath])
        #expect(viaEnvironment.status == 0)
        #expect(try viaEnvironment.json()["state"] == "serving")
        if getuid() == 0 {
            let denied = try daemon.lorctl(["loras", "set", "dragon"], asUID: 65534)
            #expect(denied.status == 1)
            #expect(denied.stderr.hasPrefix("lorctl: PermissionDenied: "))
            // A socket this user may not open: exit 2, and what to do about the group.
            chmod(daemon.socketPath, 0o660)
            let locked = try daemon.lorctl(["status"], asUID: 65534)
            #expect(locked.status == 2)
            #expect(locked.stderr.contains("permission denied on \(daemon.socketPath)"))
            #expect(locked.stderr.contains("usermod -aG lorad"))
        }
        #expect(daemon.stop() == 0)
    }

    @Test func usageErrorsExitSixtyFourWithoutCallingTheDaemon() throws {
        // Nothing listens here: a usage error must be found before connecting (else it would exit 2).
        let socket = "/tmp/lorctl-test-\(getpid())-usage/lorad.sock"
        let cases: [[String]] = [
            ["bogus"],
            ["adapters", "show"],
            ["adapters", "add", "onlyname"],
            ["loras", "set"],
            ["loras", "set", "dragon:lots"],
            ["loras", "set", "dragon", "--timeout", "5 parsecs"],
            ["loras", "set", "dragon", "--on-timeout", "explode"],
            ["jobs", "cancel", "seventeen"],
            ["generate", "x", "--max-tokens", "many"],
            ["call", "status", "[not json"],
            ["reload", "--timeout", "soon"],
            ["status", "--no-such-flag"],
        ]
        for arguments in cases {
            let run = try LorctlRunner.run(["--socket", socket] + arguments)
            #expect(run.status == 64, "lorctl \(arguments.joined(separator: " ")) exits 64, got \(run.status): \(run.stderr)")
            #expect(run.stderr.contains("Usage:") || run.stderr.contains("Error:"), "\(run.stderr)")
        }
        let help = try LorctlRunner.run(["--help"])
        #expect(help.status == 0)
        #expect(help.stdout.contains("0 success; 1 the daemon returned an error"))
        #expect(help.stdout.contains("64 usage error"))
    }
}
