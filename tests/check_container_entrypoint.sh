#!/usr/bin/env bash
# What the Dockerfile builds and runs, on the host: dist/stage-image.sh stages the tools of this
# build with the list of runtime packages, and dist/docker-entrypoint.sh runs them on a temporary
# directory in place of /data:
#   1. first start: the admin key, the database and the signing key are made; as root, the data
#      directory is given to an unprivileged user and the server runs as that user; SIGTERM stops
#      it with status 0;
#   2. a restart keeps the signing key and the admin key, and the licenses issued still validate;
#   3. `docker-entrypoint.sh backup` (the StartOS backup hook) runs while 4 clients issue
#      licenses; the data directory is copied without the live database, as the package's backup
#      does, started again (the copy becomes the database), `keysat-migrate verify` passes and
#      every license issued before the backup validates.
# Usage: check_container_entrypoint.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
src=$(cd "$2" && pwd)
tmp=$(mktemp -d)
chmod 755 "$tmp"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; for f in "$tmp"/*.log; do [ -f "$f" ] && { echo "--- $f" >&2; tail -n 20 "$f" >&2; }; done; exit 1; }

# 0. Stage as the Dockerfile does.
stage=$tmp/stage
sh "$src/dist/stage-image.sh" "$build" "$stage" 2>"$tmp/stage.log" || fail "stage-image.sh failed"
for p in libsqlite3-0 libsodium23; do
  grep -qx "$p" "$stage/runtime-packages" || fail "runtime-packages lacks $p: $(cat "$stage/runtime-packages")"
done
bin=$stage/usr/local/bin
for t in keysat-serve keysat-migrate keysat-issue keysat-verify docker-entrypoint.sh; do
  [ -x "$bin/$t" ] || fail "$t is not staged"
done
"$bin/docker-entrypoint.sh" --help | grep -q 'backup' || fail "--help does not describe the commands"
set +e
"$bin/docker-entrypoint.sh" bogus 2>"$tmp/bogus.log"; rc=$?
set -e
[ "$rc" -eq 2 ] && grep -q "unknown command 'bogus'" "$tmp/bogus.log" || fail "an unknown command gave $rc"

# The unprivileged user the entrypoint switches to when run as root (the image has 'keysat').
run_user=
if [ "$(id -u)" -eq 0 ]; then
  run_user=nobody
  # As root, a user that does not exist stops it instead of running as root.
  set +e
  KEYSAT_BIN_DIR=$bin KEYSAT_DATA_DIR=$tmp/nouser KEYSAT_USER=no-such-user-here \
    "$bin/docker-entrypoint.sh" 2>"$tmp/nouser.log"
  rc=$?
  set -e
  [ "$rc" -eq 2 ] && grep -q "no user 'no-such-user-here'" "$tmp/nouser.log" || fail "a missing user gave $rc"
  [ ! -e "$tmp/nouser/keysat.db" ] || fail "a missing user still made a database"
else
  echo "SKIP: not root, so the switch to an unprivileged user and the chown are not exercised" >&2
fi

free_port() {
  local p
  for _ in $(seq 1 50); do
    p=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return; fi
  done
  fail "no free port"
}

server_pid=
start() { # DATA_DIR LOG
  port=$(free_port)
  KEYSAT_BIN_DIR=$bin KEYSAT_DATA_DIR=$1 KEYSAT_BIND=127.0.0.1:$port KEYSAT_USER=${run_user:-keysat} \
    KEYSAT_VALIDATE_RATE=100000 KEYSAT_VALIDATE_BURST=100000 \
    "$bin/docker-entrypoint.sh" 2>>"$2" &
  server_pid=$!
  pids+=("$server_pid")
  for _ in $(seq 1 100); do
    if curl -sf "http://127.0.0.1:$port/healthz" >/dev/null 2>&1; then return; fi
    kill -0 "$server_pid" 2>/dev/null || fail "the server exited at start"
    sleep 0.1
  done
  fail "the server did not answer /healthz"
}
stop() {
  kill -TERM "$server_pid"
  local rc=0
  wait "$server_pid" || rc=$?
  [ "$rc" -eq 0 ] || fail "SIGTERM stopped the server with status $rc"
}
admin() { # METHOD PATH [BODY]
  curl -sS -X "$1" -H "Authorization: Bearer $admin_key" -H 'Content-Type: application/json' \
    ${3:+--data "$3"} "http://127.0.0.1:$port$2"
}
issue() {
  admin POST /v1/admin/licenses '{"product_slug":"app","max_machines":1}' |
    sed -n 's/.*"license_key":"\([^"]*\)".*/\1/p'
}
validates() { # KEY
  curl -sS -X POST -H 'Content-Type: application/json' --data "{\"key\":\"$1\"}" \
    "http://127.0.0.1:$port/v1/validate" | grep -q '"ok":true'
}

