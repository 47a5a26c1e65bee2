import LoraJSON
import Testing
@testable import LoraRPC

/// `rpc.discover` is generated from the table that dispatches.
@Suite struct DiscoverTests {
    @Test func documentListsEveryMethodWithParamsSchemasAndResults() throws {
        let server = try TestServer()
        let document = try server.client().call("rpc.discover")
        #expect(document["openrpc"] == "1.3.2")
        #expect(document["info"] == ["title": "test", "version": "1.0"])
        let methods = try #require(document["methods"]?.arrayValue)
        let table = TestServer.methods(closed: Recorder())
        #expect(methods.compactMap { $0["name"]?.stringValue } == table.methods.map(\.name))
        #expect(methods.last?["name"] == "rpc.discover")

        let seeded = try #require(methods.first { $0["name"] == "seeded" })
        #expect(seeded["summary"] == "Returns its parameters.")
        #expect(seeded["paramStructure"] == "by-name")
        let params = try #require(seeded["params"]?.arrayValue)
        #expect(params.count == 3)
        #expect(params[0] == ["name": "seed", "required": false, "description": "The sampling seed.",
                              "schema": ["type": "integer", "minimum": 0, "maximum": .uint64(UInt64.max)]])
        #expect(params[1]["schema"] == ["type": "string", "enum": ["fast", "exact"]])
        #expect(params[2]["schema"] == ["type": "object",
                                        "properties": ["topK": ["type": "integer", "minimum": 0, "maximum": 1000]],
                                        "required": [], "additionalProperties": false])

        let subtract = try #require(methods.first { $0["name"] == "subtract" })
        #expect(subtract["result"] == ["name": "subtractResult", "schema": ["type": "integer"]])
        #expect(subtract["params"]?.arrayValue?.map { $0["required"] } == [true, true])
        #expect(methods.first { $0["name"] == "adminOnly" }?["x-admin"] == true)
        #expect(methods.first { $0["name"] == "echo" }?["x-admin"] == nil)
        // The document is the table's own.
        #expect(document == table.discoverDocument)
    }
}
