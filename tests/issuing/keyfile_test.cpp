#include <catch2/catch.hpp>

#include <random>

#include "keysat/issuing/keyfile.hpp"
#include "keysat/license/pubkey.hpp"
#include "keysat/util/encoding.hpp"
#include "support/support.hpp"

using namespace keysat;

namespace {

issuing::PassphraseSource passphrase(std::string p) {
    return [p] { return Expected<std::string>(p); };
}

// For keys that must not ask: the test fails if they do.
Expected<std::string> no_passphrase() {
    FAIL("passphrase asked for an unencrypted key");
    return usage_error("unreachable");
}

const char* k_rfc_seed = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
const char* k_rfc_public = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";

} // namespace

TEST_CASE("minisign -W key with an all-zero checksum reads without a passphrase", "[issuing]") {
    auto key = issuing::parse_secret_key_file(test::slurp(test::fixture("minisign/test.key")),
                                              no_passphrase);
    REQUIRE(key);
    auto pub = license::load_public_key(test::fixture("minisign/test.pub").string());
    REQUIRE(pub);
    CHECK(key->public_key().bytes == pub->bytes);
    CHECK(key->key_id() == *pub->key_id);
}

TEST_CASE("minisign's encrypted key opens with its passphrase only", "[issuing][slow]") {
    auto text = test::slurp(test::fixture("minisign/encrypted/enc.key"));
    CHECK(issuing::secret_key_file_is_encrypted(text));
    auto key = issuing::parse_secret_key_file(text, passphrase("test"));
    REQUIRE(key);
    auto pub = license::load_public_key(test::fixture("minisign/encrypted/enc.pub").string());
    REQUIRE(pub);
    CHECK(key->public_key().bytes == pub->bytes);
    auto wrong = issuing::parse_secret_key_file(text, passphrase("tset"));
    REQUIRE_FALSE(wrong);
    CHECK(wrong.error().code == Errc::usage);
    CHECK_THAT(wrong.error().message, Catch::Contains("wrong passphrase"));
}

TEST_CASE("secret key files round-trip, encrypted and not", "[issuing]") {
    auto key = crypto::SecretKey::generate();
    auto limits = issuing::kdf_limits(issuing::KdfStrength::interactive);
    auto enc = issuing::format_secret_key_file(key, issuing::Encrypt::yes, "correct horse", limits);
    REQUIRE(enc);
    auto back = issuing::parse_secret_key_file(*enc, passphrase("correct horse"));
    REQUIRE(back);
    CHECK(back->public_key().bytes == key.public_key().bytes);
    CHECK(back->key_id() == key.key_id());
    auto wrong = issuing::parse_secret_key_file(*enc, passphrase("wrong horse"));
    REQUIRE_FALSE(wrong);
    CHECK_THAT(wrong.error().message, Catch::Contains("wrong passphrase"));

    auto plain = issuing::format_secret_key_file(key, issuing::Encrypt::no, "", limits);
    REQUIRE(plain);
    CHECK_FALSE(issuing::secret_key_file_is_encrypted(*plain));
    CHECK(issuing::parse_secret_key_file(*plain, no_passphrase));
    CHECK_FALSE(issuing::format_secret_key_file(key, issuing::Encrypt::yes, "", limits));
}

TEST_CASE("corrupted secret key files are clean errors", "[issuing]") {
    auto key = crypto::SecretKey::generate();
    auto plain = *issuing::format_secret_key_file(
        key, issuing::Encrypt::no, "", issuing::kdf_limits(issuing::KdfStrength::interactive));
    auto line_start = plain.find('\n') + 1;
    // Flip one bit of the decoded key material (inside the secret key bytes).
    auto raw = *base64_decode(trim(std::string_view(plain).substr(line_start)));
    raw[70] ^= 1;
    auto corrupted = plain.substr(0, line_start) + base64_encode(raw) + "\n";
    auto r = issuing::parse_secret_key_file(corrupted, no_passphrase);
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Catch::Contains("checksum"));
    for (const char* bad : {"", "untrusted comment: x\n", "untrusted comment: x\nAAAA\n", "RWQAAA"})
        CHECK_FALSE(issuing::parse_secret_key_file(bad, no_passphrase));
}

TEST_CASE("PKCS#8 PEM and hex seed imports derive the RFC 8032 public key", "[issuing]") {
    Bytes der = test::unhex("302e020100300506032b657004220420");
    auto seed = test::unhex(k_rfc_seed);
    der.insert(der.end(), seed.begin(), seed.end());
    std::string pem =
        "-----BEGIN PRIVATE KEY-----\n" + base64_encode(der) + "\n-----END PRIVATE KEY-----\n";
    auto k = issuing::import_pkcs8_pem(pem);
    REQUIRE(k);
    CHECK(hex_encode(k->public_key().bytes) == k_rfc_public);
    auto s = issuing::import_seed_hex(k_rfc_seed);
    REQUIRE(s);
    CHECK(hex_encode(s->public_key().bytes) == k_rfc_public);
    CHECK_FALSE(issuing::import_seed_hex("abcd"));
    CHECK_FALSE(issuing::import_seed_hex(std::string(64, 'g')));
    der[9] = 0x71; // Ed448's OID
    CHECK_FALSE(issuing::import_pkcs8_pem("-----BEGIN PRIVATE KEY-----\n" + base64_encode(der) +
                                          "\n-----END PRIVATE KEY-----\n"));
    CHECK_FALSE(issuing::import_pkcs8_pem("no pem here"));
}

TEST_CASE("garbage never crashes the secret key parser", "[issuing]") {
    std::mt19937 rng(3);
    for (int i = 0; i < 2000; ++i) {
        Bytes raw(i % 2 == 0 ? 158 : rng() % 200);
        for (auto& b : raw)
            b = static_cast<std::uint8_t>(rng());
        if (i % 4 == 0 && raw.size() >= 6) { // plausible header, unencrypted: reaches the checksum
            raw[0] = 'E', raw[1] = 'd', raw[2] = 0, raw[3] = 0, raw[4] = 'B', raw[5] = '2';
        }
        auto text = "untrusted comment: fuzz\n" + base64_encode(raw) + "\n";
        CHECK_FALSE(issuing::parse_secret_key_file(
            text, [] { return Expected<std::string>(usage_error("no passphrase in this test")); }));
    }
}
