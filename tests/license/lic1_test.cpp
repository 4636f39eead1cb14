#include <catch2/catch.hpp>

#include <cctype>
#include <random>

#include <nlohmann/json.hpp>

#include "keysat/crypto/signing.hpp"
#include "keysat/issuing/issue.hpp"
#include "keysat/license/lic1.hpp"
#include "keysat/util/date.hpp"
#include "keysat/util/encoding.hpp"
#include "support/support.hpp"

using namespace keysat;
using nlohmann::json;

namespace {

json vectors() {
    return json::parse(test::slurp(test::fixture("keysat/vector.json")));
}

license::Keyring keysat_ring() {
    auto key = license::parse_public_key(vectors()["publicKeyPem"].get<std::string>());
    REQUIRE(key);
    return {{*key}};
}

// A check at a time when every fixture key is still valid.
license::LicenseCheck at(std::int64_t now) {
    return {now, std::nullopt, std::nullopt};
}

} // namespace

TEST_CASE("Keysat's vector keys decode to exactly the expected fields", "[license]") {
    auto all = vectors();
    for (const char* name : {"v1", "v2", "v2_perpetual_unbound"}) {
        INFO(name);
        const auto& v = all[name];
        const auto& e = v["expected"];
        auto d = license::decode_license_key(v["licenseKey"].get<std::string>());
        REQUIRE(d);
        const auto& p = d->payload;
        CHECK(p.version == e["version"].get<int>());
        CHECK(p.flags == e["flags"].get<int>());
        CHECK(p.product_id.to_string() == e["productUuid"].get<std::string>());
        CHECK(p.license_id.to_string() == e["licenseUuid"].get<std::string>());
        CHECK(p.issued_at == e["issuedAt"].get<std::uint64_t>());
        CHECK(p.expires_at == e["expiresAt"].get<std::uint64_t>());
        CHECK(p.fingerprint_bound() == e["isFingerprintBound"].get<bool>());
        CHECK(p.trial() == e["isTrial"].get<bool>());
        CHECK(p.entitlements == e["entitlements"].get<std::vector<std::string>>());
        CHECK(hex_encode(p.fingerprint_hash) == e["fingerprintHashHex"].get<std::string>());
        auto verified = license::verify_license_key(v["licenseKey"].get<std::string>(),
                                                    keysat_ring(), at(1800000000));
        CHECK(verified);
    }
}

TEST_CASE("v2 payloads re-encode to Keysat's exact bytes and text", "[license]") {
    auto all = vectors();
    for (const char* name : {"v2", "v2_perpetual_unbound"}) {
        INFO(name);
        std::string text = all[name]["licenseKey"].get<std::string>();
        auto d = license::decode_license_key(text);
        REQUIRE(d);
        auto raw = license::encode_payload(d->payload);
        REQUIRE(raw);
        CHECK(*raw == d->raw_payload);
        CHECK(license::format_license_key(*raw, d->signature) == text);
    }
}

TEST_CASE("issuing is byte-exact: same fields, same key, same output", "[license]") {
    auto seed = test::unhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
    auto key = crypto::SecretKey::from_seed(std::span<const std::uint8_t, 32>(seed.data(), 32), {});
    issuing::LicenseRequest req;
    req.product_id = *Uuid::parse("6f46a4f6-0d2f-4a28-b6aa-3e8fbf6f28f0");
    req.license_id = *Uuid::parse("aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee");
    req.issued_at = 1700000000;
    req.expires_at = 1900000000;
    req.trial = true;
    req.fingerprint = "test-machine-fingerprint";
    req.entitlements = {"pro", "multi-device"};
    auto lic = issuing::issue_license(key, req);
    REQUIRE(lic);
    // The payload part is Keysat's v2 vector's (same fields); only the signer differs.
    auto keysat_v2 = vectors()["v2"]["licenseKey"].get<std::string>();
    CHECK(lic->substr(0, lic->rfind('-')) == keysat_v2.substr(0, keysat_v2.rfind('-')));
    CHECK(*issuing::issue_license(key, req) == *lic);
    license::Keyring ring{{key.public_key()}};
    CHECK(license::verify_license_key(*lic, ring, at(1800000000)));
    CHECK_FALSE(license::verify_license_key(*lic, keysat_ring(), at(1800000000)));
}

