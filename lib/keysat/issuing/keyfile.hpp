#pragma once
// minisign secret key files (formats.md §3), encrypted with scrypt or not, and imports of
// secret keys from other systems (formats.md §4).

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "keysat/crypto/kdf.hpp"
#include "keysat/crypto/signing.hpp"
#include "keysat/util/error.hpp"

namespace keysat::issuing {

using crypto::SecretKey;

// Supplies a passphrase when a key file turns out to be encrypted (prompt, file or environment).
using PassphraseSource = std::function<Expected<std::string>()>;

// scrypt cost stored in the key file. `sensitive` is what minisign writes (about 1 GiB of memory);
// `interactive` is libsodium's interactive level (16 MiB), for tests and low-memory machines.
enum class KdfStrength { sensitive, interactive };

using KdfLimits = crypto::ScryptLimits;
KdfLimits kdf_limits(KdfStrength strength);

enum class Encrypt { yes, no };

// Renders a secret key file. With Encrypt::yes, `passphrase` must not be empty. The checksum is
// always filled.
Expected<std::string> format_secret_key_file(const SecretKey& key, Encrypt encrypt,
                                             std::string_view passphrase, KdfLimits limits,
                                             std::string_view comment = {});

// Parses a secret key file, asking `passphrase` only when the file is encrypted. A wrong
// passphrase or a corrupted file is an error naming the cause; an all-zero checksum in an
// unencrypted file is accepted (minisign -W never fills it).
Expected<SecretKey> parse_secret_key_file(std::string_view text,
                                          const PassphraseSource& passphrase);

// True when the text is a secret key file that needs a passphrase.
bool secret_key_file_is_encrypted(std::string_view text);

// Imports a PKCS#8 PEM Ed25519 private key ("-----BEGIN PRIVATE KEY-----"); a random key id is
// assigned.
Expected<SecretKey> import_pkcs8_pem(std::string_view text);

// Imports a 32-byte seed given as 64 hex characters; a random key id is assigned.
Expected<SecretKey> import_seed_hex(std::string_view hex);

} // namespace keysat::issuing
