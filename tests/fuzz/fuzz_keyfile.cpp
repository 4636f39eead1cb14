// Secret key files and imports (issuing/keyfile.cpp): minisign secret key files, PKCS#8 PEM,
// hex seeds.
//
// Properties: a key read from an unencrypted file is written back and read again as the same
// key pair and key id; an encrypted file asks for its passphrase before anything else is
// derived (the source here refuses, so no scrypt runs, whatever cost the file asks for);
// imports give consistent key pairs.

#include "fuzz_support.hpp"
#include "keysat/issuing/keyfile.hpp"

using namespace keysat;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view text = fuzz::as_text(data, size);
    bool asked = false;
    auto refuse = [&]() -> Expected<std::string> {
        asked = true;
        return usage_error("no passphrase in the fuzzer");
    };
    bool encrypted = issuing::secret_key_file_is_encrypted(text);
    auto key = issuing::parse_secret_key_file(text, refuse);
    FUZZ_CHECK(!(key && asked));
    FUZZ_CHECK(!asked || encrypted); // only an encrypted file asks
    FUZZ_CHECK(!encrypted || !key);
    if (key) {
        auto file = issuing::format_secret_key_file(
            *key, issuing::Encrypt::no, "", issuing::kdf_limits(issuing::KdfStrength::interactive));
        FUZZ_CHECK(file);
        auto again = issuing::parse_secret_key_file(*file, refuse);
        FUZZ_CHECK(again);
        FUZZ_CHECK(again->public_key().bytes == key->public_key().bytes);
        FUZZ_CHECK(again->key_id() == key->key_id());
        FUZZ_CHECK(!issuing::secret_key_file_is_encrypted(*file));
    }
    auto check_pair = [](const Expected<crypto::SecretKey>& imported) {
        if (!imported)
            return;
        Bytes message{'k', 'e', 'y'};
        FUZZ_CHECK(crypto::verify(imported->public_key(), message, imported->sign(message)));
    };
    check_pair(issuing::import_pkcs8_pem(text));
    check_pair(issuing::import_seed_hex(text));
    return 0;
}
