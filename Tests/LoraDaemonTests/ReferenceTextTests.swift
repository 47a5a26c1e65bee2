import Foundation
import LoraJSON
import LoraTestFixtures
import Testing

/// lorad end to end on stories260K from the fixtures: adapters imported over the socket, set with setLoras,
/// and every generated token and log-probability equal to transformers + peft (README comparison rules).
@Suite(.serialized)
struct ReferenceTextTests {
    static var fixturesPresent: Bool { FileManager.default.fileExists(atPath: FixtureLocation.model("stories260K").path) }

    @Test(.enabled(if: fixturesPresent, "\(FixtureLocation.skipMessage)"))
    func generatesTheReferenceUnderEveryAdapterSet() throws {
        let daemon = try LoradProcess(model: FixtureLocation.model("stories260K"))
        try daemon.start()
        let client = try daemon.connect()
        for name in ["dragon", "snow"] {
            let added = try client.call("addAdapter", ["name": .string(name), "path": .string(FixtureLocation.adapter("stories260K", name).path)]).result()
            #expect(added["name"]?.stringValue == name)
        }
        let listed = try client.call("listAdapters").result()
        #expect(listed["adapters"]?.arrayValue?.compactMap { $0["name"]?.stringValue }.sorted() == ["dragon", "snow"])

        let reference = try JSONValue.parse(Array(Data(contentsOf: FixtureLocation.reference("stories260K"))))
        let cases = try #require(reference["cases"]?.arrayValue)
        var epoch = try #require(client.call("getLoras").result()["epoch"]?.numberValue?.int)
        for referenceCase in cases {
            let loras = referenceCase["loras"]?.arrayValue ?? []
            let adapters: JSONValue = .array(loras.map { ["name": $0["adapter"] ?? .null, "scale": $0["scale"] ?? 1] })
            let set = try client.call("setLoras", ["adapters": adapters]).result()
            #expect(set["epoch"]?.numberValue?.int == epoch + 1)
            epoch += 1
            for result in referenceCase["results"]?.arrayValue ?? [] {
                let reply = try client.call("generate", [
                    "tokens": result["prompt_ids"] ?? .null, "maxTokens": 64, "temperature": 0, "ignoreEos": true, "logprobs": true,
                ]).result()
                let tokens = reply["tokens"]?.arrayValue?.compactMap { $0.numberValue?.int } ?? []
                let logprobs = reply["logprobs"]?.arrayValue?.compactMap { $0.numberValue?.double } ?? []
                let greedy = result["greedy"]?.arrayValue ?? []
                #expect(tokens.count == greedy.count)
                var allEqual = true
                for (step, expected) in greedy.enumerated() where step < tokens.count {
                    let token = expected["token"]?.numberValue?.int
                    if tokens[step] != token { allEqual = false }
                    #expect(tokens[step] == token, "step \(step) of \(result["prompt"]?.stringValue ?? "") under \(adapters.serializedString)")
                    if step < logprobs.count, let want = expected["logprob"]?.numberValue?.double {
                        #expect(abs(logprobs[step] - want) <= 1e-4, "logprob at step \(step)")
                    }
                    // After a near-tie implementations may legitimately diverge (fixtures README).
                    if (expected["margin"]?.numberValue?.double ?? 1) < 1e-3 { break }
                }
                if allEqual, let text = result["text"]?.stringValue {
                    #expect(reply["text"]?.stringValue == text)
                }
                #expect(reply["loras"]?["epoch"]?.numberValue?.int == epoch)
                #expect(reply["usage"]?["completionTokens"]?.numberValue?.int == 64)
                #expect(reply["finishReason"]?.stringValue == "length")
            }
        }
        #expect(daemon.stop() == 0)
    }
}
