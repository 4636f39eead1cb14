#!/usr/bin/env bash
# The StartOS package (startos/): its npm packages exactly as locked (npm ci), the type check
# (tsc --noEmit), the bundle StartOS loads (ncc, as `npm run build`), and every action run
# against a real keysat-serve started by the image's entrypoint (startos/test/).
# Usage: check_startos_package.sh SOURCE_DIR BIN_DIR
set -euo pipefail
src=$(cd "$1" && pwd)
bin=$(cd "$2" && pwd)
pkg=$src/startos
fail() { echo "FAIL: $*" >&2; exit 1; }
command -v npm >/dev/null || fail "npm is not installed (scripts/setup.sh installs it)"

cd "$pkg"
# node_modules as locked; scripts/setup.sh installs it, this only repairs a stale one.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund >/dev/null || fail "npm ci failed"
fi
npx --no-install tsc --noEmit || fail "tsc --noEmit found type errors"

# The bundle into a scratch directory (the repository's javascript/ is left alone), then loaded
# the way StartOS loads it: its exports are all there and the manifest is complete.
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
npx --no-install ncc build startos/index.ts -o "$out/package" >"$out/ncc.log" 2>&1 || { cat "$out/ncc.log" >&2; fail "ncc build failed"; }
node -e '
  const p = require(process.argv[1]);
  for (const k of ["main", "init", "uninit", "createBackup", "actions", "manifest"])
    if (!(k in p)) throw new Error("the bundle does not export " + k);
  const m = p.manifest;
  if (m.id !== "keysat-cpp" || !/^\d+\.\d+\.\d+:\d+$/.test(m.version)) throw new Error("manifest id/version: " + m.id + " " + m.version);
  if (JSON.stringify(m.images.main.arch) !== JSON.stringify(["x86_64", "aarch64"])) throw new Error("arches: " + m.images.main.arch);
  if (m.dependencies.btcpayserver.optional !== true) throw new Error("BTCPay must be optional");
' "$out/package/index.js" || fail "the bundle does not load as StartOS loads it"

# The actions against a real keysat-serve.
npx --no-install ncc build test/actions.test.ts -o "$out/test" >"$out/ncc-test.log" 2>&1 || { cat "$out/ncc-test.log" >&2; fail "ncc build of the tests failed"; }
KEYSAT_BIN_DIR=$bin KEYSAT_ENTRYPOINT=$src/dist/docker-entrypoint.sh \
  node --test --test-reporter=spec "$out/test/index.js" || fail "action tests failed"
echo "startos: npm ci, tsc, ncc bundle and every action against keysat-serve pass"
