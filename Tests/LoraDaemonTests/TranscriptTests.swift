import Foundation
import LoraJSON
import Testing

/// The protocol as a client sees it on a real lorad: the JSON-RPC 2.0 specification's examples (its methods do
/// not exist here, so they meet lorad's errors) and lorad's own errors, each with the exact reply line.
@Suite(.serialized)
struct TranscriptTests {
    /// A request line and the exact line lorad answers (nil: no answer at all).
    typealias Exchange = (request: String, reply: String?)

    static let specificationExamples: [Exchange] = [
        // Positional parameters and methods lorad does not have.
        (#"{"jsonrpc":"2.0","method":"subtract","params":[42,23],"id":1}"#,
         #"{"jsonrpc":"2.0","error":{"code":-32601,"message":"Method not found","data":{"method":"subtract","hint":"rpc.discover lists the methods"}},"id":1}"#),
        (#"{"jsonrpc":"2.0","method":"foobar","id":"1"}"#,
         #"{"jsonrpc":"2.0","error":{"code":-32601,"message":"Method not found","data":{"method":"foobar","hint":"rpc.discover lists the methods"}},"id":"1"}"#),
        // A notification gets no reply, even for an unknown method.
        (#"{"jsonrpc":"2.0","method":"update","params":[1,2,3,4,5]}"#, nil),
        (#"{"jsonrpc":"2.0","method":"foobar,"params":"bar","baz]"#,
         #"{"jsonrpc":"2.0","error":{"code":-32700,"message":"Parse error","data":{"reason":"expected ',' or '}' at byte 35"}},"id":null}"#),
        (#"{"jsonrpc":"2.0","method":1,"params":"bar"}"#,
         #"{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request","data":{"reason":"method must be a string"}},"id":null}"#),
        (#"[{"jsonrpc":"2.0","method":"sum","params":[1,2,4],"id":"1"},{"jsonrpc":"2.0","method"]"#,
         #"{"jsonrpc":"2.0","error":{"code":-32700,"message":"Parse error","data":{"reason":"expected ':' at byte 85"}},"id":null}"#),
        ("[]", #"{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request","data":{"reason":"empty batch"}},"id":null}"#),
        ("[1]", #"[{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request","data":{"reason":"a request must be an object"}},"id":null}]"#),
        ("[1,2,3]", "[" + Array(repeating: #"{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request","data":{"reason":"a request must be an object"}},"id":null}"#, count: 3).joined(separator: ",") + "]"),
        (#"[{"jsonrpc":"2.0","method":"getLoras","id":"1"},{"jsonrpc":"2.0","method":"status"},{"foo":"boo"},{"jsonrpc":"2.0","method":"foo.get","params":{"name":"myself"},"id":"5"},{"jsonrpc":"2.0","method":"getLoras","id":"9"}]"#,
         #"[{"jsonrpc":"2.0","result":{"epoch":0,"adapters":[]},"id":"1"},{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request","data":{"reason":"\"jsonrpc\" must be \"2.0\""}},"id":null},{"jsonrpc":"2.0","error":{"code":-32601,"message":"Method not found","data":{"method":"foo.get","hint":"rpc.discover lists the methods"}},"id":"5"},{"jsonrpc":"2.0","result":{"epoch":0,"adapters":[]},"id":"9"}]"#),
        (#"[{"jsonrpc":"2.0","method":"getLoras"},{"jsonrpc":"2.0","method":"status"}]"#, nil),
    ]

    static let loradErrors: [Exchange] = [
        (#"{"jsonrpc":"1.0","method":"getLoras","id":2}"#,
         #"{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request","data":{"reason":"\"jsonrpc\" must be \"2.0\""}},"id":2}"#),
        (#"{"method":"getLoras","id":3}"#,
         #"{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request","data":{"reason":"\"jsonrpc\" must be \"2.0\""}},"id":3}"#),
        // Ids come back as they were written.
        (#"{"jsonrpc":"2.0","method":"getLoras","id":1.0e2}"#, #"{"jsonrpc":"2.0","result":{"epoch":0,"adapters":[]},"id":1.0e2}"#),
        (#"{"jsonrpc":"2.0","method":"generate","params":{"prompt":"x","maxTokens":"ten"},"id":4}"#,
         #"{"jsonrpc":"2.0","error":{"code":-32602,"message":"maxTokens must be an integer in 1...2^31-1, got \"ten\"","data":{"param":"maxTokens","expected":"an integer in 1...2^31-1","got":"\"ten\""}},"id":4}"#),
        (#"{"jsonrpc":"2.0","method":"generate","params":{"prompt":"x","seed":-1},"id":5}"#,
         #"{"jsonrpc":"2.0","error":{"code":-32602,"message":"seed must be an integer in 0...2^64-1, got -1","data":{"param":"seed","expected":"an integer in 0...2^64-1","got":"-1"}},"id":5}"#),
        (#"{"jsonrpc":"2.0","method":"generate","params":{"prompt":"x","maxTokens":1e400},"id":7}"#,
         #"{"jsonrpc":"2.0","error":{"code":-32602,"message":"maxTokens must be an integer in 1...2^31-1, got 1e400","data":{"param":"maxTokens","expected":"an integer in 1...2^31-1","got":"1e400"}},"id":7}"#),
        (#"{"jsonrpc":"2.0","method":"status","params":{"verbose":true},"id":19}"#,
         #"{"jsonrpc":"2.0","error":{"code":-32602,"message":"unknown parameter verbose; expected no parameters","data":{"param":"verbose","expected":"no parameters","got":"an unknown parameter"}},"id":19}"#),
        (#"{"jsonrpc":"2.0","method":"generate","params":{},"id":8}"#,
         #"{"jsonrpc":"2.0","error":{"code":-32602,"message":"give either prompt (text) or tokens (token ids)"},"id":8}"#),
        (#"{"jsonrpc":"2.0","method":"generate","params":{"prompt":"x","tokens":[1]},"id":18}"#,
         #"{"jsonrpc":"2.0","error":{"code":-32602,"message":"give either prompt or tokens, not both"},"id":18}"#),
        (#"{"jsonrpc":"2.0","method":"generate","params":{"prompt":"x","stop":[""]},"id":14}"#,
         #"{"jsonrpc":"2.0","error":{"code":-32602,"message":"invalid request: a stop string is empty and could never match; remove it"},"id":14}"#),
        (#"{"jsonrpc":"2.0","method":"generate","params":{"prompt":"x","stopTokens":[99999]},"id":17}"#,
         #"{"jsonrpc":"2.0","error":{"code":-32602,"message":"invalid request: stop token id 99999 is outside the vocabulary (0..<512)"},"id":17}"#),
        (#"{"jsonrpc":"2.0","method":"setLoras","params":{},"id":11}"#,
         #"{"jsonrpc":"2.0","error":{"code":-32602,"message":"adapters must be null or an array of at most 64 items, each an object with name, scale, got nothing (it is required)","data":{"param":"adapters","expected":"null or an array of at most 64 items, each an object with name, scale","got":"nothing (it is required)"}},"id":11}"#),
        (#"{"jsonrpc":"2.0","method":"setLoras","params":{"adapters":[{"name":"dragon","scale":"big"}]},"id":9}"#,
         #"{"jsonrpc":"2.0","error":{"code":-32602,"message":"adapters[0].scale must be a number in -1000000.0...1000000.0, got \"big\"","data":{"param":"adapters[0].scale","expected":"a number in -1000000.0...1000000.0","got":"\"big\""}},"id":9}"#),
        (#"{"jsonrpc":"2.0","method":"setLoras","params":{"adapters":[{"name":"dragon"},{"name":"dragon"}]},"id":21}"#,
         #"{"jsonrpc":"2.0","error":{"code":-32602,"message":"adapters names dragon twice; give it once, with the sum of the scales"},"id":21}"#),
        (#"{"jsonrpc":"2.0","method":"setLoras","params":{"adapters":[{"name":"pirate"}]},"id":10}"#,
         #"{"jsonrpc":"2.0","error":{"code":1001,"message":"no adapter named 'pirate'; listAdapters shows the adapters the registry holds","data":{"name":"AdapterNotFound","adapter":"pirate"}},"id":10}"#),
        (#"{"jsonrpc":"2.0","method":"cancel","params":{"jobId":99},"id":12}"#,
         #"{"jsonrpc":"2.0","error":{"code":1020,"message":"no queued or running job has id 99 (it may have finished already); listJobs shows the live ones","data":{"name":"JobNotFound","jobId":99}},"id":12}"#),
        (#"{"jsonrpc":"2.0","method":"addAdapter","params":{"name":"../x","path":"/tmp"},"id":15}"#,
         #"{"jsonrpc":"2.0","error":{"code":-32602,"message":"invalid adapter name '../x': it starts with '.'; use 1 to 128 letters, digits, '-', '_' or '.', not starting with '.'"},"id":15}"#),
        (#"[{"jsonrpc":"2.0","method":"generate","params":{"prompt":"x","stream":true},"id":23}]"#,
         #"[{"jsonrpc":"2.0","error":{"code":-32602,"message":"stream: true cannot be used inside a batch (a batch's replies are sent together, after the stream would have begun); send it as a request of its own"},"id":23}]"#),
        (#"{"jsonrpc":"2.0","method":"addAdapter","params":{"name":"x","path":"relative/dir"},"id":16}"#,
         #"{"jsonrpc":"2.0","error":{"code":-32602,"message":"path must be absolute (the daemon does not share the client's working directory), got relative/dir"},"id":16}"#),
    ]

    @Test func specificationExamplesAndLoradErrorsGetExactReplies() throws {
        let daemon = try LoradProcess()
        try daemon.start()
        let connection = try daemon.connect()
        for (request, expected) in Self.specificationExamples + Self.loradErrors {
            connection.write(request + "\n")
            if let expected {
                #expect(connection.readLine(timeout: 30) == expected, "request: \(request)")
            } else {
                // Nothing may come back: the next line is the answer to a request sent after it.
                connection.write(#"{"jsonrpc":"2.0","method":"getLoras","id":"marker"}"# + "\n")
                #expect(connection.readLine(timeout: 30)?.contains(#""id":"marker""#) == true, "request: \(request)")
            }
        }
        #expect(daemon.stop() == 0)
    }

    @Test func anOversizeLineGetsInvalidRequestAndTheConnectionCloses() throws {
        let daemon = try LoradProcess(config: "[server]\nmax_message_bytes = 1024\n")
        try daemon.start()
        let connection = try daemon.connect()
        connection.write(#"{"jsonrpc":"2.0","method":"generate","params":{"prompt":""# + String(repeating: "a", count: 2000) + #""},"id":1}"# + "\n")
        #expect(connection.readLine() == #"{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request","data":{"reason":"the line is longer than 1024 bytes; split the request or raise the server's message size limit"}},"id":null}"#)
        connection.closeNow()
        // A client that sends an oversize line and then closes its side still gets the error before the close.
        let oneShot = try daemon.connect()
        oneShot.write(String(repeating: "x", count: 3000) + "\n")
        oneShot.shutdownWriting()
        #expect(oneShot.readLine()?.contains("the line is longer than 1024 bytes") == true)
        #expect(oneShot.waitForClose())
        // Others are served as before.
        #expect(try daemon.request("getLoras").result()["epoch"] == 0)
        #expect(daemon.stop() == 0)
    }

    @Test func discoverDescribesExactlyTheMethodsDocumentedInApiMd() throws {
        let daemon = try LoradProcess()
        try daemon.start()
        let document = try daemon.request("rpc.discover").result()
        let methods = try #require(document["methods"]?.arrayValue)
        let names = Set(methods.compactMap { $0["name"]?.stringValue })
        #expect(names == ["status", "listAdapters", "addAdapter", "removeAdapter", "verifyAdapters", "getLoras", "setLoras",
                          "generate", "cancel", "listJobs", "reload", "rpc.discover"])
        let api = try String(contentsOf: ConfigurationTests.packageRoot.appendingPathComponent("docs/api.md"), encoding: .utf8)
        for method in methods {
            guard let name = method["name"]?.stringValue else { continue }
            #expect(api.contains("### `\(name)`"), "docs/api.md has no section for \(name)")
            for param in method["params"]?.arrayValue ?? [] {
                guard let param = param["name"]?.stringValue else { continue }
                #expect(api.contains("`\(param)`"), "docs/api.md does not mention \(name)'s parameter \(param)")
            }
        }
        #expect(daemon.stop() == 0)
    }
}
