#!/usr/bin/env bash
# The operator's dashboard over a big shop: 1,000,000 licenses, 100,000 invoices, 500,000
# machines and 10,000,000 validation-log rows spread over two years. wrk at 8 connections on the
# console's dashboard page (90 days, signed in) and on GET /v1/admin/dashboard?days=90, against
# the same six queries run by the sqlite3 shell on the same file in the same run (what SQLite
# itself needs: the floor). Prints each query's plan, and how long migration 0008's backfill of
# the validation rollup takes over the 10,000,000 rows.
# Usage: bash bench/run_console.sh [BUILD_DIR]   (default build-bench; Release build)
#        KEYSAT_BENCH_DIVISOR=N divides every count by N
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_init run_console.sh "${1:-}"
need_programs keysat-serve
need_tools wrk sqlite3 python3 curl
serve=$build/tools/keysat-serve

# KEYSAT_BENCH_DIVISOR=100 makes a shop 100 times smaller (a quick check of the script).
div=${KEYSAT_BENCH_DIVISOR:-1}
readonly k_licenses=$((1000000 / div)) k_invoices=$((100000 / div)) k_machines=$((500000 / div)) \
    k_checks=$((10000000 / div))
readonly k_conns=8 k_seconds=10
now=$(date +%s)

# The schema at the latest version, with a console password (this also creates the database).
printf 'bench console password\n' >"$tmp/password"
"$serve" --data-dir "$tmp/data" --set-admin-password --password-file "$tmp/password" 2>/dev/null
db=$tmp/data/keysat.db

echo "== making the shop: $k_licenses licenses, $k_invoices invoices, $k_machines machines, $k_checks validations"
start=$(date +%s.%N)
sqlite3 "$db" <<SQL
PRAGMA journal_mode = WAL;
PRAGMA synchronous = OFF;
INSERT INTO signing_keys (key_id, public_key, created_at) VALUES ('B0B0B0B0B0B0B0B0', zeroblob(32), 0);
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 9)
INSERT INTO products (id, slug, name, price_amount, created_at, updated_at)
    SELECT 'p' || i, 'product-' || i, 'Product ' || i, 10000, 0, 0 FROM n;
BEGIN;
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < $k_licenses - 1)
INSERT INTO licenses (id, product_id, status, buyer_email, issued_at, license_key, signing_key_id,
                      created_at, updated_at)
    SELECT 'l' || i, 'p' || (i % 10), CASE WHEN i % 50 = 0 THEN 'revoked' ELSE 'active' END,
           'buyer' || i || '@example.com', $now - (i * 63072000 / $k_licenses), 'LIC1-' || i,
           'B0B0B0B0B0B0B0B0', 0, 0 FROM n;
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < $k_invoices - 1)
INSERT INTO invoices (id, product_id, status, base_amount, amount, currency, created_at,
                      updated_at, settled_at)
    SELECT 'i' || i, 'p' || (i % 10),
           CASE WHEN i % 10 = 0 THEN 'expired' WHEN i % 97 = 0 THEN 'new' ELSE 'settled' END,
           5000 + i % 1000, 5000 + i % 1000, CASE WHEN i % 4 = 0 THEN 'USD' ELSE 'SAT' END,
           $now - (i * 63072000 / $k_invoices), 0,
           CASE WHEN i % 10 = 0 OR i % 97 = 0 THEN NULL ELSE $now - (i * 63072000 / $k_invoices) END
    FROM n;
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < $k_machines - 1)
INSERT INTO machines (id, license_id, fingerprint, fingerprint_sha256, activated_at, deactivated_at)
    SELECT 'm' || i, 'l' || (i * 2), 'fp' || i, 'h' || i, 0, CASE WHEN i % 5 = 0 THEN 1 END FROM n;
COMMIT;
SQL
# The log as an existing database would have it before migration 0008: rows first, then the
# rollup filled by the migration's own statement (timed), then the trigger back.
sqlite3 "$db" <<SQL
PRAGMA synchronous = OFF;
DROP TRIGGER validation_log_daily;
DELETE FROM validation_daily;
BEGIN;
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < $k_checks - 1)
INSERT INTO validation_log (at, license_id, result)
    SELECT $now - (i * 31536000 / $k_checks), 'l' || (i % $k_licenses),
           CASE WHEN i % 50 = 0 THEN 'revoked' WHEN i % 31 = 0 THEN 'expired'
                WHEN i % 97 = 0 THEN 'too_many_machines' ELSE 'ok' END FROM n;
