import ArgumentParser
import Foundation
import LoraTokenizer

/// `lorad-bench tokenize`: single-thread encode throughput of the llama3.2 and llama2-hf tokenizers, against the
/// Python `tokenizers` library on the same text when it is installed.
struct TokenizeBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenize",
        abstract: "Encode throughput (MB/s) of lorad's tokenizer vs Hugging Face tokenizers, one thread."
    )

    @Option(help: "The shared fixtures directory (default: $LORA_FIXTURES, else ../shared/fixtures next to the package).")
    var fixtures: String?

    @Option(help: "Approximate size of the benchmark text in megabytes.")
    var megabytes: Double = 4

    @Option(help: "Timed repetitions; the best is reported.")
    var repetitions: Int = 3

    @Option(help: "Tokenizers to measure (directory names under tokenizers/).")
    var tokenizers: [String] = ["llama3.2", "llama2-hf"]

    @Flag(help: "Do not run the Python tokenizers library.")
    var noPython = false

    func validate() throws {
        guard megabytes > 0, repetitions > 0 else { throw ValidationError("--megabytes and --repetitions must be positive") }
    }

    func run() throws {
        let root = URL(fileURLWithPath: fixtures ?? Self.defaultFixtures())
        let corpusURL = root.appendingPathComponent("tokenizers/corpus.jsonl")
        guard FileManager.default.fileExists(atPath: corpusURL.path) else {
            throw ValidationError("no corpus at \(corpusURL.path); pass --fixtures")
        }
        let lines = try Self.benchmarkLines(corpus: corpusURL, megabytes: megabytes)
        let bytes = lines.reduce(0) { $0 + $1.utf8.count }
        let textFile = FileManager.default.temporaryDirectory.appendingPathComponent("lorad-bench-tokenize-\(getpid()).jsonl")
        try lines.map(Self.jsonString).joined(separator: "\n").write(to: textFile, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: textFile) }
        let python = !noPython && Self.pythonHasTokenizers()
        print(String(format: "text: %d lines, %.2f MB (corpus.jsonl lines, paired); best of %d; one thread",
                     lines.count, Double(bytes) / 1e6, repetitions))
        if !python { print("python tokenizers: not available (pip install tokenizers), measuring lorad only") }
        for name in tokenizers {
            let file = root.appendingPathComponent("tokenizers/\(name)/tokenizer.json")
            let loadStart = Clock.now()
            let tokenizer = try Tokenizer(contentsOf: file)
            let loadSeconds = Clock.seconds(since: loadStart)
            var best = Double.infinity
            var tokenCount = 0
            for _ in 0..<repetitions {
                let start = Clock.now()
                var count = 0
                for line in lines { count += tokenizer.encode(line, addSpecialTokens: false).count }
                best = min(best, Clock.seconds(since: start))
                tokenCount = count
            }
            let ours = Double(bytes) / 1e6 / best
            var report = String(format: "%@: lorad %.2f MB/s (%d tokens, load %.2f s)", name, ours, tokenCount, loadSeconds)
            if python, let (theirs, theirCount) = try Self.runPython(tokenizer: file, text: textFile, repetitions: repetitions) {
                report += String(format: "; tokenizers %.2f MB/s (%d tokens%@); ratio %.2fx", theirs, theirCount,
                                 theirCount == tokenCount ? ", same" : ", DIFFERENT", ours / theirs)
            }
            print(report)
        }
    }

    /// Corpus lines joined in pseudo-random pairs until the text reaches the requested size.
    static func benchmarkLines(corpus: URL, megabytes: Double) throws -> [String] {
        let corpusLines = try String(contentsOf: corpus, encoding: .utf8).split(separator: "\n").map { line in
            try TokenizerJSON.decodeString(String(line))
        }.filter { !$0.isEmpty }
        var lines: [String] = []
        var total = 0
        var state: UInt64 = 0x2545_F491_4F6C_DD1D
        while Double(total) < megabytes * 1e6 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            let a = corpusLines[Int((state >> 33) % UInt64(corpusLines.count))]
            let b = corpusLines[Int((state >> 13) % UInt64(corpusLines.count))]
            let line = a + " " + b
            lines.append(line)
            total += line.utf8.count
        }
        return lines
    }

    static func defaultFixtures() -> String {
        if let value = ProcessInfo.processInfo.environment["LORA_FIXTURES"], !value.isEmpty { return value }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("../shared/fixtures").standardizedFileURL.path
    }

    static func jsonString(_ s: String) -> String { TokenizerJSON.encode(s) }

    static func pythonHasTokenizers() -> Bool {
        (try? Self.shell(["python3", "-c", "import tokenizers"]))?.status == 0
    }

    static let pythonScript = """
    import json, sys, time
    from tokenizers import Tokenizer
    tok = Tokenizer.from_file(sys.argv[1])
    lines = [json.loads(l) for l in open(sys.argv[2], encoding="utf-8")]
    size = sum(len(l.encode("utf-8")) for l in lines)
    best = float("inf")
    for _ in range(int(sys.argv[3])):
        t = time.perf_counter()
        n = 0
        for l in lines:
            n += len(tok.encode(l, add_special_tokens=False).ids)
        best = min(best, time.perf_counter() - t)
    print(size / 1e6 / best, n)
    """

    /// Times the Python library, one `encode` call per line, on one thread.
    static func runPython(tokenizer: URL, text: URL, repetitions: Int) throws -> (Double, Int)? {
        let script = FileManager.default.temporaryDirectory.appendingPathComponent("lorad-bench-tokenize-\(getpid()).py")
        try pythonScript.write(to: script, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: script) }
        let result = try shell(["env", "RAYON_NUM_THREADS=1", "TOKENIZERS_PARALLELISM=false", "python3", script.path,
                                tokenizer.path, text.path, String(repetitions)])
        let fields = result.output.split(whereSeparator: \.isWhitespace)
        guard result.status == 0, fields.count == 2, let rate = Double(fields[0]), let count = Int(fields[1]) else {
            return nil
        }
        return (rate, count)
    }

    static func shell(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}
