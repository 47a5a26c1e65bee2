import Foundation
import LoraJSON
import Testing

/// Start, stop, crash and restart, who may do what, and the setLoras barrier as seen through the socket.
@Suite(.serialized)
struct LifecycleTests {
    @Test func registryAndActiveSetSurviveKillNine() throws {
        let daemon = try LoradProcess()
        try daemon.start()
        let client = try daemon.connect()
        let names = try client.call("listAdapters").result()["adapters"]?.arrayValue?.compactMap { $0["name"]?.stringValue }
        #expect(names?.sorted() == ["dragon", "snow"], "the demo's adapters are registered on first start")
        let set = try client.call("setLoras", ["adapters": [["name": "dragon", "scale": 0.75], ["name": "snow"]]]).result()
        let epoch = try #require(set["epoch"]?.numberValue?.int)
        let before = try client.call("generate", ["prompt": "Once upon a time", "maxTokens": 32, "temperature": 0]).result()

        #expect(daemon.stop(signal: SIGKILL) == SIGKILL)
        // The crash left its socket file behind: a restart replaces it.
        #expect(FileManager.default.fileExists(atPath: daemon.socketPath))
        try daemon.start()
        let again = try daemon.connect()
        let loras = try again.call("getLoras").result()
        #expect(loras["epoch"]?.numberValue?.int == epoch)
        #expect(Self.entries(loras["adapters"]) == ["dragon:0.75", "snow:1.0"])
        let after = try again.call("generate", ["prompt": "Once upon a time", "maxTokens": 32, "temperature": 0]).result()
        #expect(after["text"] == before["text"], "the restored set writes what the set wrote before the crash")
        #expect(after["loras"]?["epoch"]?.numberValue?.int == epoch)
        let next = try again.call("setLoras", ["adapters": .null]).result()
        #expect(next["epoch"]?.numberValue?.int == epoch + 1)
        #expect(daemon.stop() == 0)
    }

    @Test func aCommittedSetThatCannotBeRestoredStartsWithAdaptersOffAndSaysSo() throws {
        let daemon = try LoradProcess()
        try daemon.start()
        let set = try daemon.request("setLoras", ["adapters": [["name": "snow"]]]).result()
        let epoch = try #require(set["epoch"]?.numberValue?.int)
        let digest = try #require(daemon.request("listAdapters").result()["adapters"]?.arrayValue?.first { $0["name"] == "snow" }?["digest"]?.stringValue)
        #expect(daemon.stop() == 0)
        // The stored copy is damaged while lorad is down.
        let weights = daemon.stateDirectory.appendingPathComponent("adapters/\(digest)/adapter_model.safetensors")
        let handle = try FileHandle(forWritingTo: weights)
        try handle.seek(toOffset: 200)
        handle.write(Data(repeating: 0x5A, count: 64))
        try handle.close()
        try daemon.start()
        let status = try daemon.request("status").result()
        #expect(status["loras"]?["restoreProblem"]?.stringValue?.contains("snow") == true, "\(status.serializedString)")
        let loras = try daemon.request("getLoras").result()
        #expect(loras["adapters"] == [])
        #expect(loras["epoch"]?.numberValue?.int == epoch + 1, "a new epoch: 'no adapters' is not what epoch \(epoch) meant")
        #expect(daemon.stderr.contains("cannot be restored"))
        #expect(try daemon.request("generate", ["prompt": "Once", "maxTokens": 4]).result()["usage"]?["completionTokens"] == 4)
        #expect(daemon.stop() == 0)
    }

