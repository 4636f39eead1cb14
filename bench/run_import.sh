#!/usr/bin/env bash
# Switching from Keysat at scale: `keysat-migrate import-keysat` of a Keysat database with N
# licenses and 2N machines (default 1,000,000 and 2,000,000), against the floor measured in the
# same run: copying the same license and machine rows as they are (bench_import copy) plus
# signing N LIC1 keys at libsodium's raw rate (bench_sign_raw). Peak memory at N and at N/10
# shows whether it is flat in the size (streamed). Time with hyperfine, memory with /usr/bin/time.
# Usage: bash bench/run_import.sh [BUILD_DIR] [N]   (default build-bench, a Release build)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:-build-bench}
n=${2:-1000000}
[[ -d $build ]] || build=$root/$build
build=$(cd "$build" && pwd)
migrate=$build/tools/keysat-migrate
bench=$build/bench/bench_import
sign=$build/bench/bench_sign_raw
for b in "$migrate" "$bench" "$sign"; do
    [[ -x $b ]] || { echo "run_import.sh: $b is missing; build $build first" >&2; exit 2; }
done
for tool in hyperfine python3 /usr/bin/time; do
    command -v "$tool" >/dev/null || { echo "run_import.sh: $tool is not installed" >&2; exit 2; }
done

tmp=$(mktemp -d /tmp/keysat-bench-import.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
mean_of() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["results"][int(sys.argv[2])]["mean"])' "$1" "$2"; }
calc() { python3 -c "print(f'{$1:.${2:-2}f}')"; }
small=$((n / 10))

echo "== making Keysat databases: $n and $small licenses (two machines each)"
"$bench" make "$n" "$tmp/keysat.db"
"$bench" make "$small" "$tmp/small.db"
ls -l "$tmp/keysat.db" | awk '{printf "source: %.0f MiB\n", $5 / 1048576}'

reset="rm -rf $tmp/out; mkdir -p $tmp/out"
hyperfine --style basic --runs 3 --export-json "$tmp/r.json" --prepare "$reset" \
    -n import-keysat "$migrate import-keysat --from $tmp/keysat.db --db $tmp/out/keysat.db" \
    -n plain-copy-of-the-rows "$bench copy $tmp/keysat.db $tmp/out/copy.db"
import_s=$(mean_of "$tmp/r.json" 0)
copy_s=$(mean_of "$tmp/r.json" 1)
sign_rate=$("$sign" 100000 3 | awk '/sign_per_s/ {print $2}')
floor_s=$(calc "$copy_s + $n / $sign_rate" 3)

eval "$reset"
big_kb=$(/usr/bin/time -f %M "$migrate" import-keysat --from "$tmp/keysat.db" --db "$tmp/out/keysat.db" 2>&1 >/dev/null | tail -1)
eval "$reset"
small_kb=$(/usr/bin/time -f %M "$migrate" import-keysat --from "$tmp/small.db" --db "$tmp/out/keysat.db" 2>&1 >/dev/null | tail -1)

echo "import-keysat of $n licenses, $((2 * n)) machines: $(calc "$import_s") s ($(calc "$n / $import_s" 0) licenses/s), peak $big_kb KiB"
echo "floor: plain copy of the rows $(calc "$copy_s") s + $n signatures at $(calc "$sign_rate" 0)/s = $floor_s s"
echo "ratio import / floor: $(calc "$import_s / $floor_s")"
echo "peak memory at $n / at $small licenses: $big_kb / $small_kb KiB = $(calc "$big_kb / $small_kb")"
