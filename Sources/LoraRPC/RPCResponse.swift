import LoraJSON

/// Encodes replies and notifications as the bytes of one line (without the newline).
public enum RPCResponse {
    /// `{"jsonrpc":"2.0","result":...,"id":...}` or `{"jsonrpc":"2.0","error":...,"id":...}`.
    public static func encode(_ result: Result<JSONValue, RPCError>, id: RPCID, into out: inout [UInt8]) {
        out.append(contentsOf: #"{"jsonrpc":"2.0","#.utf8)
        switch result {
        case .success(let value):
            out.append(contentsOf: #""result":"#.utf8)
            value.serialize(into: &out)
        case .failure(let error):
            out.append(contentsOf: #""error":"#.utf8)
            error.json.serialize(into: &out)
        }
        out.append(contentsOf: #","id":"#.utf8)
        id.json.serialize(into: &out)
        out.append(0x7D)
    }

    /// The reply line's bytes.
    public static func encode(_ result: Result<JSONValue, RPCError>, id: RPCID) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(64)
        encode(result, id: id, into: &out)
        return out
    }

    /// A notification `{"jsonrpc":"2.0","method":...,"params":...}`.
    public static func encodeNotification(method: String, params: JSONValue?) -> [UInt8] {
        RPCRequest(method: method, params: params, id: nil).json.serialized()
    }
}
