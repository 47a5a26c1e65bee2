import Foundation
import LoraTestFixtures
import Testing

/// The `lorad` executable as users run it: output formats, exit codes and error messages.
@Suite(.enabled(if: CLI.fixturesAvailable, "fixtures not found at \(CLI.fixtures.path) (set LORA_FIXTURES)"))
struct CLITests {
    @Test func evalPrintsReferenceGreedyStepsAsJSON() throws {
        let model = CLI.fixtures.appendingPathComponent("models/stories260K").path
        let result = try CLI.run(["eval", "--model", model, "--tokens", "1,403,407,261,378", "--steps", "3", "--json"])
        #expect(result.status == 0, "stderr: \(result.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let greedy = try #require(json["greedy"] as? [[String: Any]])
        #expect(greedy.compactMap { $0["token"] as? Int } == [432, 383, 286])
        #expect((json["logits"] as? [Any])?.count == 512)
        #expect(json["loraMode"] as? String == "unmerged" && (json["adapters"] as? [Any])?.isEmpty == true)
        #expect(json["weightFormats"] as? [String] == ["float32"])
    }

    @Test func evalReportsSixteenBitWeights() throws {
        let model = CLI.fixtures.appendingPathComponent("models/tiny-llama-bf16-tied-sharded").path
        let result = try CLI.run(["eval", "--model", model, "--tokens", "1,17,300", "--json"])
        #expect(result.status == 0, "stderr: \(result.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect(json["weightFormats"] as? [String] == ["bfloat16"])
        #expect((json["weightBytes"] as? Int ?? 0) > 0)
    }

    @Test func evalAppliesAdaptersWithScales() throws {
        let model = CLI.fixtures.appendingPathComponent("models/stories260K").path
        let dragon = CLI.fixtures.appendingPathComponent("adapters/stories260K/dragon").path
        let result = try CLI.run(["eval", "--model", model, "--adapter", "\(dragon):0.5", "--lora-mode", "merged",
                                  "--tokens", "1,403,407,261,378", "--steps", "1", "--json"])
        #expect(result.status == 0, "stderr: \(result.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let adapters = try #require(json["adapters"] as? [[String: Any]])
        #expect(adapters.first?["name"] as? String == "dragon" && adapters.first?["scale"] as? Double == 0.5)
        #expect(json["loraMode"] as? String == "merged")
    }

    /// `--kv-cache-precision f16` runs (same greedy tokens on this prompt, logits a little apart); an unknown
    /// precision is refused with the choices.
    @Test func evalRunsWithTheHalfPrecisionCache() throws {
        let model = CLI.fixtures.appendingPathComponent("models/stories260K").path
        let arguments = ["eval", "--model", model, "--tokens", "1,403,407,261,378", "--steps", "3", "--json"]
        let exact = try CLI.run(arguments), half = try CLI.run(arguments + ["--kv-cache-precision", "f16"])
        #expect(half.status == 0, "stderr: \(half.stderr)")
        let a = try #require(try JSONSerialization.jsonObject(with: Data(exact.stdout.utf8)) as? [String: Any])
        let b = try #require(try JSONSerialization.jsonObject(with: Data(half.stdout.utf8)) as? [String: Any])
        #expect((b["greedy"] as? [[String: Any]])?.compactMap { $0["token"] as? Int } == [432, 383, 286])
        #expect((a["logits"] as? [Double]) != (b["logits"] as? [Double]), "the f16 cache changes the logits a little")
        let bad = try CLI.run(arguments + ["--kv-cache-precision", "f8"])
        #expect(bad.status != 0 && bad.stderr.contains("f16"), "stderr: \(bad.stderr)")
    }

    @Test func badInputFailsWithAClearMessage() throws {
        let model = CLI.fixtures.appendingPathComponent("models/stories260K").path
        let badTokens = try CLI.run(["eval", "--model", model, "--tokens", "1,x"])
        #expect(badTokens.status != 0 && badTokens.stderr.contains("'x'"))
        let outOfVocab = try CLI.run(["eval", "--model", model, "--tokens", "9999"])
        #expect(outOfVocab.status != 0 && outOfVocab.stderr.contains("outside the vocabulary"))
        let tooLong = try CLI.run(["eval", "--model", model, "--tokens", "1", "--steps", "1000000000"])
        #expect(tooLong.status != 0 && tooLong.stderr.contains("exceeds the model's context"))
        let noModel = try CLI.run(["eval", "--model", "/nonexistent", "--tokens", "1"])
        #expect(noModel.status != 0 && noModel.stderr.contains("cannot load model"))
        let wrongAdapter = try CLI.run(["eval", "--model", model, "--adapter",
                                        CLI.fixtures.appendingPathComponent("adapters/tiny-llama/mlp-r4").path, "--tokens", "1"])
        #expect(wrongAdapter.status != 0 && wrongAdapter.stderr.contains("another model"))
    }

