#include "keysat/crypto/kdf.hpp"

#include <sodium.h>

#include "keysat/crypto/secure.hpp"

namespace keysat::crypto {

ScryptLimits scrypt_interactive() {
    return {crypto_pwhash_scryptsalsa208sha256_OPSLIMIT_INTERACTIVE,
            crypto_pwhash_scryptsalsa208sha256_MEMLIMIT_INTERACTIVE};
}

ScryptLimits scrypt_sensitive() {
    return {crypto_pwhash_scryptsalsa208sha256_OPSLIMIT_SENSITIVE,
            crypto_pwhash_scryptsalsa208sha256_MEMLIMIT_SENSITIVE};
}

bool scrypt(std::span<std::uint8_t> out, std::string_view passphrase,
            std::span<const std::uint8_t, 32> salt, ScryptLimits limits) {
    init();
    return crypto_pwhash_scryptsalsa208sha256(out.data(), out.size(), passphrase.data(),
                                              passphrase.size(), salt.data(), limits.opslimit,
                                              static_cast<std::size_t>(limits.memlimit)) == 0;
}

} // namespace keysat::crypto
