#!/usr/bin/env bash
# Installs what is missing, builds, and runs the offline demo in ./demo: generate a key, issue a
# license key and verify it, sign a file and verify it with keysat-verify and stock minisign.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target keysat-issue keysat-verify

bin=$PWD/build/tools
mkdir -p demo && cd demo
export KEYSAT_PASSPHRASE=${KEYSAT_PASSPHRASE:-demo-passphrase}
set -x
[ -f vendor.key ] || "$bin"/keysat-issue keygen -o vendor --kdf interactive
key=$("$bin"/keysat-issue license -s vendor.key --product 6f46a4f6-0d2f-4a28-b6aa-3e8fbf6f28f0 \
        --days 365 -e pro --ledger issued.jsonl)
"$bin"/keysat-verify license -p vendor.pub --product-id 6f46a4f6-0d2f-4a28-b6aa-3e8fbf6f28f0 "$key"
echo "release 1.0.0" > app-1.0.0.txt
"$bin"/keysat-issue sign -s vendor.key app-1.0.0.txt
"$bin"/keysat-verify file -p vendor.pub app-1.0.0.txt
minisign -Vm app-1.0.0.txt -p vendor.pub
