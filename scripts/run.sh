#!/usr/bin/env bash
# Installs what is missing, builds, and runs keysat-serve on the embedded default: SQLite and a
# generated signing key under ./var, listening on 127.0.0.1:8080. The first start prints the
# admin API key once. Extra arguments go to keysat-serve (e.g. --bind 127.0.0.1:9090).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
# Same flags as scripts/test.sh, and paths relative to the checkout, so that ccache shares objects
# between the two and between clones.
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$PWD}" CCACHE_NOHASHDIR="${CCACHE_NOHASHDIR:-true}"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKEYSAT_WERROR=ON >/dev/null
cmake --build build -j"$(nproc)" --target keysat-serve keysat-issue keysat-verify keysat-migrate
exec build/tools/keysat-serve "$@"
