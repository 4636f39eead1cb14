#pragma once
// Public keys in the forms of formats.md §4 and §3, and keyrings of several trusted keys.

#include <string>
#include <string_view>
#include <vector>

#include "keysat/crypto/ed25519.hpp"
#include "keysat/util/error.hpp"

namespace keysat::license {

using crypto::PublicKey;

enum class PubkeyForm { minisign, pem, hex, base64 };

// Parses a public key given as text, detecting its form by content: a minisign public key file,
// the bare base64 line of one, an SPKI PEM, or 64 hex characters.
Expected<PublicKey> parse_public_key(std::string_view text);

// Reads a public key from `arg`: the path of a file holding one, or the key itself inline.
Expected<PublicKey> load_public_key(const std::string& arg);

// Renders a key. minisign renders the whole two-line file (`comment` is its untrusted comment,
// default "minisign public key <KEYID>"); base64 renders only the minisign base64 line. Forms
// that need a key id (minisign, base64) require the key to have one.
std::string format_public_key(const PublicKey& key, PubkeyForm form, std::string_view comment = {});

// Several trusted keys: anything signed by any of them is good (key rotation).
struct Keyring {
    std::vector<PublicKey> keys;
};

// Loads every `-p` argument into a keyring; an empty list is a usage error.
Expected<Keyring> load_keyring(const std::vector<std::string>& args);

} // namespace keysat::license
