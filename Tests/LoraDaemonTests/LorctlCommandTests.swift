import Foundation
import LoraJSON
import Testing

/// Every lorctl command against a real lorad on the embedded demo, in human and `--json` form.
@Suite(.serialized)
struct LorctlCommandTests {
    @Test func readOnlyCommandsInHumanAndJSONForm() throws {
        let daemon = try LoradProcess()
        try daemon.start()

        let status = try daemon.runLorctl(["status"])
        #expect(status.status == 0, "\(status.stderr)")
        for label in ["lorad", "model", "jobs", "kv cache", "adapters", "registry"] {
            #expect(status.stdout.split(separator: "\n").contains { $0.hasPrefix(label + " ") }, "status shows \(label): \(status.stdout)")
        }
        #expect(status.stdout.contains("serving"))
        #expect(status.stdout.contains("stories260K (embedded demo)"))
        #expect(status.stdout.contains("2 adapters registered"))
        let statusJSON = try daemon.runLorctl(["status", "--json"]).json()
        #expect(statusJSON["state"] == "serving")
        #expect(statusJSON["pid"]?.numberValue?.int == Int(daemon.pid))
        // Global options before the command, as people type them.
        let hoisted = try daemon.runLorctl(["--json", "status"])
        #expect(try hoisted.json()["version"] == statusJSON["version"])

        let list = try daemon.runLorctl(["adapters", "list"])
        #expect(list.status == 0)
        let lines = list.stdout.split(separator: "\n").map(String.init)
        #expect(lines.count == 3)
        #expect(lines.first?.hasPrefix("NAME") == true)
        // Aligned: each column starts where its header does.
        if let header = lines.first, let stateColumn = header.range(of: "STATE")?.lowerBound.utf16Offset(in: header),
           let activeColumn = header.range(of: "ACTIVE")?.lowerBound.utf16Offset(in: header) {
            for line in lines.dropFirst() {
                #expect(String(line.dropFirst(activeColumn)).hasPrefix("no "), "ACTIVE column aligned: \(line)")
                #expect(String(line.dropFirst(stateColumn)) == "ok", "STATE column aligned: \(line)")
            }
        }
        #expect(lines.contains { $0.hasPrefix("dragon ") && $0.contains(" KiB") })
        let listJSON = try daemon.runLorctl(["adapters", "--json"]).json()
        #expect(listJSON == (try daemon.request("listAdapters").result()), "--json prints the raw result (and list is the default)")

        let dragon = try #require(listJSON["adapters"]?.arrayValue?.first { $0["name"] == "dragon" })
        let show = try daemon.runLorctl(["adapters", "show", "dragon"])
        #expect(show.status == 0)
        #expect(show.stdout.contains("\ndigest   \(dragon["digest"]?.stringValue ?? "-")\n"), "\(show.stdout)")
        #expect(show.stdout.contains("\nrank     8, alpha 16\n"))
        #expect(show.stdout.contains("\ntargets  q_proj,k_proj,v_proj,o_proj\n"))
        #expect(try daemon.runLorctl(["adapters", "show", "dragon", "--json"]).json() == dragon)

        let verify = try daemon.runLorctl(["adapters", "verify"])
        #expect(verify.status == 0)
        #expect(verify.stdout == "NAME    RESULT  PROBLEM\ndragon  ok\nsnow    ok\n")
        let verifyOne = try daemon.runLorctl(["adapters", "verify", "snow", "--json"]).json()
        #expect(verifyOne["adapters"]?.arrayValue?.map { $0["name"] } == ["snow"])

        let loras = try daemon.runLorctl(["loras"])
        #expect(loras.stdout == "epoch 0: base model, no adapters\n")
        #expect(try daemon.runLorctl(["loras", "get", "--json"]).json() == (try daemon.request("getLoras").result()))

        let jobs = try daemon.runLorctl(["jobs"])
        #expect(jobs.stdout == "no queued or running jobs\n")
        #expect(try daemon.runLorctl(["jobs", "list", "--json"]).json() == ["jobs": []])

        let reload = try daemon.runLorctl(["reload"])
        #expect(reload.status == 0, "\(reload.stderr)")
        #expect(reload.stdout == "reloaded the configuration\napplied  nothing changed\n")
        try "[loras]\ndefault_timeout_ms = 1234\n".write(to: daemon.configPath, atomically: true, encoding: .utf8)
        let reloaded = try daemon.runLorctl(["reload", "--wait", "--json"]).json()
        #expect(reloaded["applied"] == ["loras.default_timeout_ms"])
        #expect(reloaded["requiresRestart"] == [])

        let call = try daemon.runLorctl(["call", "getLoras"])
        #expect(try call.json()["epoch"] == 0)
        let discover = try daemon.runLorctl(["call", "rpc.discover"])
        #expect(try discover.json()["methods"]?.arrayValue?.isEmpty == false)
        #expect(daemon.stop() == 0)
    }

