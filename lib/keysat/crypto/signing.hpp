#pragma once
// Ed25519 secret keys and signing. Not linked into keysat-verify.

#include <array>
#include <cstdint>

#include "keysat/crypto/ed25519.hpp"
#include "keysat/crypto/secure.hpp"
#include "keysat/util/bytes.hpp"

namespace keysat::crypto {

// An Ed25519 key pair; the 64-byte secret (seed || public key) sits in sodium_malloc'd memory.
class SecretKey {
  public:
    // A fresh random key pair with a random key id.
    static SecretKey generate();
    // The key pair derived from a 32-byte seed.
    static SecretKey from_seed(std::span<const std::uint8_t, 32> seed, const KeyId& key_id);
    // Adopts a 64-byte libsodium secret key (seed || public key). The caller checked that the
    // public half matches the seed.
    static SecretKey from_secret(std::span<const std::uint8_t, 64> secret, const KeyId& key_id);

    Signature sign(ByteView message) const;
    const PublicKey& public_key() const { return m_public; }
    const KeyId& key_id() const { return *m_public.key_id; }
    // seed || public key, 64 bytes.
    std::span<const std::uint8_t> secret_bytes() const { return m_secret.view(); }

  private:
    SecretKey() : m_secret(64) {}
    SecureBytes m_secret;
    PublicKey m_public;
};

// Fills `out` with random bytes.
void random_bytes(std::span<std::uint8_t> out);

// True when the last 32 bytes of `secret` are the public key its first 32 bytes derive.
bool secret_is_consistent(std::span<const std::uint8_t, 64> secret);

} // namespace keysat::crypto
