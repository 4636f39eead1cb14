#!/usr/bin/env bash
# Fails when a C++ source differs from what clang-format makes of it.
set -euo pipefail
clang_format=$1 root=$2
cd "$root"
status=0
while IFS= read -r f; do
  if ! diff -q <("$clang_format" --style=file "$f") "$f" >/dev/null; then
    echo "not formatted: $f (run: clang-format -i $f)"; status=1
  fi
done < <(git ls-files '*.cpp' '*.hpp' 2>/dev/null || find lib tools tests bench -name '*.[ch]pp')
exit $status
