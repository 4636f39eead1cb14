#include <catch2/catch.hpp>

#include <random>

#include "keysat/crypto/signing.hpp"
#include "keysat/issuing/issue.hpp"
#include "keysat/license/token.hpp"
#include "keysat/util/date.hpp"
#include "keysat/util/encoding.hpp"

using namespace keysat;

namespace {

struct Fixture {
    crypto::SecretKey key = crypto::SecretKey::generate();
    license::Keyring ring{{key.public_key()}};
    license::TokenPayload payload{"acme-app", "2026-05-01", {"pro", "beta"}, "1.2.0"};

    std::string token() { return *issuing::issue_token(key, payload); }
    // A token over arbitrary payload bytes, signed by the fixture key.
    std::string raw_token(const std::string& json) {
        return license::format_token(key.sign(as_bytes(json)), json);
    }
    static license::TokenCheck at(const char* date) { return {*parse_date_unix(date), {}, {}}; }
};

std::string fmt_payload(const std::string& date) {
    return R"({"product":"acme-app","channel_expiry":")" + date + R"(","entitlements":[]})";
}

} // namespace

TEST_CASE("tokens round-trip with the documented JSON", "[license]") {
    Fixture f;
    auto token = f.token();
    auto d = license::decode_token(token);
    REQUIRE(d);
    CHECK(
        d->raw_payload ==
        R"({"product":"acme-app","channel_expiry":"2026-05-01","entitlements":["pro","beta"],"version_floor":"1.2.0"})");
    auto v = license::verify_token(token, f.ring, Fixture::at("2026-04-01"));
    REQUIRE(v);
    CHECK(v->token.payload.product == "acme-app");
    CHECK(v->token.payload.entitlements == std::vector<std::string>{"pro", "beta"});
    CHECK(v->token.payload.version_floor == "1.2.0");
    f.payload.version_floor.reset();
    CHECK(license::decode_token(f.token())->raw_payload.ends_with(R"("version_floor":null})"));
}

TEST_CASE("tokens are valid through the end of the channel expiry day, UTC", "[license]") {
    Fixture f;
    auto token = f.token();
    auto last_second = *parse_date_unix("2026-05-02") - 1;
    CHECK(license::verify_token(token, f.ring, {last_second, {}, {}}));
    auto r = license::verify_token(token, f.ring, {last_second + 1, {}, {}});
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Catch::Contains("expired"));
}

TEST_CASE("product and revocation checks", "[license]") {
    Fixture f;
    auto token = f.token();
    auto check = Fixture::at("2026-01-01");
    check.product = "acme-app";
    CHECK(license::verify_token(token, f.ring, check));
    check.product = "other-app";
    CHECK_FALSE(license::verify_token(token, f.ring, check));
    check.product.reset();
    auto list = license::parse_revocation_list(
        "# revoked\n\n" + license::token_revocation_id(token) + "\n" + std::string(64, 'a') + "\n");
    REQUIRE(list);
    check.revoked = *list;
    auto r = license::verify_token(token, f.ring, check);
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Catch::Contains("revoked"));
    CHECK_FALSE(license::parse_revocation_list("abc\n"));
}

TEST_CASE("malformed channel expiry dates are invalid, never 'not expired'", "[license]") {
    Fixture f;
    for (const char* date :
         {"2026-02-30", "2026-5-01", "2026-05-01T00:00:00Z", "", "9999-99-99", "tomorrow"}) {
        INFO(date);
        auto token = f.raw_token(fmt_payload(date));
        CHECK_FALSE(license::verify_token(token, f.ring, Fixture::at("2020-01-01")));
    }
    CHECK_FALSE(license::verify_token(
        f.raw_token(R"({"product":"a","channel_expiry":20260501,"entitlements":[]})"), f.ring,
        Fixture::at("2020-01-01")));
}

