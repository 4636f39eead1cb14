#include <catch2/catch.hpp>

#include <sstream>

#include "keysat/crypto/hash.hpp"
#include "keysat/crypto/signing.hpp"
#include "keysat/util/encoding.hpp"
#include "support/support.hpp"

using namespace keysat;
using keysat::test::unhex;

namespace {

struct Rfc8032Vector {
    std::string name;
    Bytes seed, public_key, message, signature;
};

// Reads tests/fixtures/rfc8032/rfc8032.txt: blocks of "TEST", "SECRET KEY:", "PUBLIC KEY:",
// "MESSAGE (...):" and "SIGNATURE:" lines.
std::vector<Rfc8032Vector> load_vectors() {
    std::istringstream in(test::slurp(test::fixture("rfc8032/rfc8032.txt")));
    std::vector<Rfc8032Vector> out;
    std::string line;
    auto value = [](const std::string& l) {
        auto colon = l.find(':');
        return std::string(trim(std::string_view(l).substr(colon + 1)));
    };
    while (std::getline(in, line)) {
        if (line.starts_with("TEST "))
            out.push_back({line, {}, {}, {}, {}});
        else if (line.starts_with("SECRET KEY:"))
            out.back().seed = unhex(value(line));
        else if (line.starts_with("PUBLIC KEY:"))
            out.back().public_key = unhex(value(line));
        else if (line.starts_with("MESSAGE"))
            out.back().message = unhex(value(line));
        else if (line.starts_with("SIGNATURE:"))
            out.back().signature = unhex(value(line));
    }
    return out;
}

crypto::SecretKey key_from_seed(const Bytes& seed) {
    return crypto::SecretKey::from_seed(std::span<const std::uint8_t, 32>(seed.data(), 32), {});
}

} // namespace

TEST_CASE("RFC 8032 Ed25519 test vectors sign and verify byte for byte", "[crypto]") {
    auto vectors = load_vectors();
    REQUIRE(vectors.size() >= 5);
    for (const auto& v : vectors) {
        INFO(v.name);
        REQUIRE(v.seed.size() == 32);
        auto key = key_from_seed(v.seed);
        CHECK(Bytes(key.public_key().bytes.begin(), key.public_key().bytes.end()) == v.public_key);
        auto sig = key.sign(v.message);
        CHECK(Bytes(sig.begin(), sig.end()) == v.signature);
        CHECK(crypto::verify(key.public_key(), v.message, sig));
        Bytes tampered = v.message;
        tampered.push_back(0);
        CHECK_FALSE(crypto::verify(key.public_key(), tampered, sig));
    }
}

TEST_CASE("every single-bit flip of a signature is rejected", "[crypto]") {
    auto key = crypto::SecretKey::generate();
    auto msg = as_bytes("keysat");
    auto sig = key.sign(msg);
    for (std::size_t bit = 0; bit < sig.size() * 8; ++bit) {
        auto bad = sig;
        bad[bit / 8] ^= static_cast<std::uint8_t>(1u << (bit % 8));
        CHECK_FALSE(crypto::verify(key.public_key(), msg, bad));
    }
}

TEST_CASE("secret keys are consistent only with their own public half", "[crypto]") {
    auto key = crypto::SecretKey::generate();
    std::array<std::uint8_t, 64> secret;
    std::copy(key.secret_bytes().begin(), key.secret_bytes().end(), secret.begin());
    CHECK(crypto::secret_is_consistent(secret));
    secret[40] ^= 1;
    CHECK_FALSE(crypto::secret_is_consistent(secret));
}

TEST_CASE("hashes match known values", "[crypto]") {
    CHECK(hex_encode(crypto::sha256(as_bytes("test-machine-fingerprint"))) ==
          "d34461ff63170de633b5aa2512ce2e15ac120b1c325acdada67c02e594ba3b3d");
    // BLAKE2b-512("abc") from RFC 7693 appendix A.
    crypto::Blake2b512Stream h;
    h.update(as_bytes("a"));
    h.update(as_bytes("bc"));
    CHECK(hex_encode(h.finish()) ==
          "ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d17d87c5392aab792dc252d5de"
          "4533cc9518d38aa8dbf1925ab92386edd4009923");
}

TEST_CASE("hashing a file streams it in chunks and matches the one-shot hash", "[crypto]") {
    // Small files go through libsodium, large ones (4 MiB on) through OpenSSL: every size around
    // the switch and around both read sizes gives the digest of the whole content.
    test::TempDir dir;
    std::string all(9 * (1 << 20) + 12345, '\0');
    for (std::size_t i = 0; i < all.size(); ++i)
        all[i] = static_cast<char>(i * 7 + (i >> 11));
    for (std::size_t size : {std::size_t{0}, std::size_t{3}, std::size_t{65536}, std::size_t{65537},
                             std::size_t{(4 << 20) - 1}, std::size_t{4 << 20},
                             std::size_t{(4 << 20) + 1}, all.size()}) {
        INFO("size " << size);
        std::string content = all.substr(0, size);
        test::spit(dir / "f", content);
        crypto::Blake2b512Stream h;
        h.update(as_bytes(content));
        auto file_digest = crypto::blake2b_512_file(dir / "f");
        REQUIRE(file_digest);
        CHECK(*file_digest == h.finish());
    }
    CHECK_FALSE(crypto::blake2b_512_file(dir / "missing"));
}