    @Test func hugeCountsFailWithAClearMessageNotATrap() throws {
        let model = CLI.fixtures.appendingPathComponent("models/stories260K").path
        // prompt + steps overflowed Int: an arithmetic trap instead of the context error.
        let steps = try CLI.run(["eval", "--model", model, "--tokens", "1", "--steps", "\(Int.max)"])
        #expect(steps.status == 1 && steps.stderr.contains("exceeds the model's context"), "stderr: \(steps.stderr)")
        // kvCacheTokens rounded up to pages overflowed Int.
        let cache = try CLI.run(["generate", "--model", model, "--kv-cache-tokens", "\(Int.max)", "--jobs", "-"],
                                stdin: "{\"prompt\": \"Once\", \"maxTokens\": 2}\n")
        #expect(cache.status == 1 && cache.stderr.contains("lower kvCacheTokens"), "stderr: \(cache.stderr)")
        // A merge budget past Int.max bytes is unlimited, not wrapped negative (which refused every merge).
        let dragon = CLI.fixtures.appendingPathComponent("adapters/stories260K/dragon").path
        let budget = try CLI.run(["eval", "--model", model, "--adapter", dragon, "--merge-budget-mb", "\(Int.max)",
                                  "--tokens", "1,403", "--json"])
        #expect(budget.status == 0, "stderr: \(budget.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(budget.stdout.utf8)) as? [String: Any])
        #expect(json["loraMode"] as? String == "merged")
    }

