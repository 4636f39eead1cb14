#!/usr/bin/env bash
# Install whatever Debian packages the build, tests and benchmarks need and are missing.
# As root it runs apt-get itself (containers and CI have no sudo); as another user it elevates
# only the apt-get step with sudo, and without sudo it prints the exact line and fails.
set -euo pipefail

packages=(
  build-essential cmake pkg-config ccache
  libcli11-dev libsodium-dev libsqlite3-dev libtomlplusplus-dev libcpp-httplib-dev
  libfmt-dev catch2 nlohmann-json3-dev libssl-dev zlib1g-dev
  minisign zsh fish curl openssl
  clang-16 libclang-rt-16-dev
)
if [ "${1:-}" = "--bench" ]; then
  packages+=(hyperfine wrk nginx-light)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

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
