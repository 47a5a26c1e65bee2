#!/usr/bin/env bash
# `make run`: starts lorad in the foreground on the working tree's state directory (.lorad/), and once it is
# ready prints commands to try against it. Ctrl-C stops it gracefully.
# Usage: scripts/run.sh [MODEL_DIR]   (no MODEL_DIR: the embedded demo, stories260K with dragon and snow)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=.build/release
state="$PWD/.lorad"
socket="$state/lorad.sock"
mkdir -p "$state"

args=(serve --state-dir "$state" --socket "$socket")
if [ -n "${1:-}" ]; then
    if [ ! -f "$1/config.json" ]; then
        echo "lorad: no checkpoint at $1 (config.json missing); run 'make run' without MODEL to serve the demo" >&2
        exit 1
    fi
    args+=(--model "$1")
fi

"$bin/lorad" "${args[@]}" &
pid=$!
trap 'kill -INT $pid 2>/dev/null; wait $pid; exit 0' INT TERM

# Ready when the socket answers `status` (at most a minute: a large checkpoint takes a while to load).
for _ in $(seq 1 600); do
    if "$bin/lorctl" --socket "$socket" call status >/dev/null 2>&1; then break; fi
    if ! kill -0 $pid 2>/dev/null; then wait $pid; exit $?; fi
    sleep 0.1
done

lorctl="$bin/lorctl --socket $socket"
cat <<MSG

lorad is serving on $socket (state in $state). Try, in another terminal:

  $lorctl status
  $lorctl generate "Once upon a time" --max-tokens 64
  $lorctl loras set dragon
  $lorctl generate "Once upon a time" --max-tokens 64
  $lorctl loras set dragon:0.5 snow:0.5
  $lorctl adapters list
  $lorctl loras clear
  $lorctl call generate '{"prompt": "Once upon a time", "maxTokens": 16, "stream": true}'

Ctrl-C stops lorad.
MSG
wait $pid