COMMIT;
SQL
made=$(date +%s.%N)
backfill=$(sed -n '/^INSERT INTO validation_daily/,/;$/p' "$root/lib/keysat/db/migrations/0008_console.sql")
trigger=$(sed -n '/^CREATE TRIGGER validation_log_daily/,/^END;$/p' "$root/lib/keysat/db/migrations/0008_console.sql")
sqlite3 "$db" "$backfill" "$trigger" "ANALYZE"
filled=$(date +%s.%N)
python3 -c "print(f'made in {$made - $start:.0f} s; the rollup backfill over $k_checks rows took {$filled - $made:.1f} s')"
ls -la "$db" | awk '{printf "database: %.0f MiB\n", $5 / 1048576}'

# The six queries as the dashboard runs them (lib/keysat/store/stats_store.cpp), 90 days.
from_day=$(( now / 86400 - 89 ))
cat >"$tmp/queries.sql" <<SQL
SELECT day, product_id, currency, amount, invoices FROM revenue_daily WHERE day >= $from_day ORDER BY day, product_id, currency;
SELECT day, '', count FROM licenses_daily WHERE day >= $from_day AND count > 0 ORDER BY day;
SELECT day, result, count FROM validation_daily WHERE day >= $from_day ORDER BY day, result;
SELECT value FROM dashboard_counts WHERE name = 'active_machines';
SELECT count(*) FROM invoices WHERE status IN ('new', 'processing');
SELECT count(*) FROM webhook_deliveries WHERE dead = 1;
SQL
echo "== plans"
sed 's/^/EXPLAIN QUERY PLAN /' "$tmp/queries.sql" | sqlite3 "$db"
echo "== the six queries in the sqlite3 shell, 20 times (the floor)"
for _ in $(seq 20); do cat "$tmp/queries.sql"; done >"$tmp/queries20.sql"
q0=$(date +%s.%N); sqlite3 "$db" <"$tmp/queries20.sql" >/dev/null; q1=$(date +%s.%N)
floor_ms=$(python3 -c "print(f'{($q1 - $q0) * 1000 / 20:.1f}')")
echo "sqlite3 shell: $floor_ms ms per dashboard's queries"

port=$(free_port)
admin=bench-admin-key-0123456789abcdef0123456789
KEYSAT_ADMIN_API_KEY=$admin "$serve" --bind "127.0.0.1:$port" --data-dir "$tmp/data" 2>"$tmp/serve.log" &
pids+=($!)
for _ in $(seq 100); do grep -q listening "$tmp/serve.log" 2>/dev/null && break; sleep 0.1; done
base=http://127.0.0.1:$port
cookie=$(curl -s -i -H "Origin: $base" --data-urlencode "password=bench console password" \
    "$base/admin/login" | tr -d '\r' | sed -n 's/^Set-Cookie: \([^;]*\);.*/\1/p')
[[ -n $cookie ]] || { echo "run_console.sh: could not sign in" >&2; exit 1; }
curl -s -o /dev/null -w "one dashboard page: %{http_code}, %{size_download} bytes, %{time_total} s\n" \
    -H "Cookie: $cookie" "$base/admin/?days=90"
echo "== the console's dashboard page, 90 days, $k_conns connections, ${k_seconds}s"
wrk -t2 -c"$k_conns" -d"${k_seconds}s" --latency -H "Cookie: $cookie" "$base/admin/?days=90" | tee "$tmp/page.txt"
echo "== GET /v1/admin/dashboard?days=90, $k_conns connections, ${k_seconds}s"
wrk -t2 -c"$k_conns" -d"${k_seconds}s" --latency -H "Authorization: Bearer $admin" \
    "$base/v1/admin/dashboard?days=90" | tee "$tmp/api.txt"
p99() { awk '/^ +99%/ {print $2}' "$1"; }
echo "== summary"
echo "dashboard page p99 $(p99 "$tmp/page.txt"), API p99 $(p99 "$tmp/api.txt"); sqlite3 shell floor $floor_ms ms per run of the queries"
