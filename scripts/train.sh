#!/usr/bin/env bash
# The main job of README.md: fine-tunes the built-in model on the chat dataset shipped in the repo with the embedded
# engine (no server, no download), saves checkpoints, samples from the result. Extra arguments go to the recipe,
# e.g. `bash scripts/train.sh --max-steps 40`. Output: runs/<recipe>/metrics.jsonl, checkpoints.jsonl.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
recipe="${TINKERFLOW_RECIPE:-Sft}"
log_path="runs/$(echo "$recipe" | tr '[:upper:]' '[:lower:]')"
preload=""
if [ -n "${TINKERFLOW_TCMALLOC:-}" ]; then preload="$TINKERFLOW_TCMALLOC"; fi
LD_PRELOAD="$preload" dotnet run -c Release --project "recipes/$recipe" -- --log-path "$log_path" "$@"
