#!/usr/bin/env bash
# One-time machine set-up shared by scripts/test.sh and scripts/train.sh (idempotent, safe to re-run).
# - tcmalloc: libtorch under glibc malloc grows RSS ~50 MB per training step (engine-notes §1); tcmalloc keeps it flat.
# - chromium: for the dashboard's browser tests (see below).
# - NuGet restore happens in the dotnet commands themselves; TorchSharp's native library is loaded by the engine
#   (src/TinkerFlow.Torch/Native/TorchNativeLibrary.cs), so no LD_LIBRARY_PATH is needed.
set -euo pipefail

TCMALLOC=/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4
if [ ! -e "$TCMALLOC" ] && [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
  echo "[setup] installing libtcmalloc-minimal4 (flat memory for long TorchSharp runs)" >&2
  (apt-get install -y -qq libtcmalloc-minimal4 >/dev/null 2>&1 \
    || (apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq libtcmalloc-minimal4 >/dev/null 2>&1)) \
    || echo "[setup] could not install tcmalloc; continuing with glibc malloc (TinkerFlow trims the heap itself)" >&2
fi
if [ -e "$TCMALLOC" ]; then
  export TINKERFLOW_TCMALLOC="$TCMALLOC"
fi
# - chromium: the dashboard's browser tests (tests/TinkerFlow.Dashboard.Tests) drive /usr/bin/chromium with Playwright,
#   which never downloads a browser here.
if [ ! -x /usr/bin/chromium ] && [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
  echo "[setup] installing chromium (dashboard browser tests)" >&2
  (apt-get install -y -qq chromium >/dev/null 2>&1 \
    || (apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq chromium >/dev/null 2>&1)) \
    || echo "[setup] could not install chromium; the dashboard browser tests will fail until 'apt-get install -y chromium'" >&2
fi
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
export DOTNET_CLI_TELEMETRY_OPTOUT=1
export DOTNET_NOLOGO=1
export DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
