#!/usr/bin/env bash
# Regenerates BENCHMARKS.md and docs/plots/*.png: the quick benchmark run, each recipe's reference run (default
# settings, embedded engine), then the report. Takes ~15 minutes on 2 idle cores. Numbers come only from this run.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
out=artifacts/benchmarks
rm -rf "$out" && mkdir -p "$out/runs"
preload=""
if [ -n "${TINKERFLOW_TCMALLOC:-}" ]; then preload="$TINKERFLOW_TCMALLOC"; fi
dotnet build -c Release TinkerFlow.sln -v quiet -nologo -clp:ErrorsOnly
LD_PRELOAD="$preload" dotnet run -c Release --no-build --project benchmarks/TinkerFlow.Benchmarks -- --quick | tee "$out/quick.txt"
for recipe in ${TINKERFLOW_BENCH_RECIPES:-Sft MathRl Dpo Distill}; do
  echo "== reference run: $recipe"
  LD_PRELOAD="$preload" TINKERFLOW_HOME="$PWD/$out/home" dotnet run -c Release --no-build --project "recipes/$recipe" -- --log-path "$out/runs/$recipe" > "$out/$recipe.log" 2>&1 \
    || { echo "$recipe failed; see $out/$recipe.log"; exit 1; }
done
dotnet run -c Release --no-build --project benchmarks/TinkerFlow.Benchmarks -- --report --quick-output "$out/quick.txt" --runs "$out/runs" --out BENCHMARKS.md --plots docs/plots
