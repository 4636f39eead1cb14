#!/usr/bin/env bash
# The renewal worker over 100,000 subscriptions of which 1,000 are due: the passes that open their
# 1,000 renewal invoices (checkout answered in-process), and a pass when nothing is due any more,
# against one plain indexed SELECT of the due rows from the same file, in the same run; time with
# hyperfine, peak memory with /usr/bin/time.
# Usage: bash bench/run_renewals.sh [BUILD_DIR]   (default build-bench; Release build)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:-build-bench}
[[ -d $build ]] || build=$root/$build
build=$(cd "$build" && pwd)
bench=$build/bench/bench_renewals
[[ -x $bench ]] || { echo "run_renewals.sh: $bench is missing; build $build first" >&2; exit 2; }
for tool in hyperfine python3 /usr/bin/time; do
    command -v "$tool" >/dev/null || { echo "run_renewals.sh: $tool is not installed" >&2; exit 2; }
done

readonly k_subs=100000 k_due=1000
tmp=$(mktemp -d /tmp/keysat-bench-renewals.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
mean_of() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["results"][int(sys.argv[2])]["mean"])' "$1" "$2"; }
calc() { python3 -c "print(f'{$1:.${2:-3}f}')"; }

"$bench" make "$k_subs" "$k_due" "$tmp/base.db"
cp "$tmp/base.db" "$tmp/done.db"
"$bench" pass "$tmp/done.db" # every due plan invoiced: what each later pass finds
echo "== $k_subs subscriptions, $k_due due"
hyperfine --style basic --runs 10 --warmup 1 --export-json "$tmp/r.json" \
    --prepare "cp $tmp/base.db $tmp/run.db; rm -f $tmp/run.db-wal $tmp/run.db-shm" \
    -n worker-passes-1000-due "$bench pass $tmp/run.db" \
    -n plain-indexed-select "$bench select $tmp/base.db" \
    -n worker-pass-nothing-due "$bench pass $tmp/done.db"
pass_s=$(mean_of "$tmp/r.json" 0)
select_s=$(mean_of "$tmp/r.json" 1)
idle_s=$(mean_of "$tmp/r.json" 2)
cp "$tmp/base.db" "$tmp/run.db"
pass_kb=$(/usr/bin/time -f %M "$bench" pass "$tmp/run.db" 2>&1 >/dev/null | tail -1)
select_kb=$(/usr/bin/time -f %M "$bench" select "$tmp/base.db" 2>&1 >/dev/null | tail -1)
idle_kb=$(/usr/bin/time -f %M "$bench" pass "$tmp/done.db" 2>&1 >/dev/null | tail -1)
echo "passes opening $k_due invoices: $(calc "$pass_s") s ($(calc "$pass_s * 1000000 / $k_due" 0) us per due plan), peak $pass_kb KiB"
echo "plain indexed SELECT of the due rows: $(calc "$select_s") s, peak $select_kb KiB"
echo "a pass with nothing due: $(calc "$idle_s") s, peak $idle_kb KiB"
echo "ratio passes / SELECT: $(calc "$pass_s / $select_s" 1); idle pass / SELECT: $(calc "$idle_s / $select_s" 2)"
echo "memory passes / SELECT: $(calc "$pass_kb / $select_kb" 2)"
