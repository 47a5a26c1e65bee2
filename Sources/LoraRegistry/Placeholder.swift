// The adapter registry (issue 15).
