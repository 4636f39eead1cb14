#include <catch2/catch.hpp>

#include <random>

#include "keysat/util/encoding.hpp"

using namespace keysat;

namespace {
std::string decode_text(const std::optional<Bytes>& b) {
    REQUIRE(b);
    return std::string(b->begin(), b->end());
}
} // namespace

TEST_CASE("base32 matches RFC 4648 vectors without padding", "[util]") {
    CHECK(base32_encode(as_bytes("")) == "");
    CHECK(base32_encode(as_bytes("f")) == "MY");
    CHECK(base32_encode(as_bytes("fo")) == "MZXQ");
    CHECK(base32_encode(as_bytes("foo")) == "MZXW6");
    CHECK(base32_encode(as_bytes("foob")) == "MZXW6YQ");
    CHECK(base32_encode(as_bytes("fooba")) == "MZXW6YTB");
    CHECK(base32_encode(as_bytes("foobar")) == "MZXW6YTBOI");
    CHECK(decode_text(base32_decode("MZXW6YTBOI")) == "foobar");
    CHECK(decode_text(base32_decode("mzxw6ytboi")) == "foobar"); // case-insensitive
    CHECK(decode_text(base32_decode("MZXW6YQ=")) == "foob");     // padding tolerated
}

TEST_CASE("base32 rejects foreign characters and non-canonical tails", "[util]") {
    CHECK_FALSE(base32_decode("MZXW1"));  // '1' is not in the alphabet
    CHECK_FALSE(base32_decode("MZXW6 ")); // space
    CHECK(base32_decode("MY"));
    CHECK_FALSE(base32_decode("MZ"));     // "f" with non-zero padding bits
    CHECK_FALSE(base32_decode("MZXW6Y")); // 30 bits: a whole extra character
}

TEST_CASE("base64 and base64url match RFC 4648 vectors", "[util]") {
    CHECK(base64_encode(as_bytes("foobar")) == "Zm9vYmFy");
    CHECK(base64_encode(as_bytes("fooba")) == "Zm9vYmE=");
    CHECK(base64_encode(as_bytes("foob")) == "Zm9vYg==");
    CHECK(decode_text(base64_decode("Zm9vYg==")) == "foob");
    Bytes bin{0xfb, 0xff, 0xfe};
    CHECK(base64_encode(bin) == "+//+");
    CHECK(base64url_encode(bin) == "-__-");
    CHECK(base64url_encode(as_bytes("foob")) == "Zm9vYg");
    CHECK(*base64url_decode("-__-") == bin);
}

TEST_CASE("base64 decoders are strict", "[util]") {
    CHECK_FALSE(base64_decode("Zm9vYg"));      // missing padding
    CHECK_FALSE(base64_decode("Zm9vYh=="));    // non-zero trailing bits
    CHECK_FALSE(base64_decode("Zm9v Yg=="));   // whitespace
    CHECK_FALSE(base64_decode("-__-"));        // url alphabet in standard base64
    CHECK_FALSE(base64url_decode("Zm9vYg==")); // padding in base64url
    CHECK_FALSE(base64url_decode("+//+"));
    CHECK_FALSE(base64url_decode("Zm9vY")); // a dangling digit
    CHECK_FALSE(base64url_decode("Zm9vYh"));
}

TEST_CASE("encodings round-trip random bytes of every length", "[util]") {
    std::mt19937 rng(42);
    for (std::size_t len = 0; len < 200; ++len) {
        Bytes data(len);
        for (auto& b : data)
            b = static_cast<std::uint8_t>(rng());
        CHECK(*base32_decode(base32_encode(data)) == data);
        CHECK(*base64_decode(base64_encode(data)) == data);
        CHECK(*base64url_decode(base64url_encode(data)) == data);
        CHECK(*hex_decode(hex_encode(data)) == data);
    }
}

TEST_CASE("hex decodes either case and rejects odd or foreign input", "[util]") {
    CHECK(*hex_decode("00ffAb") == Bytes{0x00, 0xff, 0xab});
    CHECK_FALSE(hex_decode("abc"));
    CHECK_FALSE(hex_decode("zz"));
}

TEST_CASE("UTF-8 validation", "[util]") {
    CHECK(is_valid_utf8("plain"));
    CHECK(is_valid_utf8("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x91"));
    CHECK_FALSE(is_valid_utf8("\xc3"));         // truncated
    CHECK_FALSE(is_valid_utf8("\xc0\xaf"));     // overlong
    CHECK_FALSE(is_valid_utf8("\xed\xa0\x80")); // surrogate
    CHECK_FALSE(is_valid_utf8("\xff"));
}
