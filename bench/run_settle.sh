#!/usr/bin/env bash
# Purchase to key: BTCPay's webhook in, the license readable through GET /v1/purchase/:id out,
# over 1,000 settlements, against the same server's answer for an invoice already settled.
# Usage: bash bench/run_settle.sh [BUILD_DIR]   (default build-bench; Release build)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:-build-bench}
[[ -d $build ]] || build=$root/$build
build=$(cd "$build" && pwd)
for exe in "$build/tools/keysat-serve" "$build/bench/bench_settle"; do
    [[ -x $exe ]] || { echo "run_settle.sh: $exe is missing; build $build first" >&2; exit 2; }
done
echo "command: $build/bench/bench_settle $build/tools/keysat-serve 1000"
"$build/bench/bench_settle" "$build/tools/keysat-serve" 1000
