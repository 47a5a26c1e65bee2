import LoraJSON

/// Turns one request line into handler calls and, at most once per line, one reply line: a single reply, or a
/// batch's replies collected into one array in request order. Pure dispatch: no sockets; it runs on the server's
/// queue and hands reply bytes (without the newline) to the closure it is given.
struct RPCDispatcher: Sendable {
    /// The methods.
    let methods: RPCMethodTable
    /// How lines are decoded.
    let decoder: RPCMessageDecoder
    /// Asked before an admin method runs.
    let authorize: @Sendable (PeerCredentials, String) -> Bool
    /// The error for a peer `authorize` refused.
    let denied: @Sendable (PeerCredentials, String) -> RPCError

    /// Dispatches `line`; returns whether a reply line will come (then `reply` is called exactly once, possibly
    /// before this returns, possibly later from any thread).
    func dispatch(_ line: [UInt8], on connection: RPCConnectionHandle,
                  reply: @escaping @Sendable ([UInt8]) -> Void) -> Bool {
        switch decoder.decode(line) {
        case .single(.invalid(let error, let id)):
            reply(RPCResponse.encode(.failure(error), id: id))
            return true
        case .single(.request(let request)):
            guard let id = request.id else {
                run(request, on: connection) { _ in }
                return false
            }
            run(request, on: connection) { result in reply(RPCResponse.encode(result, id: id)) }
            return true
        case .batch(let messages):
            return dispatchBatch(messages, on: connection, reply: reply)
        }
    }

    /// Runs a batch's entries in order; the replies (notifications have none) go out together.
    private func dispatchBatch(_ messages: [RPCDecodedMessage], on connection: RPCConnectionHandle,
                               reply: @escaping @Sendable ([UInt8]) -> Void) -> Bool {
        let expected = messages.reduce(0) { count, message in
            if case .request(let request) = message, request.isNotification { return count }
            return count + 1
        }
        guard expected > 0 else {
            for case .request(let request) in messages { run(request, on: connection, inBatch: true) { _ in } }
            return false
        }
        let collector = RPCBatchCollector(slots: expected, completion: reply)
        var slot = 0
        for message in messages {
            switch message {
            case .invalid(let error, let id):
                collector.fill(slot, RPCResponse.encode(.failure(error), id: id))
                slot += 1
            case .request(let request):
                guard let id = request.id else {
                    run(request, on: connection, inBatch: true) { _ in }
                    continue
                }
                let mine = slot
                slot += 1
                run(request, on: connection, inBatch: true) { result in collector.fill(mine, RPCResponse.encode(result, id: id)) }
            }
        }
        return true
    }

    /// Looks the method up, validates the parameters, checks admin rights and calls the handler; every failure
    /// before the handler goes to `respond` (which ignores it for notifications).
    private func run(_ request: RPCRequest, on connection: RPCConnectionHandle, inBatch: Bool = false,
                     respond: @escaping @Sendable (Result<JSONValue, RPCError>) -> Void) {
        guard let method = methods.method(named: request.method) else {
            respond(.failure(.methodNotFound(request.method)))
            return
        }
        let params: RPCParams
        switch methods.validate(request.params, for: method) {
        case .success(let valid): params = valid
        case .failure(let error):
            respond(.failure(error))
            return
        }
        if method.admin && !authorize(connection.peer, method.name) {
            respond(.failure(denied(connection.peer, method.name)))
            return
        }
        let call = RPCCall(method: method.name, params: params, id: request.id, connection: connection, inBatch: inBatch, respond: respond)
        method.handler(call)
    }
}
