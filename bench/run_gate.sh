#!/usr/bin/env bash
# The release gate under load, against nginx in the same run, loopback only:
#  1. one 1 GiB download with curl from keysat-serve's gated route and from nginx serving the
#     same file with sendfile (five alternating pairs; the file is in the page cache);
#  2. keysat-serve's peak RSS (VmHWM) during 16 concurrent 1 GiB downloads, above its idle RSS;
#  3. token checks per second on the gated route with a 0-byte file (wrk, 64 connections, 10 s)
#     against POST /v1/validate cycling through 1,000 valid keys (same wrk settings).
#  (1. runs five keysat-serve/nginx pairs back to back and reports the best of each side and the
#  median of the five pairwise ratios, which a busy neighbour on the machine disturbs least.)
# Usage: bash bench/run_gate.sh [BUILD_DIR]   (default build-bench: configured as a Release
# build when new; keysat-serve and keysat-issue are brought up to date with -j2 first)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:-build-bench}
[[ $build = /* ]] || build=$root/$build
[[ -f $build/CMakeCache.txt ]] ||
    cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DKEYSAT_TESTS=OFF >/dev/null
cmake --build "$build" -j2 --target keysat-serve keysat-issue >/dev/null
serve=$build/tools/keysat-serve
issue=$build/tools/keysat-issue
for tool in curl wrk nginx python3; do
    command -v "$tool" >/dev/null || { echo "run_gate.sh: $tool is not installed" >&2; exit 2; }
done

readonly k_conns=64 k_seconds=10 k_parallel=16 k_keys=1000
readonly platform=x86_64-unknown-linux-gnu
tmp=$(mktemp -d /tmp/keysat-bench-gate.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

echo "== setup: a 1 GiB build and a 0-byte build"
mkdir -p "$tmp/releases/bench/1.0.0"
head -c 1G /dev/urandom >"$tmp/releases/bench/1.0.0/$platform"
: >"$tmp/releases/bench/1.0.0/empty-target"
cat "$tmp/releases/bench/1.0.0/$platform" >/dev/null # page cache
chmod 755 "$tmp" && chmod -R a+rX "$tmp/releases" # nginx's workers may run as another user

port=$(free_port)
admin=bench-admin-key-0123456789abcdef0123456789
KEYSAT_VALIDATE_RATE=0 KEYSAT_ADMIN_API_KEY=$admin KEYSAT_RELEASES_DIR=$tmp/releases \
    "$serve" --bind "127.0.0.1:$port" --data-dir "$tmp/data" 2>"$tmp/serve.log" &
serve_pid=$!
pids+=("$serve_pid")
for _ in $(seq 100); do grep -q listening "$tmp/serve.log" 2>/dev/null && break; sleep 0.1; done
token=$("$issue" token -s "$tmp/data/signing.key" --product bench --channel-expiry 2099-12-31)

nginx_port=$(free_port)
cat >"$tmp/nginx.conf" <<NGINX
worker_processes 2;
pid $tmp/nginx.pid;
error_log $tmp/nginx-error.log;
events { worker_connections 1024; }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    server { listen 127.0.0.1:$nginx_port; root $tmp/releases; }
}
NGINX
nginx -c "$tmp/nginx.conf" -p "$tmp" -g 'daemon off;' &
pids+=($!)
for _ in $(seq 50); do curl -fs -o /dev/null "http://127.0.0.1:$nginx_port/bench/1.0.0/empty-target" && break; sleep 0.1; done

gate_url="http://127.0.0.1:$port/releases/bench/1.0.0/$platform"
nginx_url="http://127.0.0.1:$nginx_port/bench/1.0.0/$platform"
speed() { curl -fsS -o /dev/null -w '%{speed_download}\n' "$@"; }

echo "== 1. one 1 GiB download, 5 alternating pairs"
: >"$tmp/pairs"
for i in 1 2 3 4 5; do
    g=$(speed -H "Authorization: Bearer $token" "$gate_url")
    n=$(speed "$nginx_url")
    echo "$g $n" >>"$tmp/pairs"
    echo "  pair $i: keysat-serve $(python3 -c "print(f'{$g/1e9:.2f}')") GB/s, nginx $(python3 -c "print(f'{$n/1e9:.2f}')") GB/s"
done

echo "== 2. peak RSS during $k_parallel concurrent 1 GiB downloads"
status_kib() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$serve_pid/status"; }
idle_rss=$(status_kib VmRSS)
idle_hwm=$(status_kib VmHWM)
start=$(date +%s.%N)
dl=()
for i in $(seq "$k_parallel"); do
    curl -fsS -o /dev/null -H "Authorization: Bearer $token" "$gate_url" &
    dl+=($!)
done
alive() { for p in "${dl[@]}"; do kill -0 "$p" 2>/dev/null && return 0; done; return 1; }
sampled=0
while alive; do
    r=$(status_kib VmRSS); ((r > sampled)) && sampled=$r
    sleep 0.05
done
for p in "${dl[@]}"; do wait "$p"; done
elapsed=$(python3 -c "import time; print(time.time() - $start)")
peak_hwm=$(status_kib VmHWM)

echo "== 3. gated route (0-byte build) and validate, $k_conns connections, ${k_seconds}s"
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
print("product,email,days,seats")
for i in range(int(sys.argv[2])):
    print(f"{sys.argv[1]},user{i}@example.com,365,2")
PY
"$issue" bulk -s "$tmp/data/signing.key" --db "$tmp/data/keysat.db" <"$tmp/in.csv" >"$tmp/ledger.jsonl"
python3 - "$tmp/ledger.jsonl" >"$tmp/bodies.jsonl" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    print(json.dumps({"key": json.loads(line)["key"]}))
PY
wrk -t2 -c"$k_conns" -d3s -H "Authorization: Bearer $token" "http://127.0.0.1:$port/releases/bench/1.0.0/empty-target" >/dev/null
wrk -t2 -c"$k_conns" -d3s -s "$root/bench/validate.lua" "http://127.0.0.1:$port" -- "$tmp/bodies.jsonl" >/dev/null
wrk -t2 -c"$k_conns" -d"${k_seconds}s" --latency -H "Authorization: Bearer $token" \
    "http://127.0.0.1:$port/releases/bench/1.0.0/empty-target" | tee "$tmp/gate.txt"
wrk -t2 -c"$k_conns" -d"${k_seconds}s" --latency -s "$root/bench/validate.lua" \
    "http://127.0.0.1:$port" -- "$tmp/bodies.jsonl" | tee "$tmp/validate.txt"

rps() { awk '/Requests\/sec/ { print $2 }' "$1"; }
p99() { awk '$1 == "99%" { print $2 }' "$1"; }
non2xx() { awk '/Non-2xx/ { n = $5 } END { print n + 0 }' "$1"; }
echo "== summary"
python3 - "$tmp/pairs" <<'PY'
import statistics, sys
pairs = [tuple(map(float, l.split())) for l in open(sys.argv[1])]
g, n = max(p[0] for p in pairs), max(p[1] for p in pairs)
ratios = sorted(p[0] / p[1] for p in pairs)
print(f"1 GiB download: best keysat-serve {g/1e9:.2f} GB/s, best nginx sendfile {n/1e9:.2f} GB/s, "
      f"ratio of bests {g/n:.2f}; pairwise ratios {' '.join(f'{r:.2f}' for r in ratios)}, "
      f"median {statistics.median(ratios):.2f} (target >= 1.0)")
PY
echo "RSS: idle ${idle_rss} KiB (VmHWM ${idle_hwm} KiB); during $k_parallel x 1 GiB: sampled peak VmRSS ${sampled} KiB, VmHWM ${peak_hwm} KiB; above idle: $(( (peak_hwm - idle_rss) / 1024 )) MiB (target < 64 MiB); $(python3 -c "print(f'{$k_parallel * 1.073741824 / $elapsed:.2f}')") GB/s aggregate"
echo "gated route, 0-byte build: $(rps "$tmp/gate.txt") req/s, p99 $(p99 "$tmp/gate.txt"), non-2xx: $(non2xx "$tmp/gate.txt")"
echo "validate:                  $(rps "$tmp/validate.txt") req/s, p99 $(p99 "$tmp/validate.txt")"
python3 -c "print(f'ratio gated/validate: {float(\"$(rps "$tmp/gate.txt")\") / float(\"$(rps "$tmp/validate.txt")\"):.2f}')"
echo "HTTP 500 answers in the request log: $(grep -c ' 500 ' "$tmp/serve.log" || true)"
