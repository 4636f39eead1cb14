#include "keysat/crypto/signing.hpp"

#include <algorithm>
#include <sodium.h>

namespace keysat::crypto {

SecretKey SecretKey::generate() {
    init();
    SecureBytes seed(32);
    randombytes_buf(seed.data(), seed.size());
    KeyId id;
    randombytes_buf(id.data(), id.size());
    return from_seed(std::span<const std::uint8_t, 32>(seed.data(), 32), id);
}

SecretKey SecretKey::from_seed(std::span<const std::uint8_t, 32> seed, const KeyId& key_id) {
    init();
    SecretKey k;
    crypto_sign_seed_keypair(k.m_public.bytes.data(), k.m_secret.data(), seed.data());
    k.m_public.key_id = key_id;
    return k;
}

SecretKey SecretKey::from_secret(std::span<const std::uint8_t, 64> secret, const KeyId& key_id) {
    SecretKey k;
    std::copy(secret.begin(), secret.end(), k.m_secret.data());
    std::copy(secret.begin() + 32, secret.end(), k.m_public.bytes.begin());
    k.m_public.key_id = key_id;
    return k;
}

Signature SecretKey::sign(ByteView message) const {
    Signature sig;
    crypto_sign_detached(sig.data(), nullptr, message.data(), message.size(), m_secret.data());
    return sig;
}

void random_bytes(std::span<std::uint8_t> out) {
    init();
    randombytes_buf(out.data(), out.size());
}

bool secret_is_consistent(std::span<const std::uint8_t, 64> secret) {
    init();
    std::array<std::uint8_t, 32> pk;
    SecureBytes sk(64);
    crypto_sign_seed_keypair(pk.data(), sk.data(), secret.data());
    return sodium_memcmp(pk.data(), secret.data() + 32, 32) == 0;
}

} // namespace keysat::crypto
