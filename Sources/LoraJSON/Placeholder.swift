// The JSON value type lives here (moved from LoraTokenizer by the JSON-RPC work).
