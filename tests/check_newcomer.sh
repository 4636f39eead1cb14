#!/usr/bin/env bash
# The newcomer's path, as the README gives it: clone the repository into an empty directory with
# nothing beside it, run the README's "run" command there, wait for /healthz, take the admin key
# the first start prints once, create a product with it, and stop the server with SIGTERM.
# It clones the committed HEAD (uncommitted changes are not part of a clone).
# Usage: check_newcomer.sh SOURCE_DIR      exit 77 (skipped) when SOURCE_DIR is not a git checkout
set -euo pipefail
src=$(cd "$1" && pwd)
git -C "$src" rev-parse --verify -q HEAD >/dev/null || { echo "not a git checkout: skipped"; exit 77; }

tmp=$(mktemp -d)
server=""
cleanup() {
  [ -n "$server" ] && kill -KILL -- "-$server" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; [ -f "$tmp/serve.log" ] && tail -n 40 "$tmp/serve.log" >&2; exit 1; }

mkdir "$tmp/empty"
git clone -q --no-hardlinks "$src" "$tmp/empty/keysat"
[ "$(ls -A "$tmp/empty")" = "keysat" ] || fail "the clone has company"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

# The README's run command, in the clone, in its own process group so that the whole tree stops.
cd "$tmp/empty/keysat"
command=$(grep -m1 -E '^    (sudo )?bash scripts/run\.sh' README.md | sed 's/^ *//')
[ "$command" = "bash scripts/run.sh" ] || fail "the README's run command is '$command'"
# ccache rewrites paths below the clone (run.sh sets it), sharing the objects of a build
# made by scripts/test.sh in the original checkout.
unset CCACHE_BASEDIR
setsid bash scripts/run.sh --bind "127.0.0.1:$port" >"$tmp/serve.log" 2>&1 &
server=$!

# The build may take minutes on a cold cache; the server then answers within a second.
for _ in $(seq 1 1200); do
  curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
  kill -0 "$server" 2>/dev/null || fail "run.sh ended before the server answered"
  sleep 1
done
curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null || fail "no /healthz within 20 minutes"

key=$(grep -A1 'generated the admin API key' "$tmp/serve.log" | grep -oE 'ksm_[A-Za-z0-9_-]+' | head -n1)
[ -n "$key" ] || fail "the first start printed no admin key"
[ -d var ] || fail "no ./var data directory in the clone"

status=$(curl -sS -o "$tmp/product.json" -w '%{http_code}' -H "Authorization: Bearer $key" \
  -d '{"slug":"app","name":"App","price_sats":50000}' "http://127.0.0.1:$port/v1/admin/products")
[ "$status" = 201 ] || [ "$status" = 200 ] || fail "creating a product answered $status: $(cat "$tmp/product.json")"
grep -q '"slug":"app"' "$tmp/product.json" || fail "the product answer has no slug: $(cat "$tmp/product.json")"

# SIGTERM to keysat-serve (run.sh exec'd it, so it is the process we started) stops it cleanly.
kill -TERM "$server"
for _ in $(seq 1 100); do kill -0 "$server" 2>/dev/null || break; sleep 0.1; done
kill -0 "$server" 2>/dev/null && fail "keysat-serve did not stop within 10 s of SIGTERM"
wait "$server" && rc=0 || rc=$?
server=""
[ "$rc" -eq 0 ] || fail "keysat-serve exited $rc after SIGTERM"
grep -q 'keysat-serve: stopping' "$tmp/serve.log" || fail "no clean stop in the log"
echo "newcomer path: clone, run, healthz, admin key, product created, stopped by SIGTERM"
