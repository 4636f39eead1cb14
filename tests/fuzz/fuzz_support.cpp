#include "fuzz_support.hpp"

#include <array>

namespace keysat::fuzz {

const crypto::SecretKey& seed_key() {
    static const crypto::SecretKey key = [] {
        std::array<std::uint8_t, 32> seed{};
        for (std::size_t i = 0; i < seed.size(); ++i)
            seed[i] = static_cast<std::uint8_t>(0xf0 ^ i);
        return crypto::SecretKey::from_seed(seed, {0x4b, 0x45, 0x59, 0x53, 0x41, 0x54, 0x46, 0x5a});
    }();
    return key;
}

const license::Keyring& ring() {
    static const license::Keyring keys = [] {
        license::Keyring r;
        r.keys.push_back(seed_key().public_key());
        auto keysat = license::parse_public_key(
            "-----BEGIN PUBLIC KEY-----\n"
            "MCowBQYDK2VwAyEAA6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg=\n"
            "-----END PUBLIC KEY-----\n");
        if (!keysat)
            std::abort();
        r.keys.push_back(*keysat);
        return r;
    }();
    return keys;
}

} // namespace keysat::fuzz
