#include <catch2/catch.hpp>

#include <random>

#include "keysat/issuing/issue.hpp"
#include "keysat/license/minisig.hpp"
#include "keysat/util/encoding.hpp"
#include "support/support.hpp"

using namespace keysat;

namespace {

license::Keyring fixture_ring() {
    auto k = license::load_public_key(test::fixture("minisign/test.pub").string());
    REQUIRE(k);
    return {{*k}};
}

Expected<license::VerifiedFile> verify_with(const std::filesystem::path& file,
                                            const std::string& sig_text,
                                            const license::Keyring& ring) {
    KEYSAT_TRY_ASSIGN(sig, license::parse_signature_file(sig_text));
    return license::verify_file(file, sig, ring);
}

} // namespace

TEST_CASE("minisign's own signatures verify: prehashed, legacy and default comment", "[license]") {
    for (const char* name : {"msg.txt", "msg-legacy.txt", "msg-default.txt"}) {
        INFO(name);
        auto file = test::fixture(std::string("minisign/") + name);
        auto sig_text = test::slurp(file.string() + ".minisig");
        auto r = verify_with(file, sig_text, fixture_ring());
        REQUIRE(r);
    }
    auto legacy = license::parse_signature_file(
        test::slurp(test::fixture("minisign/msg-legacy.txt.minisig")));
    REQUIRE(legacy);
    CHECK(legacy->alg == license::SigAlg::legacy);
    CHECK(legacy->trusted_comment == "legacy test vector");
}

TEST_CASE("a signature is rejected for another file, key or comment", "[license]") {
    auto ring = fixture_ring();
    auto sig_text = test::slurp(test::fixture("minisign/msg.txt.minisig"));
    // Another file.
    CHECK_FALSE(verify_with(test::fixture("minisign/msg-legacy.txt.minisig"), sig_text, ring));
    // Another key with the same key id: the signature check itself must fail.
    auto other = crypto::SecretKey::generate();
    license::PublicKey impostor = other.public_key();
    impostor.key_id = ring.keys[0].key_id;
    CHECK_FALSE(verify_with(test::fixture("minisign/msg.txt"), sig_text, {{impostor}}));
    // A key with another id is not even tried.
    auto r = verify_with(test::fixture("minisign/msg.txt"), sig_text, {{other.public_key()}});
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Catch::Contains("key id"));
    // An edited trusted comment.
    auto edited = sig_text;
    edited.replace(edited.find("test vector"), 4, "best");
    auto e = verify_with(test::fixture("minisign/msg.txt"), edited, ring);
    REQUIRE_FALSE(e);
    CHECK_THAT(e.error().message, Catch::Contains("trusted comment"));
}

TEST_CASE("signature files with CRLF or no final newline are read", "[license]") {
    auto text = test::slurp(test::fixture("minisign/msg.txt.minisig"));
    std::string crlf;
    for (char c : text)
        crlf += c == '\n' ? std::string("\r\n") : std::string(1, c);
    CHECK(verify_with(test::fixture("minisign/msg.txt"), crlf, fixture_ring()));
    text.pop_back();
    CHECK(verify_with(test::fixture("minisign/msg.txt"), text, fixture_ring()));
}

TEST_CASE("every single-bit flip of a signature file is rejected", "[license]") {
    auto ring = fixture_ring();
    auto file = test::fixture("minisign/msg.txt");
    auto text = test::slurp(file.string() + ".minisig");
    auto untrusted_end = text.find('\n');
    for (std::size_t i = untrusted_end + 1; i < text.size(); ++i)
        for (int bit = 0; bit < 8; ++bit) {
            std::string t = text;
            t[i] = static_cast<char>(t[i] ^ (1 << bit));
            CHECK_FALSE(verify_with(file, t, ring));
        }
}

TEST_CASE("signing then verifying round-trips, both algorithms", "[license]") {
    test::TempDir dir;
    auto key = crypto::SecretKey::generate();
    license::Keyring ring{{key.public_key()}};
    test::spit(dir / "data.bin", std::string(100000, 'x'));
    for (auto pre : {issuing::Prehash::yes, issuing::Prehash::no}) {
        auto sig = issuing::sign_file(key, dir / "data.bin", pre, "", 1700000000);
        REQUIRE(sig);
        CHECK(sig->trusted_comment == (pre == issuing::Prehash::yes
                                           ? "timestamp:1700000000\tfile:data.bin\thashed"
                                           : "timestamp:1700000000\tfile:data.bin"));
        auto text = license::format_signature_file(*sig);
        CHECK(verify_with(dir / "data.bin", text, ring));
        test::spit(dir / "other.bin", std::string(100000, 'y'));
        CHECK_FALSE(verify_with(dir / "other.bin", text, ring));
    }
    CHECK_FALSE(
        issuing::sign_file(key, dir / "data.bin", issuing::Prehash::yes, "bad\ncomment", 0));
    CHECK_FALSE(issuing::sign_file(key, dir / "missing", issuing::Prehash::yes, "", 0));
}

TEST_CASE("malformed signature files are rejected with a reason", "[license]") {
    auto good = test::slurp(test::fixture("minisign/msg.txt.minisig"));
    CHECK_FALSE(license::parse_signature_file(""));
    CHECK_FALSE(license::parse_signature_file("untrusted comment: x\n"));
    CHECK_FALSE(license::parse_signature_file(good + "extra line\n"));
    std::string no_prefix = good;
    no_prefix.replace(no_prefix.find("trusted comment: test"), 17, "trusted-comment: ");
    CHECK_FALSE(license::parse_signature_file(no_prefix));
    std::string long_comment =
        "untrusted comment: " + std::string(2000, 'a') + good.substr(good.find('\n'));
    CHECK_FALSE(license::parse_signature_file(long_comment));
    // A second CR before the LF stays in the comment and would be lost when the file is rewritten.
    std::string stray_cr = good;
    stray_cr.insert(stray_cr.find('\n'), "\r\r");
    auto e = license::parse_signature_file(stray_cr);
    REQUIRE_FALSE(e);
    CHECK_THAT(e.error().message, Catch::Contains("carriage return"));
}

TEST_CASE("garbage never crashes the signature file and public key parsers", "[license]") {
    std::mt19937 rng(5);
    auto good = test::slurp(test::fixture("minisign/msg.txt.minisig"));
    auto pub = test::slurp(test::fixture("minisign/test.pub"));
    for (int i = 0; i < 3000; ++i) {
        std::string junk(rng() % 400, '\0');
        for (auto& c : junk)
            c = static_cast<char>(rng());
        CHECK_FALSE(license::parse_signature_file(junk));
        (void)license::parse_public_key(junk);
        // Truncations and splices of real files.
        std::string cut = good.substr(0, rng() % good.size()) + junk.substr(0, rng() % 8);
        if (cut != good && cut + "\n" != good)
            (void)license::parse_signature_file(cut);
        (void)license::parse_public_key(pub.substr(0, rng() % pub.size()));
    }
}
