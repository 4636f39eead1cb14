#!/usr/bin/env bash
# keysat-serve for a long while under mixed traffic, loopback only: does memory level off, do
# descriptors stay flat, does the WAL stay bounded? One server with default settings (a releases
# directory added), 10,000 licenses of two seats; wrk (bench/mixed.lua, 2 threads, 16
# connections, each pausing 10 ms between requests: about 1,500 requests/s, so the database
# grows as it would over weeks, not hours) cycles through a mix of
#   70 % POST /v1/validate (known keys and machines),
#   10 % POST /v1/machines/activate and /deactivate of a spare machine,
#   10 % GET of a 64 KiB build through the release gate (a signed download token),
#    8 % GET /v1/admin/licenses?limit=20, 2 % POST /v1/admin/licenses (the admin key).
# Every 10 s it samples the server's RSS, open descriptors, database and WAL sizes into
# soak.csv; after the load it waits SOAK_IDLE seconds (default 150: two maintenance passes) and
# samples again. Prints a summary: RSS idle, after warm-up, peak and at the end, the slope of
# the last half, descriptors, WAL after idle.
# Usage: bash bench/run_soak.sh [BUILD_DIR]   (default build-bench)
#        SOAK_MINUTES (default 30), SOAK_IDLE (default 150), SOAK_OUT (keep soak.csv there)
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_init run_soak.sh "${1:-}"
need_programs keysat-serve keysat-issue
need_tools wrk python3 curl
serve=$build/tools/keysat-serve
issue=$build/tools/keysat-issue

readonly minutes=${SOAK_MINUTES:-30} idle_s=${SOAK_IDLE:-150} k_keys=10000
admin=bench-admin-key-0123456789abcdef0123456789

mkdir -p "$tmp/releases/bench/1.0.0"
head -c 65536 /dev/urandom >"$tmp/releases/bench/1.0.0/linux-x86_64"
port=$(free_port)
KEYSAT_VALIDATE_RATE=0 KEYSAT_ADMIN_API_KEY=$admin KEYSAT_RELEASES_DIR=$tmp/releases \
    "$serve" --bind "127.0.0.1:$port" --data-dir "$tmp/data" 2>"$tmp/serve.log" &
serve_pid=$!
pids+=($serve_pid)
for _ in $(seq 100); do grep -q listening "$tmp/serve.log" 2>/dev/null && break; sleep 0.1; done
base=http://127.0.0.1:$port
product=$(curl -fsS -H "Authorization: Bearer $admin" -H 'Content-Type: application/json' \
    -d '{"slug":"bench","name":"Bench","price_sats":1000}' "$base/v1/admin/products" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
python3 - "$product" "$k_keys" >"$tmp/in.csv" <<'PY'
import sys
print("product,email,days,seats,fingerprint")
for i in range(int(sys.argv[2])):
    print(f"{sys.argv[1]},user{i}@example.com,365,2,machine-{i:05d}")
PY
"$issue" bulk -s "$tmp/data/signing.key" --db "$tmp/data/keysat.db" <"$tmp/in.csv" >"$tmp/ledger.jsonl"
token=$("$issue" token -s "$tmp/data/signing.key" --product bench --channel-expiry 2099-12-31)
python3 - "$tmp/ledger.jsonl" "$admin" "$token" >"$tmp/requests.tsv" <<'PY'
import json, sys
keys = [json.loads(line)["key"] for line in open(sys.argv[1])]
admin, token = sys.argv[2], sys.argv[3]
def line(method, path, bearer="-", body=None):
    print(f"{method}\t{path}\t{bearer}\t{json.dumps(body) if body is not None else '-'}")
for i, key in enumerate(keys):
    slot = i % 100
    if slot < 70:
        line("POST", "/v1/validate", body={"key": key, "fingerprint": f"machine-{i:05d}"})
    elif slot < 75:
        line("POST", "/v1/machines/activate", body={"key": key, "fingerprint": f"spare-{i:05d}"})
    elif slot < 80:
        line("POST", "/v1/machines/deactivate", body={"key": keys[i - 5], "fingerprint": f"spare-{i - 5:05d}"})
    elif slot < 90:
        line("GET", "/releases/bench/1.0.0/linux-x86_64", token)
    elif slot < 98:
        line("GET", "/v1/admin/licenses?limit=20", admin)
    else:
        line("POST", "/v1/admin/licenses", admin, {"product_slug": "bench"})
PY
cat >"$tmp/paced.lua" <<EOF
dofile("$root/bench/mixed.lua")
function delay() return 10 end
EOF

sample() { # PHASE
    local wal=0 db
    db=$(stat -c %s "$tmp/data/keysat.db")
    [[ -f $tmp/data/keysat.db-wal ]] && wal=$(stat -c %s "$tmp/data/keysat.db-wal")
    echo "$(($(date +%s) - t0)),$1,$(awk '/VmRSS/ { print $2 }' "/proc/$serve_pid/status"),$(ls "/proc/$serve_pid/fd" | wc -l),$db,$wal" >>"$tmp/soak.csv"
}
echo "seconds,phase,rss_kib,fds,db_bytes,wal_bytes" >"$tmp/soak.csv"
t0=$(date +%s)
sample idle
echo "== ${minutes} min of mixed traffic (samples every 10 s)"
wrk -t2 -c16 -d"$((minutes * 60))s" -s "$tmp/paced.lua" "$base" -- "$tmp/requests.tsv" >"$tmp/wrk.txt" 2>"$tmp/wrk.err" &
wrk_pid=$!
pids+=($wrk_pid)
while kill -0 "$wrk_pid" 2>/dev/null; do
    sleep 10
    sample load
done
wait "$wrk_pid" || true
echo "== idle for ${idle_s} s"
end=$(($(date +%s) + idle_s))
while (( $(date +%s) < end )); do sleep 10; sample idle-after; done
cat "$tmp/wrk.txt"
head -3 "$tmp/wrk.err"
[[ -n "${SOAK_OUT:-}" ]] && cp "$tmp/soak.csv" "$SOAK_OUT"
python3 - "$tmp/soak.csv" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
mib = lambda r: int(r["rss_kib"]) / 1024
load = [r for r in rows if r["phase"] == "load"]
after = [r for r in rows if r["phase"] == "idle-after"]
idle = mib(rows[0])
warm = [r for r in load if int(r["seconds"]) >= 120] or load
half = warm[len(warm) // 2:]
xs = [int(r["seconds"]) / 60 for r in half]
ys = [mib(r) for r in half]
mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / max(1e-9, sum((x - mx) ** 2 for x in xs))
fds = [int(r["fds"]) for r in load + after]
print(f"RSS: idle {idle:.1f} MiB; after 2 min {mib(warm[0]):.1f}; peak {max(mib(r) for r in rows):.1f};"
      f" end of load {mib(load[-1]):.1f}; after idle {mib(after[-1]):.1f} MiB")
print(f"RSS above idle at peak: {max(mib(r) for r in rows) - idle:.1f} MiB (target < 64 MiB)")
print(f"RSS slope over the last half of the load: {slope:+.3f} MiB/min")
print(f"open descriptors: idle {rows[0]['fds']}, under load {min(fds)}..{max(fds)}")
print(f"database {int(load[-1]['db_bytes']) / 2**20:.1f} MiB at the end;"
      f" WAL peak {max(int(r['wal_bytes']) for r in rows) / 2**20:.1f} MiB,"
      f" after idle {int(after[-1]['wal_bytes']) / 2**20:.1f} MiB (journal_size_limit 64 MiB)")
PY
