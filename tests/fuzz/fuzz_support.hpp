#pragma once
// Shared by the fuzz targets: properties that abort when broken (libFuzzer reports an abort as
// a crash and saves the input), and the fixed signing key that the seed corpora are signed with.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "keysat/crypto/signing.hpp"
#include "keysat/license/pubkey.hpp"

// A property of the code under test; a broken one aborts with the condition's text.
#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            std::fprintf(stderr, "%s:%d: property broken: %s\n", __FILE__, __LINE__, #cond);       \
            std::abort();                                                                          \
        }                                                                                          \
    } while (false)

namespace keysat::fuzz {

inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
    return {reinterpret_cast<const char*>(data), size};
}

// The key the seed corpora are signed with (`make_seeds`): derived from a fixed seed, so its
// signatures are the same on every run and a mutated input can keep a valid one.
const crypto::SecretKey& seed_key();

// Trusted keys of the targets that verify signatures: the seed key, then Keysat's vector key
// (tests/fixtures/keysat/vector.json), so the fixture's license keys verify too.
const license::Keyring& ring();

// A fixed "now" inside every seed's validity (2025-01-01T00:00:00Z).
inline constexpr std::int64_t k_now = 1735689600;

} // namespace keysat::fuzz
