import Foundation
import LoraJSON
import Testing
@testable import LoraRPC

/// Exact request → reply transcripts over a real socket: the examples of the JSON-RPC 2.0 specification (with
/// lorad's rule that parameters are named) and lorad's own cases.
@Suite struct TranscriptTests {
    /// Sends each request and checks the reply line; a nil reply means none may come (checked by a `get_data`
    /// probe whose reply must be the very next line).
    private func check(_ transcript: [(String, String?)], on server: TestServer) throws {
        let client = try server.client()
        for (request, expected) in transcript {
            try client.sendRaw(line: request)
            if let expected {
                let reply = try client.readLine(timeout: .seconds(5))
                #expect(reply == expected, "request: \(request)")
            } else {
                #expect(try client.exchange(#"{"jsonrpc":"2.0","method":"get_data","id":"probe"}"#)
                        == #"{"jsonrpc":"2.0","result":["hello",5],"id":"probe"}"#, "request: \(request)")
            }
        }
    }

    @Test func specificationExamples() throws {
        let server = try TestServer()
        let positional = #"{"jsonrpc":"2.0","error":{"code":-32602,"message":"params must be an object of named parameters (minuend, subtrahend), got an array of 2 items","data":{"param":"params","expected":"an object of named parameters (minuend, subtrahend)","got":"an array of 2 items"}},"id":1}"#
        try check([
            // rpc call with positional parameters: lorad takes named parameters only.
            (#"{"jsonrpc": "2.0", "method": "subtract", "params": [42, 23], "id": 1}"#, positional),
            // rpc call with named parameters
            (#"{"jsonrpc": "2.0", "method": "subtract", "params": {"subtrahend": 23, "minuend": 42}, "id": 3}"#,
             #"{"jsonrpc":"2.0","result":19,"id":3}"#),
            (#"{"jsonrpc": "2.0", "method": "subtract", "params": {"minuend": 42, "subtrahend": 23}, "id": 4}"#,
             #"{"jsonrpc":"2.0","result":19,"id":4}"#),
            // notifications
            (#"{"jsonrpc": "2.0", "method": "update", "params": [1,2,3,4,5]}"#, nil),
            (#"{"jsonrpc": "2.0", "method": "foobar"}"#, nil),
            // non-existent method
            (#"{"jsonrpc": "2.0", "method": "foobar", "id": "1"}"#,
             #"{"jsonrpc":"2.0","error":{"code":-32601,"message":"Method not found","data":{"method":"foobar","hint":"rpc.discover lists the methods"}},"id":"1"}"#),
            // invalid JSON
            (#"{"jsonrpc": "2.0", "method": "foobar, "params": "bar", "baz]"#,
             #"{"jsonrpc":"2.0","error":{"code":-32700,"message":"Parse error","data":{"reason":"expected ',' or '}' at byte 39"}},"id":null}"#),
            // invalid Request object
            (#"{"jsonrpc": "2.0", "method": 1, "params": "bar"}"#,
             #"{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request","data":{"reason":"method must be a string"}},"id":null}"#),
            // batch, invalid JSON
            (#"[{"jsonrpc": "2.0", "method": "sum", "params": [1,2,4], "id": "1"},{"jsonrpc": "2.0", "method"]"#,
             #"{"jsonrpc":"2.0","error":{"code":-32700,"message":"Parse error","data":{"reason":"expected ':' at byte 94"}},"id":null}"#),
            // empty array
            ("[]", #"{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request","data":{"reason":"empty batch"}},"id":null}"#),
            // invalid batch, not empty
            ("[1]", #"[{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request","data":{"reason":"a request must be an object"}},"id":null}]"#),
            ("[1,2,3]", "[" + Array(repeating: #"{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request","data":{"reason":"a request must be an object"}},"id":null}"#, count: 3).joined(separator: ",") + "]"),
            // batch of notifications: nothing at all
            (#"[{"jsonrpc": "2.0", "method": "notify_sum", "params": [1,2,4]},{"jsonrpc": "2.0", "method": "notify_hello", "params": [7]}]"#, nil),
        ], on: server)
    }

    @Test func specificationMixedBatchRepliesAsOneArrayInOrder() throws {
        let server = try TestServer()
        let batch = #"[{"jsonrpc": "2.0", "method": "sum", "params": {"values": [1,2,4]}, "id": "1"},"#
            + #"{"jsonrpc": "2.0", "method": "notify_hello", "params": {"value": 7}},"#
            + #"{"jsonrpc": "2.0", "method": "subtract", "params": [42,23], "id": "2"},"#
            + #"{"foo": "boo"},"#
            + #"{"jsonrpc": "2.0", "method": "foo.get", "params": {"name": "myself"}, "id": "5"},"#
            + #"{"jsonrpc": "2.0", "method": "get_data", "id": "9"}]"#
        let expected = "["
            + #"{"jsonrpc":"2.0","result":7,"id":"1"},"#
            + #"{"jsonrpc":"2.0","error":{"code":-32602,"message":"params must be an object of named parameters (minuend, subtrahend), got an array of 2 items","data":{"param":"params","expected":"an object of named parameters (minuend, subtrahend)","got":"an array of 2 items"}},"id":"2"},"#
            + #"{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request","data":{"reason":"\"jsonrpc\" must be \"2.0\""}},"id":null},"#
            + #"{"jsonrpc":"2.0","error":{"code":-32601,"message":"Method not found","data":{"method":"foo.get","hint":"rpc.discover lists the methods"}},"id":"5"},"#
            + #"{"jsonrpc":"2.0","result":["hello",5],"id":"9"}"#
            + "]"
        try check([(batch, expected)], on: server)
    }

    @Test func batchRepliesWaitForSlowHandlersAndKeepRequestOrder() throws {
        let server = try TestServer()
        let batch = #"[{"jsonrpc":"2.0","method":"later","params":{"ms":200,"tag":"slow"},"id":1},"#
            + #"{"jsonrpc":"2.0","method":"later","params":{"ms":0,"tag":"fast"},"id":2},"#
            + #"{"jsonrpc":"2.0","method":"later","params":{"ms":50,"tag":"quiet"}}]"#
        try check([(batch, #"[{"jsonrpc":"2.0","result":"slow","id":1},{"jsonrpc":"2.0","result":"fast","id":2}]"#)], on: server)
    }

    @Test func loradOwnProtocolErrors() throws {
        let server = try TestServer()
        try check([
            (#"{"jsonrpc":"1.0","method":"echo","params":{"value":1},"id":7}"#,
             #"{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request","data":{"reason":"\"jsonrpc\" must be \"2.0\""}},"id":7}"#),
            (#"{"method":"echo","params":{"value":1},"id":8}"#,
             #"{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request","data":{"reason":"\"jsonrpc\" must be \"2.0\""}},"id":8}"#),
            (#"{"jsonrpc":"2.0","method":"echo","params":{"value":1},"id":{"a":1}}"#,
             #"{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request","data":{"reason":"id must be a string, a number or null"}},"id":null}"#),
            (#"{"jsonrpc":"2.0","method":"echo","params":"x","id":9}"#,
             #"{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request","data":{"reason":"params must be an object or an array"}},"id":9}"#),
            (#""just a string""#,
             #"{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request","data":{"reason":"a request must be an object"}},"id":null}"#),
            (#"{"jsonrpc":"2.0","method":"drop","id":10}"#,
             #"{"jsonrpc":"2.0","error":{"code":-32603,"message":"Internal error","data":{"reason":"the handler of drop finished without a reply"}},"id":10}"#),
            // Whitespace-only and empty lines are not messages; a \r\n line ending is accepted.
            ("", nil),
            (#"{"jsonrpc":"2.0","method":"echo","params":{"value":"crlf"},"id":11}"# + "\r",
             #"{"jsonrpc":"2.0","result":"crlf","id":11}"#),
            // Notifications never get a reply, even when wrong.
            (#"{"jsonrpc":"2.0","method":"seeded","params":{"seed":-1}}"#, nil),
            (#"{"jsonrpc":"2.0","method":"nope"}"#, nil),
        ], on: server)
    }

    @Test func invalidParamsNameTheParameterWhatItMustBeAndWhatItGot() throws {
        let server = try TestServer()
        func error(_ message: String, _ param: String, _ expected: String, _ got: String, id: Int) -> String {
            let data: JSONValue = ["param": .string(param), "expected": .string(expected), "got": .string(got)]
            return RPCResponse.encode(.failure(.invalidParams(message, data: data)), id: RPCID(id)).utf8String
        }
        let u64 = "an integer in 0...2^64-1"
        try check([
            (#"{"jsonrpc":"2.0","method":"seeded","params":{"seed":-1},"id":1}"#,
             error("seed must be \(u64), got -1", "seed", u64, "-1", id: 1)),
            (#"{"jsonrpc":"2.0","method":"seeded","params":{"seed":18446744073709551616},"id":2}"#,
             error("seed must be \(u64), got 18446744073709551616", "seed", u64, "18446744073709551616", id: 2)),
            (#"{"jsonrpc":"2.0","method":"seeded","params":{"seed":1e400},"id":3}"#,
             error("seed must be \(u64), got 1e400", "seed", u64, "1e400", id: 3)),
            (#"{"jsonrpc":"2.0","method":"seeded","params":{"seed":1.5},"id":4}"#,
             error("seed must be \(u64), got 1.5", "seed", u64, "1.5", id: 4)),
            (#"{"jsonrpc":"2.0","method":"seeded","params":{"seed":"5"},"id":5}"#,
             error(#"seed must be \#(u64), got "5""#, "seed", u64, #""5""#, id: 5)),
            (#"{"jsonrpc":"2.0","method":"seeded","params":{"sead":1},"id":6}"#,
             error("unknown parameter sead; expected one of seed, mode, options", "sead",
                   "one of seed, mode, options", "an unknown parameter", id: 6)),
            (#"{"jsonrpc":"2.0","method":"seeded","params":{"mode":"slow"},"id":7}"#,
             error(#"mode must be one of "fast", "exact", got "slow""#, "mode", #"one of "fast", "exact""#, #""slow""#, id: 7)),
            (#"{"jsonrpc":"2.0","method":"seeded","params":{"options":{"topK":5000}},"id":8}"#,
             error("options.topK must be an integer in 0...1000, got 5000", "options.topK", "an integer in 0...1000", "5000", id: 8)),
            (#"{"jsonrpc":"2.0","method":"echo","params":{},"id":9}"#,
             error("value must be a JSON value, got nothing (it is required)", "value", "a JSON value", "nothing (it is required)", id: 9)),
            (#"{"jsonrpc":"2.0","method":"sum","params":{"values":[1,"2"]},"id":10}"#,
             error(#"values[1] must be an integer in -2^63...2^63-1, got "2""#, "values[1]", "an integer in -2^63...2^63-1", #""2""#, id: 10)),
            // Exact integers in any notation are integers.
            (#"{"jsonrpc":"2.0","method":"seeded","params":{"seed":1e2,"mode":"fast"},"id":11}"#,
             #"{"jsonrpc":"2.0","result":{"seed":1e2,"mode":"fast"},"id":11}"#),
        ], on: server)
    }

    @Test func idsAreEchoedExactly() throws {
        let server = try TestServer()
        let client = try server.client()
        for id in ["1.0e2", "-0", "123456789012345678901234567890", "1E+400", #""héllo ☃ 😀 \"q\" \u0041""#, "null", "0.1"] {
            let reply = try client.exchange(#"{"jsonrpc":"2.0","method":"echo","params":{"value":true},"id":\#(id)}"#)
            #expect(reply == #"{"jsonrpc":"2.0","result":true,"id":\#(id == #""héllo ☃ 😀 \"q\" \u0041""# ? #""héllo ☃ 😀 \"q\" A""# : id)}"#)
        }
    }

    @Test func hostileLinesGetWellFormedErrors() throws {
        let server = try TestServer()
        let client = try server.client()
        // Invalid UTF-8 inside a string.
        try client.sendRaw(bytes: Array(#"{"jsonrpc":"2.0","method":"echo","params":{"value":""#.utf8) + [0xFF, 0xFE] + Array("\"},\"id\":1}\n".utf8))
        let utf8Reply = try #require(try client.readLine(timeout: .seconds(5)))
        #expect(utf8Reply.hasPrefix(#"{"jsonrpc":"2.0","error":{"code":-32700,"message":"Parse error""#))
        #expect(utf8Reply.hasSuffix(#""id":null}"#))
        // Nesting far past the limit: refused without recursing that deep.
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        let deepReply = try #require(try client.exchange(#"{"jsonrpc":"2.0","method":"echo","params":{"value":\#(deep)},"id":2}"#))
        #expect(deepReply.hasPrefix(#"{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request","data":{"reason":"#))
        #expect(deepReply.hasSuffix(#""id":null}"#))
        // NUL bytes and garbage.
        let garbage = try #require(try client.exchange("\u{0}\u{1}garbage"))
        #expect(garbage.contains(#""code":-32700"#))
        // The connection still works.
        #expect(try client.call("echo", params: ["value": "still here"]) == "still here")
    }

    @Test func byteAtATimeAndManyPerWrite() throws {
        let server = try TestServer()
        let client = try server.client()
        let request = #"{"jsonrpc":"2.0","method":"subtract","params":{"minuend":5,"subtrahend":7},"id":"b"}"# + "\r\n"
        for byte in request.utf8 {
            try client.sendRaw(bytes: [byte])
            usleep(300)
        }
        #expect(try client.readLine(timeout: .seconds(5)) == #"{"jsonrpc":"2.0","result":-2,"id":"b"}"#)

        var many = ""
        for i in 0..<200 { many += #"{"jsonrpc":"2.0","method":"echo","params":{"value":\#(i)},"id":\#(i)}"# + "\n" }
        try client.sendRaw(bytes: Array(many.utf8))
        for i in 0..<200 {
            #expect(try client.readLine(timeout: .seconds(5)) == #"{"jsonrpc":"2.0","result":\#(i),"id":\#(i)}"#)
        }
    }

    @Test func oversizedLineGetsInvalidRequestThenTheConnectionCloses() throws {
        let server = try TestServer { $0.maxMessageBytes = 1024 }
        let client = try server.client()
        #expect(try client.call("echo", params: ["value": .string(String(repeating: "a", count: 900))]) != nil)
        try client.sendRaw(line: #"{"jsonrpc":"2.0","method":"echo","params":{"value":""# + String(repeating: "a", count: 5000) + #""},"id":1}"#)
        #expect(try client.readLine(timeout: .seconds(5))
                == #"{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request","data":{"reason":"the line is longer than 1024 bytes; split the request or raise the server's message size limit"}},"id":null}"#)
        #expect(try client.readLine(timeout: .seconds(5)) == nil)
        #expect(waitUntil { server.server.connectionCount == 0 })
    }

    @Test func adminMethodsAskAuthorizeAndRefuseWithItsError() throws {
        let refusing = try TestServer(admin: false)
        let client = try refusing.client()
        #expect(try client.call("echo", params: ["value": 1]) == 1)
        #expect(throws: RPCClientError.remote(RPCError(code: -32010, name: "PermissionDenied",
                                                       message: "adminOnly needs an admin; uid \(getuid()) is not one. Run it as root or as the daemon's user"))) {
            try client.call("adminOnly")
        }
        #expect(refusing.authorizeAsked.all == ["adminOnly"])

        let allowing = try TestServer(admin: true)
        #expect(try allowing.client().call("adminOnly") == "done")
    }

    @Test func peerCredentialsComeFromTheSocket() throws {
        let server = try TestServer()
        let me = try server.client().call("whoami")
        #expect(me["uid"]?.numberValue?.int == Int(getuid()))
        #expect(me["gid"]?.numberValue?.int == Int(getgid()))
        #expect(me["pid"]?.numberValue?.int == Int(getpid()))
    }
}

extension Array where Element == UInt8 {
    var utf8String: String { String(decoding: self, as: UTF8.self) }
}