TEST_CASE("parsing trims whitespace and ignores case", "[license]") {
    auto text = vectors()["v2"]["licenseKey"].get<std::string>();
    std::string lower = text;
    for (auto& c : lower)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    CHECK(license::verify_license_key("  " + lower + "\r\n", keysat_ring(), at(1800000000)));
}

TEST_CASE("offline expiry: expired exactly at expires_at", "[license]") {
    auto text = vectors()["v2"]["licenseKey"].get<std::string>();
    CHECK(license::verify_license_key(text, keysat_ring(), at(1899999999)));
    auto r = license::verify_license_key(text, keysat_ring(), at(1900000000));
    REQUIRE_FALSE(r);
    CHECK(r.error().code == Errc::invalid);
    CHECK_THAT(r.error().message, Catch::Contains("expired"));
    // Perpetual keys never expire.
    auto perpetual = vectors()["v2_perpetual_unbound"]["licenseKey"].get<std::string>();
    CHECK(license::verify_license_key(perpetual, keysat_ring(), at(4000000000)));
}

TEST_CASE("product and fingerprint checks", "[license]") {
    auto text = vectors()["v2"]["licenseKey"].get<std::string>();
    auto check = at(1800000000);
    check.product_id = Uuid::parse("6f46a4f6-0d2f-4a28-b6aa-3e8fbf6f28f0");
    check.fingerprint = "test-machine-fingerprint";
    CHECK(license::verify_license_key(text, keysat_ring(), check));
    auto wrong_product = check;
    wrong_product.product_id = Uuid::parse("6f46a4f6-0d2f-4a28-b6aa-3e8fbf6f28f1");
    CHECK_FALSE(license::verify_license_key(text, keysat_ring(), wrong_product));
    auto wrong_machine = check;
    wrong_machine.fingerprint = "another-machine";
    CHECK_FALSE(license::verify_license_key(text, keysat_ring(), wrong_machine));
    auto unbound = vectors()["v2_perpetual_unbound"]["licenseKey"].get<std::string>();
    CHECK_FALSE(license::verify_license_key(unbound, keysat_ring(), check));
}

TEST_CASE("a keyring accepts a key signed by any of its keys", "[license]") {
    auto text = vectors()["v1"]["licenseKey"].get<std::string>();
    auto other = crypto::SecretKey::generate();
    license::Keyring ring{{other.public_key(), keysat_ring().keys[0]}};
    auto r = license::verify_license_key(text, ring, at(1800000000));
    REQUIRE(r);
    CHECK(r->key_index == 1);
    CHECK_FALSE(license::verify_license_key(text, {{other.public_key()}}, at(1800000000)));
}

TEST_CASE("every single-bit flip of payload or signature is rejected", "[license]") {
    for (const char* name : {"v1", "v2"}) {
        auto text = vectors()[name]["licenseKey"].get<std::string>();
        auto d = *license::decode_license_key(text);
        for (std::size_t bit = 0; bit < d.raw_payload.size() * 8; ++bit) {
            auto p = d.raw_payload;
            p[bit / 8] ^= static_cast<std::uint8_t>(1u << (bit % 8));
            CHECK_FALSE(license::verify_license_key(license::format_license_key(p, d.signature),
                                                    keysat_ring(), at(1800000000)));
        }
        for (std::size_t bit = 0; bit < 512; ++bit) {
            auto s = d.signature;
            s[bit / 8] ^= static_cast<std::uint8_t>(1u << (bit % 8));
            CHECK_FALSE(license::verify_license_key(license::format_license_key(d.raw_payload, s),
                                                    keysat_ring(), at(1800000000)));
        }
    }
}

TEST_CASE("every single-bit flip of the key text is rejected, but for letter case", "[license]") {
    // The format decodes case-insensitively, so flipping bit 5 of a letter spells the same key.
    auto text = vectors()["v2"]["licenseKey"].get<std::string>();
    std::size_t rejected = 0, same_key = 0;
    for (std::size_t i = 0; i < text.size(); ++i)
        for (int bit = 0; bit < 8; ++bit) {
            std::string t = text;
            t[i] = static_cast<char>(t[i] ^ (1 << bit));
            bool case_flip = bit == 5 && std::isalpha(static_cast<unsigned char>(text[i]));
            auto r = license::verify_license_key(t, keysat_ring(), at(1800000000));
            if (case_flip) {
                CHECK(r);
                ++same_key;
            } else {
                CHECK_FALSE(r);
                ++rejected;
            }
        }
    CHECK(rejected > 7 * text.size());
    CHECK(same_key > 0);
}

