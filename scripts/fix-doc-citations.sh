#!/usr/bin/env bash
# Repoints references to the old out-of-repo notes (../shared/docs/X.md, shared/docs/X.md) at the in-repo copies
# under docs/ that keep the same § numbers. Idempotent: a second run changes nothing.
#   bash scripts/fix-doc-citations.sh            # rewrite in place, list the files it changed
#   bash scripts/fix-doc-citations.sh --check    # exit 1 (and list them) if any reference is left
set -euo pipefail
cd "$(dirname "$0")/.."

targets=(src tests recipes benchmarks scripts README.md BENCHMARKS.md docs)
existing=()
for t in "${targets[@]}"; do [ -e "$t" ] && existing+=("$t"); done

# Files that mention shared/docs, excluding build outputs and this script.
mapfile -t files < <(grep -rlE '(\.\./)*shared/docs/' "${existing[@]}" \
  --exclude-dir=bin --exclude-dir=obj --exclude-dir=node_modules --exclude=fix-doc-citations.sh 2>/dev/null || true)

if [ "${1:-}" = "--check" ]; then
  if [ "${#files[@]}" -gt 0 ]; then printf 'still cites shared/docs: %s\n' "${files[@]}"; exit 1; fi
  echo "no shared/docs citations left"; exit 0
fi

for f in "${files[@]}"; do
  # Markdown links are relative to the file (recipes/README.md → ../docs/x.md; docs/a.md → x.md); code comments
  # name the repository-root path (docs/x.md).
  up() { local d; d="$(dirname "$1")"; [ "$d" = "." ] && return; echo "$d" | sed -E 's#[^/]+#..#g; s#$#/#'; }
  prefix="docs/"
  case "$f" in
    docs/*.md) prefix="$(up "${f#docs/}")" ;;
    *.md) prefix="$(up "$f")docs/" ;;
  esac
  # ../../shared/docs/x.md, ../shared/docs/x.md, /work/shared/docs/x.md and shared/docs/x.md all become docs/x.md.
  sed -i -E "s#(/work/|(\.\./)+)?shared/docs/([A-Za-z0-9_.-]+\.md)#${prefix}\3#g" "$f"
  echo "rewrote $f"
done
