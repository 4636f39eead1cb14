#!/usr/bin/env bash
# Install whatever Debian packages the build, tests and benchmarks need and are missing.
# As root it runs apt-get; otherwise it prints the exact apt-get line and fails.
set -euo pipefail

packages=(
  build-essential cmake pkg-config ccache
  libcli11-dev libsodium-dev libsqlite3-dev libtomlplusplus-dev libcpp-httplib-dev
  libfmt-dev catch2 nlohmann-json3-dev libssl-dev
  minisign zsh fish curl openssl
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
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "missing packages; run as root:" >&2
  echo "  apt-get install -y --no-install-recommends ${missing[*]}" >&2
  exit 2
fi
