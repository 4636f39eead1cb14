#!/usr/bin/env bash
# Database benchmarks: keysat-issue bulk --db against a plain batched SQLite insert of rows of the
# same size into the same table (same run), and keysat-migrate up over 1,000,000 licenses.
# Usage: bash bench/run_db.sh [BUILD_DIR]   (default build-bench; Release build)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:-build-bench}
[[ -d $build ]] || build=$root/$build
build=$(cd "$build" && pwd)
issue=$build/tools/keysat-issue
migrate=$build/tools/keysat-migrate
bench_db=$build/bench/bench_db
for exe in "$issue" "$migrate" "$bench_db"; do
    [[ -x $exe ]] || { echo "run_db.sh: $exe is missing; build $build first" >&2; exit 2; }
done
for tool in hyperfine python3 /usr/bin/time; do
    command -v "$tool" >/dev/null || { echo "run_db.sh: $tool is not installed" >&2; exit 2; }
done

readonly k_rows=100000 k_big=1000000
tmp=$(mktemp -d /tmp/keysat-bench-db.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
mean_of() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["results"][int(sys.argv[2])]["mean"])' "$1" "$2"; }
calc() { python3 -c "print(f'{$1:.${2:-3}f}')"; }

echo "== bulk --db: $k_rows licenses signed and recorded vs plain batched insert"
python3 "$root/bench/gen_bulk_input.py" "$k_rows" >"$tmp/in.csv"
"$issue" keygen --unencrypted -o "$tmp/k" >/dev/null 2>&1
hyperfine --style basic --runs 5 --warmup 1 --export-json "$tmp/db.json" \
    --prepare "rm -f $tmp/k.db* $tmp/plain.db* && $migrate up --db $tmp/k.db >/dev/null 2>&1" \
    -n keysat-issue-bulk-db "$issue bulk -s $tmp/k.key --db $tmp/k.db --now 1700000000 < $tmp/in.csv > /dev/null" \
    -n plain-sqlite-insert "$bench_db plain $k_rows $tmp/plain.db" \
    -n plain-sqlite-insert-sequential "$bench_db plain-seq $k_rows $tmp/plain.db"
bulk_s=$(mean_of "$tmp/db.json" 0)
plain_s=$(mean_of "$tmp/db.json" 1)
echo "bulk --db rows/s: $(calc "$k_rows / $bulk_s" 1)"
echo "plain insert rows/s (whole process, schema creation included): $(calc "$k_rows / $plain_s" 1)"
echo "ratio (target >= 0.5): $(calc "$plain_s / $bulk_s")"
seq_s=$(mean_of "$tmp/db.json" 2)
echo "plain insert with sequential keys rows/s (for scale): $(calc "$k_rows / $seq_s" 1)"
echo "ratio against the sequential-key insert: $(calc "$seq_s / $bulk_s")"

echo
echo "== keysat-migrate up: $k_big licenses from version 1 to the latest"
"$bench_db" make-v1 "$k_big" "$tmp/big.db"
cp "$tmp/big.db" "$tmp/big-copy.db"
/usr/bin/time -f "with backup: %e s, max RSS %M KiB" "$migrate" up --db "$tmp/big.db" 2>&1 | grep -v '^backup:\|migrated'
/usr/bin/time -f "--no-backup: %e s, max RSS %M KiB" "$migrate" up --no-backup --db "$tmp/big-copy.db" 2>&1 | grep -v migrated
ls -l "$tmp/big.db" | awk '{ printf "database size: %.0f MB\n", $5 / 1e6 }'
