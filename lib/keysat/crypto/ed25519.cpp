#include "keysat/crypto/ed25519.hpp"

#include <sodium.h>

#include "keysat/crypto/secure.hpp"

namespace keysat::crypto {

bool verify(const PublicKey& key, ByteView message, const Signature& sig) {
    init();
    // The Ed25519 function itself, not the generic crypto_sign_ wrapper: the wrapper's object
    // also holds signing and key generation, which a static keysat-verify must not contain.
    return crypto_sign_ed25519_verify_detached(sig.data(), message.data(), message.size(),
                                               key.bytes.data()) == 0;
}

std::string key_id_text(const KeyId& id) {
    static constexpr char k_digits[] = "0123456789ABCDEF";
    std::string out;
    for (int i = 7; i >= 0; --i) {
        out += k_digits[id[i] >> 4];
        out += k_digits[id[i] & 15];
    }
    return out;
}

} // namespace keysat::crypto
