#!/usr/bin/env bash
# A tool meant to run anywhere is one static executable: the dynamic loader loads nothing for it,
# and it runs with an empty library path. Prints its size.
# Usage: check_static.sh BINARY...
set -euo pipefail
for bin in "$@"; do
  loader=$(LC_ALL=C ldd "$bin" 2>&1 || true) # ldd exits 1 for a plain static program
  if ! grep -qE 'not a dynamic executable|statically linked' <<<"$loader"; then
    echo "$bin is dynamically linked:" >&2
    echo "$loader" >&2
    exit 1
  fi
  if readelf -l "$bin" | grep -q 'INTERP'; then
    echo "$bin asks for a program interpreter (the dynamic loader)" >&2
    exit 1
  fi
  # Runs with no library reachable at all.
  env -i LD_LIBRARY_PATH=/nonexistent "$bin" --version >/dev/null
  echo "$(basename "$bin"): static, $(stat -c %s "$bin") bytes"
done