    @Test func jobFilesWithWindowsLineEndingsAreSplitIntoLines() throws {
        let model = CLI.fixtures.appendingPathComponent("models/stories260K").path
        let jobs = "{\"tokens\": [1, 403], \"maxTokens\": 2}\r\n\r\n{\"tokens\": [1, 407], \"maxTokens\": 3}\r\n"
        let result = try CLI.run(["generate", "--model", model, "--jobs", "-"], stdin: jobs)
        #expect(result.status == 0, "stderr: \(result.stderr)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines.count == 2)
        let counts = try lines.map { try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])["tokens"] as? [Int] }
        #expect(counts.map { $0?.count } == [2, 3])
        // Errors still name the line an editor shows (the blank CRLF line counts).
        let bad = try CLI.run(["generate", "--model", model, "--jobs", "-"], stdin: "{\"tokens\": [1]}\r\n\r\nnot json\r\n")
        #expect(bad.status == 1 && bad.stdout.contains("line 3"), "stdout: \(bad.stdout)")
    }

    /// stories260K with its final norm's first weight set to NaN: every logit is NaN.
    static func brokenModel() throws -> URL {
        let source = CLI.fixtures.appendingPathComponent("models/stories260K")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lorad-nan-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        for name in try FileManager.default.contentsOfDirectory(atPath: source.path) where name != "model.safetensors" {
            try FileManager.default.copyItem(at: source.appendingPathComponent(name), to: dir.appendingPathComponent(name))
        }
        var data = try Data(contentsOf: source.appendingPathComponent("model.safetensors"))
        let headerLength = data.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        let header = try #require(try JSONSerialization.jsonObject(with: data.subdata(in: 8..<(8 + headerLength))) as? [String: Any])
        let norm = try #require(header["model.norm.weight"] as? [String: Any])
        let start = 8 + headerLength + (try #require((norm["data_offsets"] as? [Int])?.first))
        data.replaceSubrange(start..<(start + 4), with: [0x00, 0x00, 0xC0, 0x7F])  // a quiet NaN, little-endian
        try data.write(to: dir.appendingPathComponent("model.safetensors"))
        return dir
    }

    @Test func nonFiniteLogitsAreReportedNotFatal() throws {
        let model = try Self.brokenModel()
        defer { try? FileManager.default.removeItem(at: model) }
        let eval = try CLI.run(["eval", "--model", model.path, "--tokens", "1,403", "--json"])
        #expect(eval.status == 1 && eval.stderr.contains("non-finite logit"), "stderr: \(eval.stderr)")
        // generate writes every line; a logprob that is not a number is null.
        let jobs = "{\"tokens\": [1, 403], \"maxTokens\": 2, \"logprobs\": true}\n{\"tokens\": [1], \"maxTokens\": 1}\n"
        let generate = try CLI.run(["generate", "--model", model.path, "--jobs", "-"], stdin: jobs)
        #expect(generate.status == 0, "stderr: \(generate.stderr)")
        let lines = generate.stdout.split(separator: "\n").map(String.init)
        #expect(lines.count == 2)
        let first = try #require(try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any])
        let logprobs = try #require(first["logprobs"] as? [Any])
        #expect(logprobs.count == 2 && logprobs.allSatisfy { $0 is NSNull }, "\(lines[0])")
    }

    @Test func tokenizeRoundTrips() throws {
        let model = CLI.fixtures.appendingPathComponent("models/stories260K").path
        let encoded = try CLI.run(["tokenize", "--tokenizer", model, "--special"], stdin: "\"Once upon a time\"\n")
        #expect(encoded.status == 0 && encoded.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "[1,403,407,261,378]")
        let decoded = try CLI.run(["tokenize", "--tokenizer", model, "--decode"], stdin: "[403,407,261,378]\n")
        #expect(decoded.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "\"Once upon a time\"")
        let bad = try CLI.run(["tokenize", "--tokenizer", model], stdin: "\"ok\"\nnot json\n")
        #expect(bad.status != 0 && bad.stderr.contains("2"), "the bad line number is reported: \(bad.stderr)")
    }

    /// llama2-hf's `<s>` is `normalized`: it is still left out by id; gpt2's tokenizer_config.json asks for
    /// transformers' space cleanup, which `--clean-up-tokenization-spaces false` turns off.
    @Test func tokenizeDecodeSkipsSpecialsByIdAndCleansUpSpaces() throws {
        let llama2 = CLI.fixtures.appendingPathComponent("tokenizers/llama2-hf").path
        let skipped = try CLI.run(["tokenize", "--tokenizer", llama2, "--decode"], stdin: "[1,22172,3186,2]\n")
        #expect(skipped.status == 0, "stderr: \(skipped.stderr)")
        #expect(skipped.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "\"hello world\"")
        let kept = try CLI.run(["tokenize", "--tokenizer", llama2, "--decode", "--special"], stdin: "[1,22172,3186]\n")
        #expect(kept.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "\"<s> hello world\"")

        let gpt2 = CLI.fixtures.appendingPathComponent("tokenizers/gpt2").path
        let encoded = try CLI.run(["tokenize", "--tokenizer", gpt2], stdin: "\"'ll !!\"\n")
        let ids = encoded.stdout.trimmingCharacters(in: .whitespacesAndNewlines) + "\n"
        let cleaned = try CLI.run(["tokenize", "--tokenizer", gpt2, "--decode"], stdin: ids)
        #expect(cleaned.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "\"'ll!!\"", "ids \(ids)")
        let raw = try CLI.run(["tokenize", "--tokenizer", gpt2, "--decode", "--clean-up-tokenization-spaces", "false"],
                              stdin: ids)
        #expect(raw.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "\"'ll !!\"")
    }

    @Test func generateWritesOneResultPerJobInOrder() throws {
        let model = CLI.fixtures.appendingPathComponent("models/stories260K").path
        let dragon = CLI.fixtures.appendingPathComponent("adapters/stories260K/dragon").path
        let jobs = """
            {"prompt": "Once upon a time", "maxTokens": 20}
            {"tokens": [1, 403, 407], "maxTokens": 4, "temperature": 0.8, "seed": 3}
            {"prompt": "Once upon a time", "maxTokens": 20, "stop": ["Spark"]}

            """
        let result = try CLI.run(["generate", "--model", model, "--adapter", dragon, "--jobs", "-"], stdin: jobs)
        #expect(result.status == 0, "stderr: \(result.stderr)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines.count == 3)
        let first = try #require(try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any])
        #expect((first["text"] as? String)?.contains("a little dragon named Spark") == true)
        #expect(first["finishReason"] as? String == "length")
        let third = try #require(try JSONSerialization.jsonObject(with: Data(lines[2].utf8)) as? [String: Any])
        #expect(third["finishReason"] as? String == "stop" && (third["text"] as? String)?.contains("Spark") == false)
    }

    /// Job lines with their own adapters ("loras") beside jobs on the --adapter set: each line's result is the
    /// one it gets alone (batch 1), with its own adapters and no epoch.
    @Test func generateJobLinesNameTheirOwnAdapters() throws {
        let model = CLI.fixtures.appendingPathComponent("models/stories260K").path
        let dragon = CLI.fixtures.appendingPathComponent("adapters/stories260K/dragon").path
        let snow = CLI.fixtures.appendingPathComponent("adapters/stories260K/snow").path
        let jobs = """
            {"prompt": "Once upon a time", "maxTokens": 20, "loras": [{"adapter": "\(snow)", "scale": 1}]}
            {"prompt": "Once upon a time", "maxTokens": 20}
            {"prompt": "Once upon a time", "maxTokens": 20, "loras": []}
            {"prompt": "One day", "maxTokens": 12, "temperature": 0.8, "seed": 5, "loras": [{"adapter": "\(dragon)", "scale": 0.5}, {"adapter": "\(snow)"}]}
            {"prompt": "One day", "loras": [{"adapter": "\(snow)", "weight": 1}]}

            """
        let batched = try CLI.run(["generate", "--model", model, "--adapter", dragon, "--jobs", "-"], stdin: jobs)
        let alone = try CLI.run(["generate", "--model", model, "--adapter", dragon, "--jobs", "-", "--max-batch-size", "1"], stdin: jobs)
        #expect(batched.status != 0 && batched.stdout == alone.stdout)
        let lines = try batched.stdout.split(separator: "\n").map { try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
        #expect(lines.count == 5)
        guard lines.count == 5 else { return }
        #expect((lines[0]["text"] as? String)?.contains("snow") == true, "\(lines[0])")
        #expect(lines[0]["epoch"] == nil && (lines[0]["adapters"] as? [[String: Any]])?.first?["name"] as? String == "snow")
        #expect((lines[1]["text"] as? String)?.contains("dragon") == true && lines[1]["epoch"] as? Int == 0)
        #expect((lines[2]["adapters"] as? [Any])?.isEmpty == true && lines[2]["epoch"] == nil)
        #expect((lines[3]["adapters"] as? [[String: Any]])?.compactMap { $0["name"] as? String } == ["dragon", "snow"])
        #expect((lines[4]["error"] as? String)?.hasPrefix("line 5: unknown key \"weight\" in a \"loras\" entry") == true, "\(lines[4])")
    }

    @Test func generateErrorsNameTheInputLine() throws {
        let model = CLI.fixtures.appendingPathComponent("models/stories260K").path
        // Blank lines give no result but still count: the bad job is on line 4 of the input.
        let jobs = "{\"prompt\": \"Once\", \"maxTokens\": 2}\n\n   \n{\"prompt\": \"Once\", \"maxTokenz\": 2}\n"
        let result = try CLI.run(["generate", "--model", model, "--jobs", "-"], stdin: jobs)
        #expect(result.status != 0)
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines.count == 2)
        let second = try #require(try JSONSerialization.jsonObject(with: Data(lines[1].utf8)) as? [String: Any])
        #expect((second["error"] as? String)?.hasPrefix("line 4: unknown key \"maxTokenz\"") == true, "\(second)")
    }
}

/// Runs the built `lorad` binary (next to this test bundle) with arguments and standard input.
enum CLI {
    static let fixtures = FixtureLocation.root

    static var fixturesAvailable: Bool { FileManager.default.fileExists(atPath: fixtures.appendingPathComponent("models").path) }

    /// The build products directory: where the test bundle lives.
    static let binary: URL = {
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        // XCTest on Linux runs `<dir>/lorad­PackageTests.xctest`; Swift Testing may run from the same dir.
        while !FileManager.default.fileExists(atPath: dir.appendingPathComponent("lorad").path), dir.path != "/" {
            dir = dir.deletingLastPathComponent()
        }
        return dir.appendingPathComponent("lorad")
    }()

    struct Result { var status: Int32; var stdout: String; var stderr: String }

    static func run(_ arguments: [String], stdin: String = "") throws -> Result {
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        let input = Pipe(), output = Pipe(), error = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = error
        try process.run()
        input.fileHandleForWriting.write(Data(stdin.utf8))
        try input.fileHandleForWriting.close()
        let out = output.fileHandleForReading.readDataToEndOfFile()
        let err = error.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, stdout: String(decoding: out, as: UTF8.self), stderr: String(decoding: err, as: UTF8.self))
    }
}
