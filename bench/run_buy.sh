#!/usr/bin/env bash
# The buy page under load: wrk GETs /buy/<slug> for a product with three tiers (one highlighted,
# a featured code struck through on each) at 64 connections for 10 s, against GET /v1/pubkey (a
# constant answer: the HTTP layer's ceiling) on the same server in the same run. Two rounds,
# alternating. The target: buy page requests/s at least 0.5 of pubkey's, p99 under 10 ms.
# Usage: bash bench/run_buy.sh [BUILD_DIR]   (default build-bench; Release build)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:-build-bench}
[[ -d $build ]] || build=$root/$build
build=$(cd "$build" && pwd)
serve=$build/tools/keysat-serve
[[ -x $serve ]] || { echo "run_buy.sh: $serve is missing; build $build first" >&2; exit 2; }
for tool in wrk python3 curl; do
    command -v "$tool" >/dev/null || { echo "run_buy.sh: $tool is not installed" >&2; exit 2; }
done

readonly k_conns=64 k_seconds=10 k_rounds=2
tmp=$(mktemp -d /tmp/keysat-bench-buy.XXXXXX)
serve_pid=
cleanup() { [[ -n $serve_pid ]] && kill "$serve_pid" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
admin=bench-admin-key-0123456789abcdef0123456789
KEYSAT_ADMIN_API_KEY=$admin "$serve" --bind "127.0.0.1:$port" --data-dir "$tmp/data" 2>"$tmp/serve.log" &
serve_pid=$!
for _ in $(seq 100); do grep -q listening "$tmp/serve.log" 2>/dev/null && break; sleep 0.1; done

base=http://127.0.0.1:$port
post() {
    curl -sf -o /dev/null -H "Authorization: Bearer $admin" -H 'Content-Type: application/json' \
        -d "$2" "$base$1" || { echo "run_buy.sh: POST $1 failed" >&2; exit 1; }
}
post /v1/admin/products '{"slug":"bench","name":"Bench App","description":"A product with three tiers.","price_sats":50000}'
post /v1/admin/policies '{"product_slug":"bench","slug":"basic","name":"Basic","price_sats_override":21000,"max_machines":1,"tier_rank":1,"entitlements":["sync"],"metadata":{"marketing_bullets":["One device","E-mail support"]}}'
post /v1/admin/policies '{"product_slug":"bench","slug":"pro","name":"Pro","price_sats_override":80000,"max_machines":3,"tier_rank":2,"entitlements":["sync","export"],"metadata":{"highlight":true,"marketing_bullets":["Three devices","Priority support","Export"]}}'
post /v1/admin/policies '{"product_slug":"bench","slug":"team","name":"Team","price_sats_override":200000,"max_machines":0,"tier_rank":3,"recurring_period":"year","entitlements":["sync","export","admin"],"metadata":{"marketing_bullets":["Unlimited devices"]}}'
post /v1/admin/discount-codes '{"code":"LAUNCH","kind":"percent","amount":2000,"featured":true,"description":"Launch week"}'
bytes=$(curl -sf "$base/buy/bench" | wc -c)
grep -c 'class="tier' <(curl -sf "$base/buy/bench") >/dev/null || { echo "run_buy.sh: no tiers on the page" >&2; exit 1; }
echo "== /buy/bench is $bytes bytes"

summary() { # file -> "requests/s p99"
    python3 - "$1" <<'PY'
import re, sys
t = open(sys.argv[1]).read()
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", t).group(1))
m = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", t)
p99 = float(m.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[m.group(2)]
bad = re.search(r"Non-2xx or 3xx responses: (\d+)", t)
print(f"{rps:.0f} {p99:.2f} {bad.group(1) if bad else 0}")
PY
}
for round in $(seq $k_rounds); do
    for path in /buy/bench /v1/pubkey; do
        name=$(echo "$path" | tr -c 'a-z0-9' _)
        wrk -t2 -c"$k_conns" -d"${k_seconds}s" --latency "$base$path" >"$tmp/$name.$round.txt"
        read -r rps p99 bad < <(summary "$tmp/$name.$round.txt")
        echo "round $round  GET $path: $rps requests/s, p99 $p99 ms, non-2xx $bad"
        echo "$round $path $rps $p99 $bad" >>"$tmp/results"
    done
done
python3 - "$tmp/results" <<'PY'
import sys
rows = [l.split() for l in open(sys.argv[1])]
for r in sorted({int(x[0]) for x in rows}):
    buy = next(x for x in rows if int(x[0]) == r and x[1] == "/buy/bench")
    pub = next(x for x in rows if int(x[0]) == r and x[1] == "/v1/pubkey")
    ratio = float(buy[2]) / float(pub[2])
    ok = ratio >= 0.5 and float(buy[3]) < 10 and buy[4] == "0"
    print(f"round {r}: buy/pubkey = {ratio:.2f}, buy p99 {buy[3]} ms -> {'met' if ok else 'NOT met'}")
PY
