#!/usr/bin/env bash
# `make run`: until the daemon lands, shows what lorad does on the default model, offline.
# Usage: scripts/run.sh MODEL_DIR
set -euo pipefail
cd "$(dirname "$0")/.."
model="${1:-../shared/fixtures/models/stories260K}"
bin=.build/release/lorad

if [ ! -f "$model/config.json" ]; then
    echo "lorad: default model not found at $model" >&2
    echo "lorad: pass one with: make run DEFAULT_MODEL=/path/to/hf-checkpoint" >&2
    exit 1
fi

cat <<MSG
lorad: the daemon (lorad serve: JSON-RPC on a Unix socket, systemd notify) is not built yet.
lorad: once it is, 'make run' will start it on the default model:
lorad:     $bin serve --model $model
lorad: for now, an offline run of the same model: prompt -> tokens -> greedy continuation -> text.
MSG

prompt='"Once upon a time"'
ids=$(echo "$prompt" | "$bin" tokenize --tokenizer "$model" --special | tr -d '[]')
echo "prompt: $prompt -> token ids [$ids]"
# The greedy token ids of `lorad eval --json`, as a JSON array (plain shell: a fresh machine may lack python).
greedy_ids() { grep -o '"token":[0-9]*' | cut -d: -f2 | paste -sd, | sed 's/^/[/; s/$/]/'; }

continuation=$("$bin" eval --model "$model" --tokens "$ids" --steps 48 --json | greedy_ids)
text=$(echo "$continuation" | "$bin" tokenize --tokenizer "$model" --decode)
echo "greedy continuation: $text"

adapter=$(dirname "$(dirname "$model")")/adapters/$(basename "$model")/dragon
if [ -d "$adapter" ]; then
    continuation=$("$bin" eval --model "$model" --adapter "$adapter" --tokens "$ids" --steps 48 --json | greedy_ids)
    echo "with the dragon adapter: $(echo "$continuation" | "$bin" tokenize --tokenizer "$model" --decode)"
fi