TEST_CASE("strict parsing rejects extension bytes, unknown flags and versions", "[license]") {
    auto key = crypto::SecretKey::generate();
    license::Keyring ring{{key.public_key()}};
    auto d = *license::decode_license_key(vectors()["v2"]["licenseKey"].get<std::string>());
    auto signed_text = [&](Bytes p) { return license::format_license_key(p, key.sign(p)); };

    auto extended = d.raw_payload;
    extended.push_back(0x42);
    auto r = license::verify_license_key(signed_text(extended), ring, at(1800000000));
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Catch::Contains("extension bytes"));
    auto lenient = license::decode_license_key(signed_text(extended), license::Strictness::lenient);
    REQUIRE(lenient);
    CHECK(lenient->extension_bytes == 1);

    auto flagged = d.raw_payload;
    flagged[1] |= 0x80;
    CHECK_FALSE(license::verify_license_key(signed_text(flagged), ring, at(1800000000)));

    auto v3 = d.raw_payload;
    v3[0] = 3;
    CHECK_FALSE(license::verify_license_key(signed_text(v3), ring, at(1800000000)));

    auto truncated = d.raw_payload;
    truncated.resize(truncated.size() - 2); // cuts into the entitlement list
    CHECK_FALSE(license::verify_license_key(signed_text(truncated), ring, at(1800000000)));

    Bytes v1_long(75, 0);
    v1_long[0] = 1;
    CHECK_FALSE(license::verify_license_key(signed_text(v1_long), ring, at(1800000000)));
}

TEST_CASE("garbage never crashes the license parser", "[license]") {
    std::mt19937 rng(7);
    auto ring = keysat_ring();
    const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567-lic1 =\n";
    for (int i = 0; i < 3000; ++i) {
        std::string s;
        std::size_t len = rng() % 300;
        for (std::size_t k = 0; k < len; ++k)
            s += (i % 2 == 0) ? static_cast<char>(rng()) : alphabet[rng() % alphabet.size()];
        if (i % 3 == 0)
            s = "LIC1-" + s;
        CHECK_FALSE(license::verify_license_key(s, ring, at(1800000000)));
        (void)license::decode_license_key(s, license::Strictness::lenient);
    }
    // Random payloads that are well-formed base32 exercise the binary parser itself.
    for (int i = 0; i < 3000; ++i) {
        Bytes p(rng() % 200);
        for (auto& b : p)
            b = static_cast<std::uint8_t>(rng());
        if (!p.empty())
            p[0] = static_cast<std::uint8_t>(1 + rng() % 2);
        crypto::Signature sig{};
        auto text = license::format_license_key(p, sig);
        CHECK_FALSE(license::verify_license_key(text, ring, at(1800000000)));
        (void)license::decode_license_key(text, license::Strictness::lenient);
    }
}

TEST_CASE("an unverified key's times print even at the ends of u64", "[license]") {
    // tests/fuzz/regressions/lic1/issued-at-near-int64-min: issued_at is 2^63, which
    // `keysat-verify inspect` formats as an int64; the date arithmetic overflowed.
    const std::string key =
        "LIC1-AIAG6RVE6YGS6SRIW2VD5AAAAAD57GOCEIVKVKVKVKVIAAAAAAZK3TEAAAAAAAAAAAAAAAAAAAA"
        "AAAAAAAAAAAAKVIAAAAAAZKT3EAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAN4UPAEIRCEISEIS"
        "DGOCEIVKVKVKVKVIAAAAAAZK3TEAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAKVIAAAAAAZKT3EAAAAAAA"
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA-TDT7WZYACBWBG2IYAV57YPC2XKUGUX2R4A7DO666NCJZMP"
        "BMQDPSEZTFY6LIINYI2PYHBBCSQU5QWLEXNAR7NMDZVNO4S3V3MEELQDY";
    auto strict = license::decode_license_key(key);
    REQUIRE_FALSE(strict);
    CHECK_THAT(strict.error().message, Catch::Contains("extension bytes"));
    auto d = license::decode_license_key(key, license::Strictness::lenient);
    REQUIRE(d);
    CHECK(d->payload.issued_at == std::uint64_t{1} << 63);
    CHECK(format_timestamp(static_cast<std::int64_t>(d->payload.issued_at)) ==
          "-292277022657-01-27T08:29:52Z");
}
