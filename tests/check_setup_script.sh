#!/usr/bin/env bash
# scripts/setup.sh works as root without sudo and as a normal user with sudo, elevating only the
# apt-get step. Package tools are stubs on PATH that record how they were called; nothing is
# installed. Usage: check_setup_script.sh SOURCE_DIR
set -euo pipefail
setup=$(cd "$1" && pwd)/scripts/setup.sh
tmp=$(mktemp -d)
chmod 755 "$tmp"
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# A bin folder with only what setup.sh may call: real bash, grep, id and env; stub package tools.
make_bin() {
  local bin=$1 log=$2
  mkdir -p "$bin"
  for tool in bash grep id env cat; do ln -s "$(command -v "$tool")" "$bin/$tool"; done
  printf '#!/bin/bash\nexit 1\n' >"$bin/dpkg-query"            # every package is missing
  printf '#!/bin/bash\necho "apt-get uid=$(id -u) $*" >>%s\n' "$log" >"$bin/apt-get"
  chmod 755 "$bin"/dpkg-query "$bin"/apt-get
}
# The user that runs the script: as root, a non-root uid through setpriv; else ourselves.
as_user() {
  if [ "$(id -u)" -eq 0 ]; then
    setpriv --reuid=65534 --regid=65534 --clear-groups "$@"
  else
    "$@"
  fi
}

# 1. Root with no sudo installed: apt-get runs directly.
if [ "$(id -u)" -eq 0 ]; then
  make_bin "$tmp/root" "$tmp/root.log"
  PATH="$tmp/root" bash "$setup" >/dev/null 2>&1 || fail "as root without sudo, setup.sh failed"
  grep -q '^apt-get uid=0 install .*libsodium-dev' "$tmp/root.log" || fail "as root, apt-get install was not run: $(cat "$tmp/root.log")"
fi

# 2. A normal user with sudo: only apt-get is elevated.
make_bin "$tmp/user" "$tmp/user.log"
touch "$tmp/user.log" && chmod 666 "$tmp/user.log"
printf '#!/bin/bash\necho "sudo uid=$(id -u) $*" >>%s\nexec "$@"\n' "$tmp/user.log" >"$tmp/user/sudo"
chmod 755 "$tmp/user/sudo"
as_user env PATH="$tmp/user" bash "$setup" >/dev/null 2>&1 || fail "as a user with sudo, setup.sh failed"
grep -q '^sudo .* apt-get install .*libsodium-dev' "$tmp/user.log" || fail "sudo did not run apt-get install: $(cat "$tmp/user.log")"
if grep -v ' apt-get ' "$tmp/user.log" | grep -q '^sudo'; then fail "sudo ran something besides apt-get"; fi

# 3. A normal user without sudo: exit 2 with the apt-get line to run as root, nothing run.
make_bin "$tmp/plain" "$tmp/plain.log"
touch "$tmp/plain.log" && chmod 666 "$tmp/plain.log"
set +e
out=$(as_user env PATH="$tmp/plain" bash "$setup" 2>&1)
rc=$?
set -e
[ "$rc" -eq 2 ] || fail "as a user without sudo, exit $rc (want 2)"
grep -q 'apt-get install -y --no-install-recommends .*libsodium-dev' <<<"$out" || fail "no apt-get line printed: $out"
[ ! -s "$tmp/plain.log" ] || fail "apt-get ran without privileges"
# 4. --build-only asks for the build's packages and nothing for tests or browsers; a bad option
#    is refused before anything runs.
make_bin "$tmp/build" "$tmp/build.log"
touch "$tmp/build.log" && chmod 666 "$tmp/build.log"
cp "$tmp/user/sudo" "$tmp/build/sudo" && sed -i "s|$tmp/user.log|$tmp/build.log|" "$tmp/build/sudo"
as_user env PATH="$tmp/build" bash "$setup" --build-only >/dev/null 2>&1 || fail "setup.sh --build-only failed"
grep -q 'apt-get install .*libsodium-dev' "$tmp/build.log" || fail "--build-only installed no build package: $(cat "$tmp/build.log")"
if grep -q 'chromium\|clang-16\|minisign\|nodejs' "$tmp/build.log"; then fail "--build-only installed test helpers: $(cat "$tmp/build.log")"; fi
set +e
as_user env PATH="$tmp/build" bash "$setup" --bogus >/dev/null 2>&1
rc=$?
set -e
[ "$rc" -eq 2 ] || fail "setup.sh --bogus exited $rc (want 2)"

echo "setup.sh: root without sudo, user with sudo, user without sudo all behave"