TEST_CASE("token payload shape is checked, unknown fields are ignored", "[license]") {
    Fixture f;
    auto ok = f.raw_token(
        R"({"product":"a","channel_expiry":"2026-05-01","entitlements":[],"kid":"x","license_id":"y"})");
    CHECK(license::verify_token(ok, f.ring, Fixture::at("2026-01-01")));
    for (
        const char* bad : {
            R"({"channel_expiry":"2026-05-01","entitlements":[]})",
            R"({"product":"a","channel_expiry":"2026-05-01"})",
            R"({"product":"a","channel_expiry":"2026-05-01","entitlements":[1]})",
            R"({"product":"a","channel_expiry":"2026-05-01","entitlements":[],"version_floor":"1.2"})",
            R"({"product":"a","channel_expiry":"2026-05-01","entitlements":[],"version_floor":7})",
            R"(["product"])",
            R"({"product":"a",)",
        }) {
        INFO(bad);
        CHECK_FALSE(license::verify_token(f.raw_token(bad), f.ring, Fixture::at("2026-01-01")));
    }
}

TEST_CASE("a payload with a NUL byte is malformed, whatever precedes it", "[license]") {
    // nlohmann's parser stops at a NUL as if the text ended there (found by tests/fuzz in bulk
    // JSON lines); a signed payload must still be JSON as a whole.
    Fixture f;
    std::string json = R"({"product":"a","channel_expiry":"2026-05-01","entitlements":[]})";
    auto token = f.raw_token(json + std::string(1, '\0') + "junk");
    CHECK_FALSE(license::decode_token(token));
    auto r = license::verify_token(token, f.ring, Fixture::at("2026-01-01"));
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Catch::Contains("not a JSON object"));
    CHECK(license::verify_token(f.raw_token(json), f.ring, Fixture::at("2026-01-01")));
}

TEST_CASE("short, padded or re-encoded tokens are malformed", "[license]") {
    Fixture f;
    auto token = f.token();
    // 64 bytes or fewer after decoding.
    CHECK_FALSE(license::decode_token(base64url_encode(Bytes(64, 1))));
    // Padding or whitespace would give the same bytes another spelling, dodging revocation.
    std::size_t rem = (64 + license::decode_token(token)->raw_payload.size()) % 3;
    if (rem != 0)
        CHECK_FALSE(license::verify_token(token + std::string(3 - rem, '='), f.ring,
                                          Fixture::at("2026-01-01")));
    CHECK_FALSE(license::verify_token(token + "\n", f.ring, Fixture::at("2026-01-01")));
}

TEST_CASE("every single-bit flip of a token is rejected", "[license]") {
    Fixture f;
    auto token = f.token();
    auto check = Fixture::at("2026-01-01");
    REQUIRE(license::verify_token(token, f.ring, check));
    for (std::size_t i = 0; i < token.size(); ++i)
        for (int bit = 0; bit < 8; ++bit) {
            std::string t = token;
            t[i] = static_cast<char>(t[i] ^ (1 << bit));
            CHECK_FALSE(license::verify_token(t, f.ring, check));
        }
}

TEST_CASE("garbage never crashes the token parser", "[license]") {
    Fixture f;
    std::mt19937 rng(11);
    for (int i = 0; i < 3000; ++i) {
        Bytes raw(rng() % 300);
        for (auto& b : raw)
            b = static_cast<std::uint8_t>(rng());
        auto text = base64url_encode(raw);
        CHECK_FALSE(license::verify_token(text, f.ring, Fixture::at("2026-01-01")));
        (void)license::decode_token(text);
        std::string junk(rng() % 100, '\0');
        for (auto& c : junk)
            c = static_cast<char>(rng());
        (void)license::decode_token(junk);
    }
}

TEST_CASE("version floors are x.y.z", "[license]") {
    CHECK(license::is_version_triple("1.2.3"));
    CHECK(license::is_version_triple("0.10.0"));
    for (const char* bad : {"1.2", "1.2.3.4", "01.2.3", "1..3", "1.2.x", "", "1.2.3-rc1"})
        CHECK_FALSE(license::is_version_triple(bad));
}
