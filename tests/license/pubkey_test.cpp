#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "keysat/crypto/signing.hpp"
#include "keysat/license/pubkey.hpp"
#include "keysat/util/encoding.hpp"
#include "support/support.hpp"

using namespace keysat;

TEST_CASE("the four public key forms read the same key", "[license]") {
    auto key = crypto::SecretKey::generate();
    const auto& pk = key.public_key();
    for (auto form : {license::PubkeyForm::minisign, license::PubkeyForm::base64,
                      license::PubkeyForm::pem, license::PubkeyForm::hex}) {
        auto text = license::format_public_key(pk, form);
        auto parsed = license::parse_public_key(text);
        REQUIRE(parsed);
        CHECK(parsed->bytes == pk.bytes);
        bool carries_id =
            form == license::PubkeyForm::minisign || form == license::PubkeyForm::base64;
        CHECK(parsed->key_id.has_value() == carries_id);
        if (carries_id)
            CHECK(*parsed->key_id == key.key_id());
    }
}

TEST_CASE("fixture keys: minisign file, Keysat's SPKI PEM", "[license]") {
    auto mini = license::load_public_key(test::fixture("minisign/test.pub").string());
    REQUIRE(mini);
    CHECK(crypto::key_id_text(*mini->key_id) == "4EBD15E228CBD1DC");
    auto pem =
        nlohmann::json::parse(test::slurp(test::fixture("keysat/vector.json")))["publicKeyPem"];
    auto k = license::parse_public_key(pem.get<std::string>());
    REQUIRE(k);
    CHECK(hex_encode(k->bytes) ==
          "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8");
    CHECK(license::format_public_key(*k, license::PubkeyForm::pem) == pem.get<std::string>());
}

TEST_CASE("bad public keys are rejected", "[license]") {
    for (const char* bad : {"", "RWQ", "not a key", "untrusted comment: x\n",
                            "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----",
                            "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b",
                            // An RSA SPKI header is not Ed25519.
                            "-----BEGIN PUBLIC "
                            "KEY-----\nMCowBQYDK2VxAyEAA6EHv/"
                            "POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg=\n-----END PUBLIC KEY-----"})
        CHECK_FALSE(license::parse_public_key(bad));
    auto missing = license::load_keyring({"/nonexistent/key.pub"});
    REQUIRE_FALSE(missing);
    CHECK(missing.error().code == Errc::usage);
    CHECK_FALSE(license::load_keyring({}));
}