    @Test func anAdapterInAPendingSetLorasCannotBeRemoved() throws {
        let daemon = try LoradProcess()
        daemon.environment["LORAD_TEST_HOOKS"] = "1"
        try daemon.start()
        let job = try daemon.connect()
        job.write(#"{"jsonrpc":"2.0","id":1,"method":"generate","params":{"prompt":"Once upon a time","maxTokens":400,"ignoreEos":true,"stream":true}}"# + "\n")
        while let line = job.readLine(), !line.contains("generate.delta") {}
        kill(daemon.pid, SIGUSR2)
        let admin = try daemon.connect()
        admin.write(#"{"jsonrpc":"2.0","id":"set","method":"setLoras","params":{"adapters":[{"name":"snow"}]}}"# + "\n")
        var pending = 0
        for _ in 0..<500 where pending != 1 {
            pending = try daemon.request("status").result()["engine"]?["pendingSetLoras"]?.numberValue?.int ?? 0
            if pending != 1 { usleep(2_000) }
        }
        let removal = try daemon.request("removeAdapter", ["name": "snow"])
        #expect(removal.errorName == "AdapterActive", "\(removal.serializedString)")
        kill(daemon.pid, SIGUSR2)
        let committed = try JSONValue.parse(#require(admin.readLine()))
        #expect(committed["result"]?["adapters"]?.arrayValue?.first?["name"] == "snow")
        #expect(daemon.stop() == 0)
    }

    @Test func aSecondDaemonIsRefused() throws {
        let first = try LoradProcess()
        try first.start()
        // Same socket, other state: another lorad is listening there.
        let sameSocket = try LoradProcess(arguments: ["--socket", first.socketPath])
        #expect(throws: (any Error).self) { try sameSocket.start(timeout: 20) }
        #expect(sameSocket.stderr.contains(first.socketPath))
        #expect(!sameSocket.isRunning)
        // Same state directory, other socket: the registry's lock refuses it.
        let sameState = try LoradProcess(arguments: ["--state-dir", first.stateDirectory.path])
        #expect(throws: (any Error).self) { try sameState.start(timeout: 20) }
        #expect(sameState.stderr.contains(first.stateDirectory.path))
        // The first one serves on, undisturbed.
        #expect(try first.request("status").result()["state"] == "serving")
        #expect(first.stop() == 0)
    }

    @Test func nonAdminPeersMayReadAndGenerateButNotChange() throws {
        let daemon = try LoradProcess(config: "[server]\nsocket_mode = \"0666\"\n")
        try daemon.start()
        let mode = try FileManager.default.attributesOfItem(atPath: daemon.socketPath)[.posixPermissions] as? Int
        #expect(mode == 0o666)
        let status = try daemon.lorctl(["call", "status"], asUID: 65534)
        #expect(status.status == 0, "\(status.stderr)")
        let generate = try daemon.lorctl(["call", "generate", #"{"prompt":"Once","maxTokens":4}"#], asUID: 65534)
        #expect(generate.status == 0, "\(generate.stderr)")
        let denied = try daemon.lorctl(["call", "setLoras", #"{"adapters":[{"name":"dragon"}]}"#], asUID: 65534)
        #expect(denied.status == 1)
        #expect(denied.stderr.contains("PermissionDenied"))
        #expect(try daemon.request("getLoras").result()["adapters"] == [], "nothing changed")
        // root is an admin.
        let allowed = try daemon.lorctl(["call", "setLoras", #"{"adapters":[{"name":"dragon"}]}"#])
        #expect(allowed.status == 0, "\(allowed.stderr)")
        #expect(daemon.stop() == 0)
    }

    @Test func usersAndGroupsNamedInTheConfigurationAreAdmins() throws {
        for access in ["admin_users = [\"nobody\"]", "admin_users = [\"65534\"]", "admin_groups = [\"65534\"]"] {
            let daemon = try LoradProcess(config: "[server]\nsocket_mode = \"0666\"\n[access]\n\(access)\n")
            try daemon.start()
            let set = try daemon.lorctl(["call", "setLoras", #"{"adapters":[{"name":"snow"}]}"#], asUID: 65534)
            #expect(set.status == 0, "\(access): \(set.stderr)")
            #expect(daemon.stop() == 0)
        }
        // And nobody else: uid 65533 is in neither list.
        let daemon = try LoradProcess(config: "[server]\nsocket_mode = \"0666\"\n[access]\nadmin_users = [\"65534\"]\n")
        try daemon.start()
        let denied = try daemon.lorctl(["call", "setLoras", #"{"adapters":null}"#], asUID: 65533)
        #expect(denied.status == 1)
        #expect(denied.stderr.contains("PermissionDenied"))
        #expect(daemon.stop() == 0)
    }

    @Test func defaultSocketModeIs0660() throws {
        let daemon = try LoradProcess()
        try daemon.start()
        let mode = try FileManager.default.attributesOfItem(atPath: daemon.socketPath)[.posixPermissions] as? Int
        #expect(mode == 0o660)
        let denied = try daemon.lorctl(["call", "status"], asUID: 65534)
        #expect(denied.status == 2, "another user outside the group cannot even connect: \(denied.stderr)")
        #expect(daemon.stop() == 0)
    }

    @Test func setLorasWaitsForRunningJobsAndLaterJobsRunUnderTheNewSet() throws {
        let daemon = try LoradProcess()
        // The test hook (SIGUSR2) holds the engine thread, so the earlier jobs are certainly still running when
        // setLoras arrives, however fast the build.
        daemon.environment["LORAD_TEST_HOOKS"] = "1"
        try daemon.start()
        let epoch = try #require(daemon.request("getLoras").result()["epoch"]?.numberValue?.int)
        let streams = try daemon.connect()
        let old = (1...4).map {
            #"{"jsonrpc":"2.0","id":\#($0),"method":"generate","params":{"prompt":"Once upon a time","maxTokens":400,"ignoreEos":true,"stream":true}}"# + "\n"
        }
        streams.write(old.joined())
        var seen = 0
        var deltas = 0
        while seen < 4 || deltas == 0, let line = streams.readLine() {
            if line.contains("\"result\"") { seen += 1 }
            if line.contains("generate.delta") { deltas += 1 }
        }
        kill(daemon.pid, SIGUSR2)

        let admin = try daemon.connect()
        admin.write(#"{"jsonrpc":"2.0","id":"set","method":"setLoras","params":{"adapters":[{"name":"snow"}],"timeoutMs":60000}}"# + "\n")
        let observer = try daemon.connect()
        var pending = 0
        for _ in 0..<500 where pending != 1 {
            pending = try observer.call("status").result()["engine"]?["pendingSetLoras"]?.numberValue?.int ?? 0
            if pending != 1 { usleep(2_000) }
        }
        #expect(pending == 1)
        // Submitted while setLoras waits: held back, then run under the new set.
        let late = try daemon.connect()
        late.write(#"{"jsonrpc":"2.0","id":"late","method":"generate","params":{"prompt":"Once upon a time","maxTokens":8}}"# + "\n")
        usleep(50_000)
        kill(daemon.pid, SIGUSR2)

        var oldEpochs: [Int] = []
        var oldTokens: [Int] = []
        while oldEpochs.count < 4, let line = streams.readLine() {
            let message = try JSONValue.parse(line)
            if message["method"] == "generate.done", let e = message["params"]?["loras"]?["epoch"]?.numberValue?.int {
                oldEpochs.append(e)
                oldTokens.append(message["params"]?["usage"]?["completionTokens"]?.numberValue?.int ?? 0)
            }
        }
        #expect(oldEpochs == [epoch, epoch, epoch, epoch], "jobs that were running finish under the set they started with")
        #expect(oldTokens == [400, 400, 400, 400], "and they were not cut short")
        let committed = try JSONValue.parse(#require(admin.readLine()))
        #expect(committed["result"]?["epoch"]?.numberValue?.int == epoch + 1)
        #expect(committed["result"]?["drainedJobs"]?.numberValue?.int == 4)
        let lateReply = try JSONValue.parse(#require(late.readLine()))
        #expect(lateReply["result"]?["loras"]?["epoch"]?.numberValue?.int == epoch + 1)
        #expect(Self.entries(lateReply["result"]?["loras"]?["adapters"]) == ["snow:1.0"])
        #expect(daemon.stop() == 0)
    }

    @Test func sigtermLetsRunningJobsFinishThenExitsZero() throws {
        let daemon = try LoradProcess()
        try daemon.start()
        let client = try daemon.connect()
        client.write(#"{"jsonrpc":"2.0","id":1,"method":"generate","params":{"prompt":"Once upon a time","maxTokens":300,"ignoreEos":true}}"# + "\n")
        usleep(20_000)
        kill(daemon.pid, SIGTERM)
        let reply = try JSONValue.parse(#require(client.readLine()))
        #expect(reply["result"]?["finishReason"] != nil, "the job was answered, not dropped: \(reply.serializedString)")
        #expect(daemon.stop() == 0)
        #expect(!FileManager.default.fileExists(atPath: daemon.socketPath), "a clean stop removes its socket file")
    }

    @Test func checkConfigValidatesAndExits() throws {
        let good = try LoradProcess(config: "[engine]\nmax_batch_size = 8\n")
        let ok = try runLorad(["serve", "--check-config", "--config", good.configPath.path])
        #expect(ok.status == 0, "\(ok.stderr)")
        let bad = try LoradProcess(config: "[engine]\nmax_batch_sise = 8\n")
        let refused = try runLorad(["serve", "--check-config", "--config", bad.configPath.path])
        #expect(refused.status == 78)
        #expect(refused.stderr.contains("max_batch_sise"))
    }

    /// `name:scale` of each entry of an adapter set, the scale as a Double.
    static func entries(_ value: JSONValue?) -> [String] {
        (value?.arrayValue ?? []).map { "\($0["name"]?.stringValue ?? "?"):\($0["scale"]?.numberValue?.double ?? .nan)" }
    }

    func runLorad(_ arguments: [String]) throws -> (status: Int32, stderr: String) {
        let process = Process()
        process.executableURL = LoradProcess.loradBinary
        process.arguments = arguments
        let err = Pipe()
        process.standardError = err
        process.standardOutput = Pipe()
        try process.run()
        let data = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}

/// `reload` and SIGHUP, and where addAdapter may read from.
@Suite(.serialized)
struct ReloadAndImportRootTests {
    @Test func reloadAppliesAccessAndReportsWhatNeedsARestart() throws {
        let daemon = try LoradProcess(config: "[server]\nsocket_mode = \"0666\"\n")
        try daemon.start()
        #expect(try daemon.lorctl(["call", "setLoras", #"{"adapters":null}"#], asUID: 65534).status == 1)
        try "[server]\nsocket_mode = \"0666\"\n[access]\nadmin_users = [\"65534\"]\n[engine]\nmax_batch_size = 4\n"
            .write(to: daemon.configPath, atomically: true, encoding: .utf8)
        let reply = try daemon.request("reload").result()
        #expect(reply["applied"] == ["access.admin_users/admin_groups"])
        #expect(reply["requiresRestart"] == ["engine"])
        #expect(try daemon.request("status").result()["engine"]?["maxBatchSize"] == 16, "the engine keeps its settings until a restart")
        #expect(try daemon.lorctl(["call", "setLoras", #"{"adapters":null}"#], asUID: 65534).status == 0)

        // SIGHUP does the same; a file that does not parse changes nothing.
        try "[access]\nadmin_users = []\n[server]\nsocket_mode = \"0666\"\n".write(to: daemon.configPath, atomically: true, encoding: .utf8)
        kill(daemon.pid, SIGHUP)
        var denied = false
        for _ in 0..<100 where !denied {
            denied = try daemon.lorctl(["call", "setLoras", #"{"adapters":null}"#], asUID: 65534).status == 1
            if !denied { usleep(20_000) }
        }
        #expect(denied)
        try "[access\n".write(to: daemon.configPath, atomically: true, encoding: .utf8)
        let broken = try daemon.request("reload")
        #expect(broken.errorCode == -32602)
        #expect(daemon.isRunning)
        #expect(daemon.stop() == 0)
    }

    @Test func addAdapterReadsOnlyInsideTheImportRoots() throws {
        let outside = FileManager.default.temporaryDirectory.appendingPathComponent("lorad-roots-\(UUID().uuidString)")
        let allowed = outside.appendingPathComponent("allowed")
        try FileManager.default.createDirectory(at: allowed, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: outside) }
        let demo = ConfigurationTests.packageRoot.appendingPathComponent("share/demo/adapters/snow")
        try FileManager.default.copyItem(at: demo, to: allowed.appendingPathComponent("snow"))
        try FileManager.default.copyItem(at: demo, to: outside.appendingPathComponent("snow"))
        // A symlink inside the root that leads out of it does not get out.
        try FileManager.default.createSymbolicLink(at: allowed.appendingPathComponent("escape"), withDestinationURL: outside.appendingPathComponent("snow"))

        // A directory inside the root whose weights file is a symlink to one outside it.
        let sneaky = allowed.appendingPathComponent("sneaky")
        try FileManager.default.createDirectory(at: sneaky, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: demo.appendingPathComponent("adapter_config.json"), to: sneaky.appendingPathComponent("adapter_config.json"))
        try FileManager.default.createSymbolicLink(at: sneaky.appendingPathComponent("adapter_model.safetensors"),
                                                   withDestinationURL: outside.appendingPathComponent("snow/adapter_model.safetensors"))

        let daemon = try LoradProcess(config: "[access]\nimport_roots = [\"\(allowed.path)\"]\n")
        try daemon.start()
        let client = try daemon.connect()
        let inside = try client.call("addAdapter", ["name": "snow2", "path": .string(allowed.appendingPathComponent("snow").path)])
        #expect(inside["result"]?["name"] == "snow2")
        for path in [outside.appendingPathComponent("snow").path, allowed.appendingPathComponent("escape").path, allowed.path + "/../snow", sneaky.path] {
            let refused = try client.call("addAdapter", ["name": "snow3", "path": .string(path)])
            #expect(refused.errorName == "PathNotAllowed", "\(path): \(refused.serializedString)")
        }
        #expect(try client.call("listAdapters").result()["adapters"]?.arrayValue?.count == 3)
        #expect(daemon.stop() == 0)
    }
}
