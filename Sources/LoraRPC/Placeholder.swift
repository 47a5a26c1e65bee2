// JSON-RPC 2.0 (issue 16).
