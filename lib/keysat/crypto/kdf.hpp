#pragma once
// Passphrase key derivation: scrypt (libsodium's scryptsalsa208sha256), as minisign uses it.

#include <cstdint>
#include <span>
#include <string_view>

namespace keysat::crypto {

// libsodium's cost levels for scryptsalsa208sha256.
struct ScryptLimits {
    std::uint64_t opslimit;
    std::uint64_t memlimit;
};
ScryptLimits scrypt_interactive();
ScryptLimits scrypt_sensitive(); // what minisign writes: about 1 GiB of memory

// Fills `out` from the passphrase and salt. False when the limits cannot be met (memory).
bool scrypt(std::span<std::uint8_t> out, std::string_view passphrase,
            std::span<const std::uint8_t, 32> salt, ScryptLimits limits);

} // namespace keysat::crypto