# 1. First start.
data=$tmp/data
start "$data" "$tmp/first.log"
for f in keysat.db signing.key signing.pub admin-api-key; do [ -f "$data/$f" ] || fail "first start made no $f"; done
[ "$(stat -c %a "$data/admin-api-key")" = 600 ] || fail "admin-api-key is mode $(stat -c %a "$data/admin-api-key")"
admin_key=$(head -n 1 "$data/admin-api-key")
[[ $admin_key =~ ^[0-9a-f]{64}$ ]] || fail "the admin key is not 64 hex digits"
if [ -n "$run_user" ]; then
  [ "$(stat -c %U "$data/keysat.db")" = "$run_user" ] || fail "keysat.db belongs to $(stat -c %U "$data/keysat.db")"
  [ "$(ps -o user= -p "$server_pid" | tr -d ' ')" = "$run_user" ] || fail "the server does not run as $run_user"
fi
admin POST /v1/admin/products '{"slug":"app","name":"App","price_sats":1000}' | grep -q '"slug":"app"' ||
  fail "the admin key does not create a product"
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer wrong-key-wrong-key-wrong-key-00' \
  "http://127.0.0.1:$port/v1/admin/products")
[[ $code == 40[13] ]] || fail "a wrong admin key got $code"
first_key=$(issue)
[ -n "$first_key" ] || fail "no license issued"
pub1=$(cat "$data/signing.pub")
stop

# 2. Restart: same keys, the license still validates.
start "$data" "$tmp/second.log"
[ "$(cat "$data/signing.pub")" = "$pub1" ] || fail "the restart changed the signing key"
[ "$(head -n 1 "$data/admin-api-key")" = "$admin_key" ] || fail "the restart changed the admin key"
validates "$first_key" || fail "a license issued before the restart does not validate"
grep -q 'generated the master admin API key' "$tmp/second.log" && fail "the restart made a new admin key"

# 3. A backup while 4 clients issue licenses.
writers=()
for w in 1 2 3 4; do
  (
    end=$((SECONDS + 6))
    while [ $SECONDS -lt $end ]; do
      k=$(issue) && [ -n "$k" ] && echo "$k" >>"$tmp/writer$w.keys"
    done
  ) &
  pids+=("$!")
  writers+=("$!")
done
sleep 1.5
cat "$tmp"/writer*.keys >"$tmp/before.keys"
echo "$first_key" >>"$tmp/before.keys"
KEYSAT_BIN_DIR=$bin KEYSAT_DATA_DIR=$data KEYSAT_USER=${run_user:-keysat} \
  "$bin/docker-entrypoint.sh" backup 2>"$tmp/backup.log" || fail "the backup failed"
for w in "${writers[@]}"; do wait "$w"; done
issued=$(cat "$tmp"/writer*.keys | wc -l)
[ "$(wc -l <"$tmp/before.keys")" -ge 5 ] || fail "the writers issued too little before the backup"
stop
echo "issued $issued licenses while backing up; $(wc -l <"$tmp/before.keys") before it"

# The package's backup: rsync of the volume with the StartOS package's own exclude patterns
# (startos/startos/backups.ts), as the SDK runs it, which leave out the live database and its WAL.
patterns=$(sed -n "s/^export const liveDatabase = \[\(.*\)\]$/\1/p" "$src/startos/startos/backups.ts" | tr -d "' " | tr ',' ' ')
[ -n "$patterns" ] || fail "no liveDatabase patterns in startos/startos/backups.ts"
excludes=()
for p in $patterns; do excludes+=("--exclude=$p"); done
restored=$tmp/restored
mkdir -p "$restored"
rsync --delete "${excludes[@]}" -rlptH "$data/" "$restored/" || fail "rsync failed"
[ ! -e "$restored/keysat.db" ] || fail "the copy holds the live database"
[ -f "$restored/backup/keysat.db" ] || fail "the copy lacks backup/keysat.db (patterns: $patterns)"
"$bin/keysat-migrate" verify --db "$restored/backup/keysat.db" >"$tmp/verify.log" 2>&1 ||
  fail "keysat-migrate verify failed on the backup"
# A WAL left from the lost database is moved aside, not replayed onto the copy.
echo "not a wal" >"$restored/keysat.db-wal"
start "$restored" "$tmp/restored.log"
[ ! -e "$restored/keysat.db-wal" ] || ! grep -q "not a wal" "$restored/keysat.db-wal" || fail "the orphaned WAL was kept"
ls "$restored" | grep -q '^keysat.db-wal.orphaned-' || fail "the orphaned WAL was not moved aside"
grep -q 'restoring .*keysat.db from .*backup/keysat.db' "$tmp/restored.log" || fail "the start did not restore the backup"
bad=0
while read -r k; do validates "$k" || bad=$((bad + 1)); done <"$tmp/before.keys"
[ "$bad" -eq 0 ] || fail "$bad of $(wc -l <"$tmp/before.keys") licenses issued before the backup do not validate"
admin GET /v1/admin/products | grep -q '"slug":"app"' || fail "the restored admin key does not work"
stop
"$bin/keysat-migrate" verify --db "$restored/keysat.db" >>"$tmp/verify.log" 2>&1 ||
  fail "keysat-migrate verify failed on the restored database"
echo "entrypoint: first start, restart, backup under 4 writers, restore: all behave"
