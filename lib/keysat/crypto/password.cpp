#include "keysat/crypto/password.hpp"

#include <sodium.h>

namespace keysat::crypto {

std::optional<std::string> hash_password(std::string_view password) {
    if (sodium_init() < 0)
        return std::nullopt;
    char out[crypto_pwhash_STRBYTES] = {};
    if (crypto_pwhash_str_alg(
            out, password.data(), password.size(), crypto_pwhash_OPSLIMIT_INTERACTIVE,
            crypto_pwhash_MEMLIMIT_INTERACTIVE, crypto_pwhash_ALG_ARGON2ID13) != 0)
        return std::nullopt;
    return std::string(out);
}

bool verify_password(std::string_view hash, std::string_view password) {
    if (sodium_init() < 0 || hash.size() >= crypto_pwhash_STRBYTES ||
        !hash.starts_with("$argon2id$"))
        return false;
    char stored[crypto_pwhash_STRBYTES] = {};
    hash.copy(stored, hash.size());
    return crypto_pwhash_str_verify(stored, password.data(), password.size()) == 0;
}

} // namespace keysat::crypto
