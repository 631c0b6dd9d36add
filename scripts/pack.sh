#!/usr/bin/env bash
# Packs the libraries and the `tinkerflow` tool: every project under src/ (or only the ones named, e.g.
# `bash scripts/pack.sh TinkerFlow TinkerFlow.Local`) into artifacts/packages/ as .nupkg + .snupkg (symbols).
# The version is VersionPrefix in Directory.Build.props; TINKERFLOW_VERSION_SUFFIX=rc.1 makes it 0.1.0-rc.1.
# Package metadata (license, readme, repository, XML docs) comes from Directory.Build.props/.targets.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh

out="$PWD/artifacts/packages"
mkdir -p "$out"
if [ "$#" -eq 0 ]; then
  projects=(src/*/*.csproj)
else
  projects=()
  for name in "$@"; do
    [ -f "src/$name/$name.csproj" ] || { echo "pack: no project src/$name/$name.csproj" >&2; exit 2; }
    projects+=("src/$name/$name.csproj")
  done
fi

# One MSBuild run over a generated solution filter: restore and build once, in parallel.
filter=artifacts/pack.slnf
{
  echo '{ "solution": { "path": "../TinkerFlow.sln", "projects": ['
  sep=""
  for p in "${projects[@]}"; do printf '%s    "%s"' "$sep" "$p"; sep=$',\n'; done
  echo ' ] } }'
} > "$filter"
for p in "${projects[@]}"; do
  id=$(basename "$p" .csproj)
  rm -f "$out/$id".[0-9]*.nupkg "$out/$id".[0-9]*.snupkg
done

suffix=()
if [ -n "${TINKERFLOW_VERSION_SUFFIX:-}" ]; then suffix=(--version-suffix "$TINKERFLOW_VERSION_SUFFIX"); fi
dotnet pack "$filter" -c Release -nologo -v quiet -clp:ErrorsOnly -p:PackageOutputPath="$out" "${suffix[@]}"
ls -1 "$out"
