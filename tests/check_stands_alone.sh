#!/usr/bin/env bash
# The repository stands alone: no file may read the steering folder beside the checkout. Fixtures
# made by outside systems are copied into tests/fixtures/ with a PROVENANCE.md each.
# Usage: check_stands_alone.sh SOURCE_DIR
set -euo pipefail
cd "$1"
# Built from two halves so that this script does not match itself.
pattern='\.\./''shared'
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  hits=$(git grep --untracked -n -I -e "$pattern" -- . || true)
else
  hits=$(grep -rn -I --exclude-dir=build\* --exclude-dir=.git -e "$pattern" . || true)
fi
if [ -n "$hits" ]; then
  echo "files that read a folder outside the repository:" >&2
  echo "$hits" >&2
  exit 1
fi
missing=0
for dir in tests/fixtures/*/; do
  if [ ! -s "$dir/PROVENANCE.md" ]; then
    echo "no PROVENANCE.md in $dir" >&2
    missing=1
  fi
done
[ "$missing" -eq 0 ] || exit 1
echo "stands alone: no outside reads, every fixture folder has its provenance"
