#!/usr/bin/env bash
# Fails when keysat-verify contains or imports signing, SQLite or HTTP server code.
set -euo pipefail
bin=$1
# Symbols it defines (a static build holds libsodium's own) and, when dynamic, those it imports.
symbols=$(nm -C "$bin"; nm -D --undefined-only "$bin" 2>/dev/null || true)
# Sanity: the check must see the verify side, or it proves nothing.
grep -q 'crypto_sign_ed25519_verify_detached' <<<"$symbols" || { echo "no verify symbol found: nm output unusable"; exit 1; }
# Signing, key generation and password hashing entry points, SQLite, the HTTP library, our
# signing side. Two exceptions hold only for a static binary, which carries libsodium's own
# objects: its start-up picks an Argon2 implementation (not an entry point, so not matched), and
# its Ed25519 verifier (open.c) uses a hash helper of sign.c, so that object's signing functions
# come along unused. A dynamic build (the sanitizer one) imports nothing but what our code calls,
# so there the check covers those too.
signing=' (crypto_sign(_ed25519)?(_detached|_keypair|_seed_keypair)?|crypto_pwhash(_argon2i|_argon2id|_scryptsalsa208sha256)?(_str)?)$'
loader=$(LC_ALL=C ldd "$bin" 2>&1 || true) # ldd exits 1 for a plain static program
if grep -qE 'not a dynamic executable|statically linked' <<<"$loader"; then
  signing=' (crypto_sign(_detached|_keypair|_seed_keypair)?|crypto_sign_ed25519(_keypair|_seed_keypair)|crypto_pwhash(_argon2i|_argon2id|_scryptsalsa208sha256)?(_str)?)$'
fi
bad=$(grep -E "$signing|sqlite3_|httplib|keysat::crypto::SecretKey|keysat::issuing" <<<"$symbols" || true)
if [ -n "$bad" ]; then
  echo "keysat-verify links code it must not:"; echo "$bad" | head -20; exit 1
fi
echo "keysat-verify links verify-only code"
