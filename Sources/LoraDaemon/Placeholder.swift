// The daemon (issue 16).
