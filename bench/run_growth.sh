#!/usr/bin/env bash
# keysat-serve as licenses grow, loopback only. One server, 300,000 licenses signed and recorded
# with keysat-issue bulk --db, each with its own fingerprint and two seats. wrk POSTs
# /v1/validate (bench/validate.lua), 64 connections:
#   warm: 10,000 keys validated before (5 s warm-up), then 10 s measured;
#   cold: after a 5 s pause, the other 290,000 keys, never seen: every request activates a
#         seat (a write on the request path) and misses every cache, 10 s measured;
# then the ratio cold/warm (target >= 0.5) and the cold p99 (target < 20 ms), and the server's
# RSS after each phase. Then the same warm load on two fresh servers over the same database
# copy: retention (maintenance pass every second) and /metrics scraped every second, against
# both off (validation_log_days = 0, no metrics_bind): the ratio on/off (target >= 0.95).
# Usage: bash bench/run_growth.sh [BUILD_DIR]   (default build-bench; Release build)
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_init run_growth.sh "${1:-}"
need_programs keysat-serve keysat-issue
need_tools wrk python3 curl
serve=$build/tools/keysat-serve
issue=$build/tools/keysat-issue

readonly k_licenses=${GROWTH_LICENSES:-300000} k_warm=10000 k_conns=64 k_seconds=10
rps() { awk '/Requests\/sec/ { print $2 }' "$1"; }
p99() { awk '$1 == "99%" { print $2 }' "$1"; }
admin=bench-admin-key-0123456789abcdef0123456789

# Starts keysat-serve on DATA_DIR with extra environment; sets $port and $serve_pid.
start() {
    local data=$1 log=$2
    shift 2
    port=$(free_port)
    env KEYSAT_VALIDATE_RATE=0 KEYSAT_ADMIN_API_KEY=$admin "$@" \
        "$serve" --bind "127.0.0.1:$port" --data-dir "$data" 2>"$log" &
    serve_pid=$!
    pids+=($serve_pid)
    for _ in $(seq 200); do grep -q listening "$log" 2>/dev/null && return; sleep 0.1; done
    echo "run_growth.sh: keysat-serve did not start:" >&2; cat "$log" >&2; exit 1
}
stop() { kill -TERM "$serve_pid"; wait "$serve_pid" || true; }

start "$tmp/data" "$tmp/serve.log"
product=$(curl -fsS -H "Authorization: Bearer $admin" -H 'Content-Type: application/json' \
    -d '{"slug":"bench","name":"Bench","price_sats":1000}' "http://127.0.0.1:$port/v1/admin/products" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
python3 - "$product" "$k_licenses" >"$tmp/in.csv" <<'PY'
import sys
print("product,email,days,seats,fingerprint")
for i in range(int(sys.argv[2])):
    print(f"{sys.argv[1]},user{i}@example.com,365,2,machine-{i:06d}")
PY
echo "== signing and recording $k_licenses licenses"
/usr/bin/time -f "   %e s, max RSS %M KiB" \
    "$issue" bulk -s "$tmp/data/signing.key" --db "$tmp/data/keysat.db" <"$tmp/in.csv" >"$tmp/ledger.jsonl"
python3 - "$tmp/ledger.jsonl" "$k_warm" "$tmp/warm.jsonl" "$tmp/cold.jsonl" <<'PY'
import json, sys
warm, cold = open(sys.argv[3], "w"), open(sys.argv[4], "w")
for i, line in enumerate(open(sys.argv[1])):
    body = json.dumps({"key": json.loads(line)["key"], "fingerprint": f"machine-{i:06d}"})
    print(body, file=warm if i < int(sys.argv[2]) else cold)
PY
# The server read nothing yet; restart so that it starts from the 300,000-license file.
stop
start "$tmp/data" "$tmp/serve.log"
idle=$(rss_mib "$serve_pid")
echo "== RSS idle with $k_licenses licenses: $idle MiB"

run_wrk() { # NAME BODIES SECONDS
    wrk -t2 -c"$k_conns" -d"$3s" --latency -s "$root/bench/validate.lua" \
        "http://127.0.0.1:$port" -- "$2" >"$tmp/$1.txt" 2>"$tmp/$1.err" || true
}
run_wrk warmup "$tmp/warm.jsonl" 5
run_wrk warm "$tmp/warm.jsonl" "$k_seconds"
warm_rss=$(rss_mib "$serve_pid")
echo "warm  ($k_warm keys known):       $(rps "$tmp/warm.txt") req/s, p99 $(p99 "$tmp/warm.txt"), RSS $warm_rss MiB"
# A pause, so that the cold phase is measured on its own: started the moment the warm phase
# ended, its p99 was 0.7-1.7 s (seven runs) against 91 ms after a 5 s pause, same database
# and load.
sleep 5
run_wrk cold "$tmp/cold.jsonl" "$k_seconds"
cold_rss=$(rss_mib "$serve_pid")
echo "cold  (first-time keys, seats): $(rps "$tmp/cold.txt") req/s, p99 $(p99 "$tmp/cold.txt"), RSS $cold_rss MiB"
grep -h "unexpected answer" "$tmp/warm.err" "$tmp/cold.err" | head -3 || true
python3 -c "print(f'ratio cold/warm (target >= 0.5): {float(\"$(rps "$tmp/cold.txt")\") / float(\"$(rps "$tmp/warm.txt")\"):.3f}')"
stop
python3 - "$tmp/data/keysat.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
print("active machines after both phases:",
      db.execute("SELECT count(*) FROM machines WHERE deactivated_at IS NULL").fetchone()[0])
PY

echo "== retention and metrics on versus off, same database, warm keys, ${k_seconds}s each"
measure() { # NAME ENV...
    local name=$1
    shift
    rm -rf "$tmp/$name" && cp -a "$tmp/data" "$tmp/$name" # the same keys and secret
    start "$tmp/$name" "$tmp/$name.log" "$@"
    local mport
    mport=$(grep -o 'metrics on http://127.0.0.1:[0-9]*' "$tmp/$name.log" | grep -o '[0-9]*$' || true)
    run_wrk "$name-warmup" "$tmp/warm.jsonl" 3
    local scraper=
    if [[ -n $mport ]]; then
        (while sleep 1; do curl -fsS "http://127.0.0.1:$mport/metrics" >/dev/null || true; done) &
        scraper=$!
    fi
    run_wrk "$name" "$tmp/warm.jsonl" "$k_seconds"
    [[ -n $scraper ]] && kill "$scraper" 2>/dev/null
    echo "$name: $(rps "$tmp/$name.txt") req/s, p99 $(p99 "$tmp/$name.txt")"
    stop
}
for round in 1 2; do
    measure "off$round" KEYSAT_VALIDATION_LOG_DAYS=0 KEYSAT_WEBHOOK_LOG_DAYS=0
    measure "on$round" KEYSAT_MAINTENANCE_INTERVAL=1 KEYSAT_METRICS_BIND=127.0.0.1:$(free_port)
done
python3 - "$tmp" <<'PY'
import sys, re
def rps(name):
    return float(re.search(r"Requests/sec:\s+([0-9.]+)", open(f"{sys.argv[1]}/{name}.txt").read()).group(1))
on = rps("on1") + rps("on2")
off = rps("off1") + rps("off2")
print(f"ratio on/off over two rounds each (target >= 0.95): {on / off:.3f}")
PY
