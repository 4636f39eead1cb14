#!/usr/bin/env bash
# Install whatever Debian packages the build, tests and benchmarks need and are missing, then the
# npm packages of the browser tests (tests/browser, from its committed package-lock.json).
# As root it runs apt-get itself (containers and CI have no sudo); as another user it elevates
# only the apt-get step with sudo, and without sudo it prints the exact line and fails. npm always
# runs as the caller, never under sudo.
#
#   setup.sh               everything: build, tests, fuzzing, browser tests
#   setup.sh --bench       that and the benchmarks' peers (hyperfine, wrk, nginx-light)
#   setup.sh --build-only  only what building the four tools needs (the Dockerfile's build stage)
set -euo pipefail
# The checkout, from this script's own path, so that it works from any directory (no dirname:
# only bash builtins, grep, id, env and cat are needed besides the package tools).
here=${BASH_SOURCE[0]}
if [[ $here == */* ]]; then here=${here%/*}; else here=.; fi
root=$(cd "$here/.." && pwd)

mode=${1:-all}
case $mode in
  all | --bench | --build-only) ;;
  *) echo "setup.sh: unknown option '$mode' (--bench, --build-only)" >&2; exit 2 ;;
esac
packages=(
  build-essential cmake pkg-config ccache
  libcli11-dev libsodium-dev libsqlite3-dev libtomlplusplus-dev libcpp-httplib-dev
  libfmt-dev catch2 nlohmann-json3-dev libssl-dev zlib1g-dev
)
if [ "$mode" != --build-only ]; then
  packages+=(minisign zsh fish curl openssl rsync clang-16 libclang-rt-16-dev chromium)
fi
if [ "$mode" = --bench ]; then
  packages+=(hyperfine wrk nginx-light)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
done
# Node and npm only when they are not there at all: a Node from elsewhere (NodeSource) brings its
# own npm, and Debian's npm package conflicts with it.
if [ "$mode" != --build-only ] && { ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; }; then
  missing+=(nodejs npm)
fi

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then
    as_root=()
  elif command -v sudo >/dev/null 2>&1; then
    echo "installing missing Debian packages with sudo: ${missing[*]}" >&2
    as_root=(sudo)
  else
    echo "missing Debian packages, and no sudo to install them; as root run:" >&2
    echo "  apt-get update && apt-get install -y --no-install-recommends ${missing[*]}" >&2
    exit 2
  fi
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
  hash -r
fi

[ "$mode" = --build-only ] && exit 0

# The StartOS package's SDK, TypeScript and bundler, exactly as locked (tests/check_startos_package.sh).
startos=$root/startos
if [ ! -f "$startos/node_modules/.package-lock.json" ] ||
   [ "$startos/package-lock.json" -nt "$startos/node_modules/.package-lock.json" ]; then
  if command -v npm >/dev/null 2>&1; then
    echo "installing the StartOS package's npm packages into startos/node_modules" >&2
    npm ci --no-audit --no-fund --prefix "$startos"
  fi
fi

# The browser tests' playwright-core and axe-core, exactly as locked, when one is missing or older
# than the lock. npm writes node_modules/.package-lock.json at each install: its age is the
# install's.
browser=$root/tests/browser
if [ ! -f "$browser/node_modules/playwright-core/package.json" ] ||
   [ ! -f "$browser/node_modules/axe-core/axe.min.js" ] ||
   [ "$browser/package-lock.json" -nt "$browser/node_modules/.package-lock.json" ]; then
  if ! command -v npm >/dev/null 2>&1; then
    echo "npm is not on PATH, so the browser tests' packages are not installed; the [browser]" >&2
    echo "tests fail until this runs: npm ci --no-audit --no-fund --prefix tests/browser" >&2
    exit 0
  fi
  echo "installing the browser tests' npm packages into tests/browser/node_modules" >&2
  npm ci --no-audit --no-fund --prefix "$browser"
fi
