#include "keysat/crypto/uuid_gen.hpp"

#include <algorithm>
#include <array>
#include <sodium.h>

#include "keysat/crypto/hash.hpp"
#include "keysat/crypto/secure.hpp"

namespace keysat::crypto {

Uuid uuid_v4() {
    init();
    // Random bytes are drawn 4 KiB at a time: one getrandom() call per 256 UUIDs instead of one
    // each (a syscall costs several microseconds on virtual machines; bulk issuance showed it).
    thread_local std::array<std::uint8_t, 4096> pool;
    thread_local std::size_t used = pool.size();
    if (used + 16 > pool.size()) {
        randombytes_buf(pool.data(), pool.size());
        used = 0;
    }
    Uuid u;
    std::copy_n(pool.begin() + static_cast<std::ptrdiff_t>(used), 16, u.bytes.begin());
    sodium_memzero(pool.data() + used, 16); // a UUID's randomness is never handed out twice
    used += 16;
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
