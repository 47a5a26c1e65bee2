import LoraJSON

/// One message read from a line: a request, or an error to reply with (with the id to reply to).
public enum RPCDecodedMessage: Sendable, Equatable {
    /// A well-formed request or notification.
    case request(RPCRequest)
    /// A malformed message: reply `error` with `id` (null when the id could not be read).
    case invalid(RPCError, id: RPCID)
}

/// What one line holds.
public enum RPCIncoming: Sendable, Equatable {
    /// A single message (or an error about the whole line: parse error, empty or oversized batch).
    case single(RPCDecodedMessage)
    /// A non-empty batch; its replies go out as one array line.
    case batch([RPCDecodedMessage])
}

/// Turns one line into requests, following JSON-RPC 2.0 to the letter.
public struct RPCMessageDecoder: Sendable {
    /// The most entries a batch may have; a larger batch is refused with one Invalid Request.
    public var maxBatchSize: Int
    /// How the line's JSON is parsed (strict, with depth and size caps).
    public var parseOptions: JSONParseOptions

    /// A decoder; by default batches up to 10,000 entries, nesting up to 128 levels, a million values per line.
    public init(maxBatchSize: Int = 10_000,
                parseOptions: JSONParseOptions = JSONParseOptions(maxDepth: 128, strict: true, maxElements: 1_000_000)) {
        self.maxBatchSize = maxBatchSize
        self.parseOptions = parseOptions
    }

    /// Decodes one line (without its terminator).
    public func decode(_ line: [UInt8]) -> RPCIncoming {
        let value: JSONValue
        do {
            value = try JSONValue.parse(line, options: parseOptions)
        } catch {
            switch error.kind {
            case .syntax: return .single(.invalid(.parseError(error.description), id: .null))
            case .tooDeep, .tooLarge: return .single(.invalid(.invalidRequest(error.description), id: .null))
            }
        }
        guard case .array(let items) = value else { return .single(decodeMessage(value)) }
        if items.isEmpty { return .single(.invalid(.invalidRequest("empty batch"), id: .null)) }
        if items.count > maxBatchSize {
            return .single(.invalid(.invalidRequest("batch of \(items.count) entries; the limit is \(maxBatchSize)"), id: .null))
        }
        return .batch(items.map(decodeMessage))
    }

    /// Checks one request object.
    public func decodeMessage(_ value: JSONValue) -> RPCDecodedMessage {
        guard case .object = value else { return .invalid(.invalidRequest("a request must be an object"), id: .null) }
        var id: RPCID? = nil
        if let rawID = value["id"] {
            guard let parsed = RPCID(rawID) else {
                return .invalid(.invalidRequest("id must be a string, a number or null"), id: .null)
            }
            id = parsed
        }
        let replyID = id ?? .null
        guard value["jsonrpc"] == "2.0" else {
            return .invalid(.invalidRequest("\"jsonrpc\" must be \"2.0\""), id: replyID)
        }
        guard case .string(let method)? = value["method"] else {
            return .invalid(.invalidRequest("method must be a string"), id: replyID)
        }
        let params = value["params"]
        switch params {
        case nil, .array?, .object?: break
        default: return .invalid(.invalidRequest("params must be an object or an array"), id: replyID)
        }
        return .request(RPCRequest(method: method, params: params, id: id))
    }
}
