#!/usr/bin/env bash
# Fails when keysat-verify contains or imports signing, SQLite or HTTP server code.
set -euo pipefail
bin=$1
symbols=$(nm -C "$bin"; nm -D --undefined-only "$bin")
# Sanity: the check must see the verify side, or it proves nothing.
grep -q 'crypto_sign_verify_detached' <<<"$symbols" || { echo "no verify symbol found: nm output unusable"; exit 1; }
bad=$(grep -E 'crypto_sign_detached|crypto_sign_keypair|crypto_sign_seed_keypair|crypto_pwhash|sqlite3_|httplib|keysat::crypto::SecretKey|keysat::issuing' <<<"$symbols" || true)
if [ -n "$bad" ]; then
  echo "keysat-verify links code it must not:"; echo "$bad" | head -20; exit 1
fi
echo "keysat-verify links verify-only code"
