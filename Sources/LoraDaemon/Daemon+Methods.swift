import LoraEngine
import LoraJSON
import LoraRPC

extension Daemon {
    /// Every method lorad serves, as data: dispatch, parameter validation and `rpc.discover` all come from it,
    /// and docs/api.md documents the same entries (a test holds the two together).
    func methodTable() -> [RPCMethod] {
        let scale = RPCParamType.number(min: -1e6, max: 1e6)
        let adapterEntry = RPCParamType.object([RPCParam("name", .string, required: true, description: "a registered adapter"),
                                                RPCParam("scale", scale, description: "user scale, default 1")])
        let tokenID = RPCParamType.integer(min: 0, max: Int128(Int32.max))
        func method(_ name: String, _ summary: String, _ params: [RPCParam] = [], admin: Bool = false,
                    _ handler: @escaping @Sendable (Daemon) -> (JSONValue, any CallContext) -> Void) -> RPCMethod {
            RPCMethod(name: name, summary: summary, params: params, admin: admin) { [self] call in
                handler(self)(call.params.object, RPCCallContext(call: call))
            }
        }
        return [
            method("status", "Version, model, engine load and capacity, active adapters, registry and uptime.") { $0.status },
            method("listAdapters", "The registered adapters with their digest, shape, size, and whether active, compatible and intact.") { $0.listAdapters },
            method("addAdapter", "Imports a PEFT LoRA adapter directory into the registry under a name.", [
                RPCParam("name", .string, required: true, description: "letters, digits, '-', '_', '.'; not starting with '.'; at most 128 characters"),
                RPCParam("path", .string, required: true, description: "absolute path of a directory with adapter_config.json and adapter_model.safetensors"),
                RPCParam("replace", .boolean, description: "replace an adapter of that name (refused while it is active)"),
            ], admin: true) { $0.addAdapter },
            method("removeAdapter", "Removes an adapter from the registry (refused while it is active).",
                   [RPCParam("name", .string, required: true)], admin: true) { $0.removeAdapter },
            method("verifyAdapters", "Re-hashes stored adapter files; a mismatch marks the adapter broken.",
                   [RPCParam("name", .string, description: "one adapter; all when left out")]) { $0.verifyAdapters },
            method("getLoras", "The adapter set in force and its epoch.") { $0.getLoras },
            method("setLoras", "Replaces the active adapter set once earlier jobs have finished (a transaction; null or [] turns adapters off).", [
                RPCParam("adapters", .nullable(.array(of: adapterEntry, maxCount: 64)), required: true,
                         description: "the new set: [{name, scale}], or null / [] for none"),
                RPCParam("timeoutMs", .integer(min: 0, max: Int128(Int32.max)), description: "bounds the whole call from its arrival; default from the configuration"),
                RPCParam("onTimeout", .enumeration(OnTimeout.allCases.map(\.rawValue)), description: "abort (default): nothing changes; cancel: cancel the earlier jobs and commit"),
            ], admin: true) { $0.setLoras },
            method("generate", "Generates text for a prompt; with stream, notifications generate.delta and generate.done follow the {jobId} reply.", [
                RPCParam("prompt", .string, description: "text, tokenized with the model's tokenizer (BOS added); give prompt or tokens"),
                RPCParam("tokens", .array(of: tokenID), description: "prompt token ids"),
                RPCParam("maxTokens", .integer(min: 1, max: Int128(Int32.max)), description: "new tokens at most; default up to the context"),
                RPCParam("temperature", .number(min: 0, max: 1e6), description: "0 is greedy"),
                RPCParam("topK", .integer(min: 0, max: Int128(Int32.max)), description: "0 keeps all"),
                RPCParam("topP", .number(min: 0, max: 1), description: "in (0, 1]; 1 keeps all"),
                RPCParam("minP", .number(min: 0, max: 1)),
                RPCParam("repetitionPenalty", .number(min: 0.01, max: 100)),
                RPCParam("presencePenalty", .number(min: -2, max: 2)),
                RPCParam("frequencyPenalty", .number(min: -2, max: 2)),
                RPCParam("seed", .uint64, description: "the same seed, prompt and adapters give the same tokens"),
                RPCParam("stop", .oneOf([.string, .array(of: .string)]), description: "strings that end the job (not included in the text)"),
                RPCParam("stopTokens", .array(of: tokenID), description: "token ids that end the job"),
                RPCParam("ignoreEos", .boolean),
                RPCParam("logprobs", .boolean, description: "report each token's log-probability"),
                RPCParam("stream", .boolean, description: "reply {jobId} at once, then stream notifications"),
                RPCParam("loras", .nullable(.array(of: adapterEntry, maxCount: 64)),
                         description: "the job's own adapters [{name, scale}] ([] for the base model), instead of the global set; a pending setLoras does not hold it"),
            ]) { $0.generate },
            method("cancel", "Cancels a queued or running job (one's own, or any for an admin).",
                   [RPCParam("jobId", .uint64, required: true)]) { $0.cancel },
            method("listJobs", "The queued and running jobs.") { $0.listJobs },
            method("reload", "Re-reads the configuration; reports what applied and what needs a restart.", admin: true) { $0.reload },
        ]
    }
}