    @Test func adapterLifecycleThroughLorctl() throws {
        let daemon = try LoradProcess()
        try daemon.start()
        let source = LorctlRunner.demoAdapter("dragon")

        let add = try daemon.runLorctl(["adapters", "add", "pirate", source.path])
        #expect(add.status == 0, "\(add.stderr)")
        #expect(add.stdout.hasPrefix("added pirate\nname     pirate\n"), "\(add.stdout)")
        #expect(!add.stderr.contains("\r"), "no progress drawn when stderr is not a terminal")
        let again = try daemon.runLorctl(["adapters", "add", "pirate", source.path])
        #expect(again.status == 1)
        #expect(again.stderr.hasPrefix("lorctl: AdapterExists: "))
        #expect(again.stderr.contains("(code 1004)"))
        // A relative path is resolved from lorctl's working directory, not lorad's.
        let replaced = try daemon.runLorctl(["adapters", "add", "pirate", "snow", "--replace", "--json"], directory: source.deletingLastPathComponent())
        #expect(replaced.status == 0, "\(replaced.stderr)")
        #expect(try replaced.json()["targetModules"] == ["gate_proj", "up_proj", "down_proj"])

        let set = try daemon.runLorctl(["loras", "set", "pirate:0.5", "dragon"])
        #expect(set.status == 0, "\(set.stderr)")
        #expect(set.stdout.hasPrefix("epoch 1: pirate:0.5, dragon:1 (no running jobs to wait for; took "))
        let busy = try daemon.runLorctl(["adapters", "rm", "pirate"])
        #expect(busy.status == 1)
        #expect(busy.stderr.hasPrefix("lorctl: AdapterActive: "))
        let cleared = try daemon.runLorctl(["loras", "clear", "--json"]).json()
        #expect(cleared["epoch"] == 2)
        #expect(cleared["adapters"] == [])
        #expect(try daemon.runLorctl(["adapters", "rm", "pirate"]).stdout == "removed pirate\n")
        #expect(try daemon.runLorctl(["adapters", "add", "parrot", source.path, "--json"]).json()["name"] == "parrot")
        #expect(try daemon.runLorctl(["adapters", "rm", "parrot", "--json"]).json() == ["name": "parrot", "removed": true])
        #expect(try daemon.runLorctl(["adapters", "list", "--json"]).json()["adapters"]?.arrayValue?.count == 2)

        if LorctlRunner.canUseTerminal {
            // On a terminal the import steps are drawn on one line, then erased before the result.
            let shown = try daemon.lorctlOnTerminal(["adapters", "add", "kraken", source.path])
            #expect(shown.status == 0)
            #expect(shown.stdout.contains("\r\u{1B}[2Kadding kraken: copying"), "\(shown.stdout.debugDescription)")
            #expect(shown.stdout.contains("copying → hashing"))
            #expect(shown.stdout.contains("\r\u{1B}[2Kadded kraken"))
        }
        #expect(daemon.stop() == 0)
    }

    @Test func jobsListAndCancel() throws {
        let daemon = try LoradProcess()
        daemon.environment["LORAD_TEST_HOOKS"] = "1"
        try daemon.start()
        let long = try daemon.startLorctl(["generate", "Once upon a time", "--max-tokens", "500", "--ignore-eos"])
        #expect(try daemon.waitForRunningJobs(1))
        // The engine is held (test hook) so the job is still running whatever the build's speed.
        kill(daemon.pid, SIGUSR2)
        let jobs = try daemon.runLorctl(["jobs", "list", "--json"]).json()["jobs"]?.arrayValue ?? []
        let id = try #require(jobs.first?["jobId"]?.numberValue?.int)
        #expect(jobs.first?["stream"] == true)
        let table = try daemon.runLorctl(["jobs"]).stdout.split(separator: "\n")
        #expect(table.first?.contains("ID  STATE    OWNER") == true, "\(table)")
        #expect(table.dropFirst().first?.contains("running") == true)
        let cancelled = try daemon.runLorctl(["jobs", "cancel", "\(id)"])
        #expect(cancelled.stdout == "cancelled job \(id)\n")
        kill(daemon.pid, SIGUSR2)
        // Someone else cancelled lorctl's job: it reports that and exits 1.
        #expect(long.wait() == 1)
        let gone = try daemon.runLorctl(["jobs", "cancel", "\(id)", "--json"])
        #expect(gone.status == 1)
        #expect(gone.stderr.hasPrefix("lorctl: JobNotFound: "))
        #expect(daemon.stop() == 0)
    }

    @Test func completionScripts() throws {
        for shell in ["bash", "zsh", "fish"] {
            let run = try LorctlRunner.run(["completions", shell])
            #expect(run.status == 0)
            for word in ["lorctl", "adapters", "loras", "generate", "max-tokens", "on-timeout"] {
                #expect(run.stdout.contains(word), "\(shell) completion mentions \(word)")
            }
        }
        #expect(try LorctlRunner.run(["completions", "tcsh"]).status == 64)
    }
}
