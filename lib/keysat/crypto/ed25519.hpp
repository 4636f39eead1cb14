#pragma once
// Ed25519 public keys and verification. Signing lives in signing.hpp so that verify-only
// programs cannot link it.

#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "keysat/util/bytes.hpp"

namespace keysat::crypto {

using Signature = std::array<std::uint8_t, 64>;
using KeyId = std::array<std::uint8_t, 8>;

struct PublicKey {
    std::array<std::uint8_t, 32> bytes{};
    // minisign's 8-byte key id, when the key came with one (minisign files); keys read from PEM or
    // hex carry none.
    std::optional<KeyId> key_id;
};

// True when `sig` is a valid Ed25519 signature of `message` by `key` (strict RFC 8032 checks as
// libsodium does them).
bool verify(const PublicKey& key, ByteView message, const Signature& sig);

// Key id as minisign prints it: the 8 bytes read as a little-endian integer, 16 upper-case hex
// digits.
std::string key_id_text(const KeyId& id);

} // namespace keysat::crypto
