#!/usr/bin/env bash
# keysat-serve under load: wrk POSTs /v1/validate cycling through 10,000 distinct valid keys
# with fingerprints (a database read and an Ed25519 verify each), 64 connections, 10 s, against
# nginx answering a fixed 200 on the same machine in the same run.
# Usage: bash bench/run_serve.sh [BUILD_DIR]   (default build-bench; Release build)
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_init run_serve.sh "${1:-}"
need_programs keysat-serve keysat-issue
need_tools wrk nginx python3
serve=$build/tools/keysat-serve
issue=$build/tools/keysat-issue

readonly k_keys=10000 k_conns=64 k_seconds=10

port=$(free_port)
admin=bench-admin-key-0123456789abcdef0123456789
KEYSAT_CACHE_TTL_MS=${KEYSAT_CACHE_TTL_MS:-10000} KEYSAT_VALIDATE_RATE=0 KEYSAT_ADMIN_API_KEY=$admin \
    "$serve" --bind "127.0.0.1:$port" --data-dir "$tmp/data" 2>"$tmp/serve.log" &
serve_pid=$!
pids+=($serve_pid)
for _ in $(seq 100); do grep -q listening "$tmp/serve.log" 2>/dev/null && break; sleep 0.1; done

python3 - "$port" "$admin" >"$tmp/product_id" <<'PY'
import json, sys, urllib.request
req = urllib.request.Request(f"http://127.0.0.1:{sys.argv[1]}/v1/admin/products",
    data=json.dumps({"slug": "bench", "name": "Bench", "price_sats": 1000}).encode(),
    headers={"Authorization": "Bearer " + sys.argv[2], "Content-Type": "application/json"})
print(json.load(urllib.request.urlopen(req))["id"])
PY
product=$(cat "$tmp/product_id")
python3 - "$product" "$k_keys" >"$tmp/in.csv" <<'PY'
import sys
print("product,email,days,seats,fingerprint")
for i in range(int(sys.argv[2])):
    print(f"{sys.argv[1]},user{i}@example.com,365,2,machine-{i:05d}")
PY
"$issue" bulk -s "$tmp/data/signing.key" --db "$tmp/data/keysat.db" <"$tmp/in.csv" >"$tmp/ledger.jsonl"
python3 - "$tmp/ledger.jsonl" >"$tmp/bodies.jsonl" <<'PY'
import json, sys
for i, line in enumerate(open(sys.argv[1])):
    print(json.dumps({"key": json.loads(line)["key"], "fingerprint": f"machine-{i:05d}"}))
PY

cat >"$tmp/nginx.conf" <<NGINX
worker_processes 2;
pid $tmp/nginx.pid;
error_log $tmp/nginx-error.log;
events { worker_connections 1024; }
http {
    access_log off;
    server { listen 127.0.0.1:$(free_port | tee "$tmp/nginx_port"); location / { return 200 "ok"; } }
}
NGINX
nginx -c "$tmp/nginx.conf" -p "$tmp" -g 'daemon off;' &
pids+=($!)
sleep 0.5
nginx_port=$(cat "$tmp/nginx_port")

echo "== warm-up: every key validates once (activates its machine)"
wrk -t2 -c"$k_conns" -d5s -s "$root/bench/validate.lua" "http://127.0.0.1:$port" -- "$tmp/bodies.jsonl" >"$tmp/warm.txt"
echo "== keysat-serve POST /v1/validate, $k_keys keys, $k_conns connections, ${k_seconds}s"
wrk -t2 -c"$k_conns" -d"${k_seconds}s" --latency -s "$root/bench/validate.lua" \
    "http://127.0.0.1:$port" -- "$tmp/bodies.jsonl" | tee "$tmp/keysat.txt"
echo "== keysat-serve GET /v1/pubkey (a constant answer: the HTTP layer's ceiling), ${k_seconds}s"
wrk -t2 -c"$k_conns" -d"${k_seconds}s" --latency "http://127.0.0.1:$port/v1/pubkey" | tee "$tmp/pubkey.txt"
echo "== nginx fixed 200, $k_conns connections, ${k_seconds}s"
wrk -t2 -c"$k_conns" -d"${k_seconds}s" --latency "http://127.0.0.1:$nginx_port/" | tee "$tmp/nginx.txt"

rps() { awk '/Requests\/sec/ { print $2 }' "$1"; }
p99() { awk '$1 == "99%" { print $2 }' "$1"; }
echo "== summary"
echo "keysat-serve validate: $(rps "$tmp/keysat.txt") req/s, p99 $(p99 "$tmp/keysat.txt")"
echo "keysat-serve pubkey:   $(rps "$tmp/pubkey.txt") req/s, p99 $(p99 "$tmp/pubkey.txt")"
echo "nginx fixed 200:       $(rps "$tmp/nginx.txt") req/s, p99 $(p99 "$tmp/nginx.txt")"
python3 -c "print(f'ratio (target >= 0.2): {float(\"$(rps "$tmp/keysat.txt")\") / float(\"$(rps "$tmp/nginx.txt")\"):.3f}')"
grep -c " 500 " "$tmp/serve.log" | sed 's/^/HTTP 500 answers in the request log: /' || true
# Every validation is logged by a background writer: after SIGTERM (which flushes it) the table
# must hold one row per validate request wrk completed, or the writer fell behind and dropped.
if [[ -z "${KEEP:-}" ]]; then
    kill -TERM "$serve_pid"
    wait "$serve_pid" || true
    answered=$(awk '/requests in/ { n += $1 } END { print n }' "$tmp/warm.txt" "$tmp/keysat.txt")
    python3 - "$tmp/data/keysat.db" "$answered" <<'PY'
import sqlite3, sys
rows = sqlite3.connect(sys.argv[1]).execute("SELECT count(*) FROM validation_log").fetchone()[0]
print(f"validation log: {rows} rows for {sys.argv[2]} validate answers counted by wrk "
      "(wrk does not count requests still in flight when it stops)")
PY
    grep "fell behind" "$tmp/serve.log" || echo "validation log: no rows dropped"
fi
