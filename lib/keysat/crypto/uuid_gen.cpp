#include "keysat/crypto/uuid_gen.hpp"

#include <algorithm>
#include <sodium.h>

#include "keysat/crypto/hash.hpp"
#include "keysat/crypto/secure.hpp"

namespace keysat::crypto {

Uuid uuid_v4() {
    init();
    Uuid u;
    randombytes_buf(u.bytes.data(), u.bytes.size());
    u.bytes[6] = static_cast<std::uint8_t>((u.bytes[6] & 0x0f) | 0x40);
    u.bytes[8] = static_cast<std::uint8_t>((u.bytes[8] & 0x3f) | 0x80);
    return u;
}

Uuid uuid_v5(const Uuid& ns, std::string_view name) {
    Bytes input(ns.bytes.begin(), ns.bytes.end());
    input.insert(input.end(), name.begin(), name.end());
    auto digest = sha1(input);
    Uuid u;
    std::copy_n(digest.begin(), 16, u.bytes.begin());
    u.bytes[6] = static_cast<std::uint8_t>((u.bytes[6] & 0x0f) | 0x50);
    u.bytes[8] = static_cast<std::uint8_t>((u.bytes[8] & 0x3f) | 0x80);
    return u;
}

} // namespace keysat::crypto
