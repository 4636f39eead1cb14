// The release gate's model: safe names, version order, containment, manifests, revocation
// lists and the download decision, without HTTP.

#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <thread>

#include <nlohmann/json.hpp>

#include "keysat/crypto/hash.hpp"
#include "keysat/crypto/uuid_gen.hpp"
#include "keysat/gate/access.hpp"
#include "keysat/gate/layout.hpp"
#include "keysat/gate/revocations.hpp"
#include "keysat/issuing/issue.hpp"
#include "keysat/license/token.hpp"
#include "keysat/util/date.hpp"
#include "keysat/util/encoding.hpp"
#include "support/support.hpp"

using namespace keysat;
using nlohmann::json;
namespace fs = std::filesystem;

TEST_CASE("gate segments: a strict allow-list", "[gate]") {
    for (const char* ok : {"app", "1.2.3", "1.0.0-rc.1", "x86_64-unknown-linux-gnu", "v2",
                           "aarch64-apple-darwin.minisig", "A_b+c", "install.sh"})
        CHECK(gate::is_safe_segment(ok));
    std::vector<std::string> bad = {"",
                                    ".",
                                    "..",
                                    ".hidden",
                                    "-rf",
                                    "a/b",
                                    "a\\b",
                                    "a%2fb",
                                    std::string("a\0b", 3),
                                    "caf\xc3\xa9",
                                    "a b",
                                    "a:b",
                                    "~root",
                                    std::string(129, 'a')};
    for (const auto& s : bad) {
        INFO(s);
        CHECK_FALSE(gate::is_safe_segment(s));
    }
    CHECK(gate::is_safe_segment(std::string(128, 'a')));
}

TEST_CASE("gate versions sort newest first in semantic-version order", "[gate]") {
    std::vector<std::string> v = {"1.9.2",       "1.10.0",     "1.0.0-rc.1",   "1.0.0",   "nightly",
                                  "1.0.0-alpha", "2.0",        "1.0.0-rc.2",   "v1.11.0", "0.9.0",
                                  "1.0.0-rc.10", "1.0.0-beta", "1.0.0-alpha.1"};
    gate::sort_newest_first(v);
    std::vector<std::string> expected = {"2.0",        "v1.11.0",       "1.10.0",      "1.9.2",
                                         "1.0.0",      "1.0.0-rc.10",   "1.0.0-rc.2",  "1.0.0-rc.1",
                                         "1.0.0-beta", "1.0.0-alpha.1", "1.0.0-alpha", "0.9.0",
                                         "nightly"};
    CHECK(v == expected);
    CHECK(gate::version_less("1.9.2", "1.10.0"));
    CHECK_FALSE(gate::version_less("1.10.0", "1.9.2"));
    CHECK(gate::version_less("1.0.0-rc.1", "1.0.0"));
    CHECK(gate::version_less("1.0.0+build.5", "1.0.1"));
}

namespace {

// A releases tree with two versions of "app", a secret outside it and planted links.
struct Tree {
    test::TempDir dir;
    fs::path root = dir / "releases";
    Tree() {
        fs::create_directories(root / "app/1.9.2");
        fs::create_directories(root / "app/1.10.0");
        fs::create_directories(root / "app/2.0.0-rc.1");
        fs::create_directories(root / "free");
        test::spit(root / "app/1.9.2/x86_64-unknown-linux-gnu", "old build");
        test::spit(root / "app/1.10.0/x86_64-unknown-linux-gnu", "new build");
        test::spit(root / "app/1.10.0/x86_64-unknown-linux-gnu.minisig", "sig");
        test::spit(root / "app/1.10.0/aarch64-apple-darwin", "mac build");
        test::spit(root / "app/2.0.0-rc.1/aarch64-apple-darwin", "rc");
        test::spit(root / "free/MANIFEST.json", R"({"requires_license": false})");
        test::spit(dir / "secret.txt", "TOP SECRET");
        fs::create_directories(dir / "outside-dir");
        test::spit(dir / "outside-dir/x86_64-unknown-linux-gnu", "TOP SECRET");
        fs::create_symlink(dir / "secret.txt", root / "app/1.10.0/evil");
        fs::create_symlink("../../../secret.txt", root / "app/1.9.2/relative-evil");
        fs::create_symlink(dir / "outside-dir", root / "app/9.9.9");
        fs::create_symlink(dir / "outside-dir", root / "linked-product");
        // A link that stays inside is fine.
        fs::create_symlink("x86_64-unknown-linux-gnu", root / "app/1.9.2/alias");
    }
};

std::string read_fd(const gate::OpenedFile& f) {
    std::string s(f.size, '\0');
    REQUIRE(::pread(f.fd.get(), s.data(), s.size(), 0) == static_cast<ssize_t>(s.size()));
    return s;
}

} // namespace

TEST_CASE("gate tree: listing, opening and containment", "[gate]") {
    Tree t;
    for (auto mode : {gate::Containment::automatic, gate::Containment::realpath_only}) {
        gate::ReleaseTree tree(t.root, mode);
        CHECK(tree.products() == std::vector<std::string>{"app", "free"});
        auto versions = tree.versions("app");
        REQUIRE(versions);
        CHECK(*versions == std::vector<std::string>{"2.0.0-rc.1", "1.10.0", "1.9.2"});
        CHECK_FALSE(tree.versions("nope"));
        CHECK_FALSE(tree.versions(".."));
        auto f = tree.open_file({"app", "1.10.0", "x86_64-unknown-linux-gnu"});
        REQUIRE(f);
        CHECK(read_fd(*f) == "new build");
        CHECK(f->size == 9);
        auto alias = tree.open_file({"app", "1.9.2", "alias"});
        REQUIRE(alias);
        CHECK(read_fd(*alias) == "old build");
        // Planted links out of the tree, traversal names and directories open nothing.
        CHECK_FALSE(tree.open_file({"app", "1.10.0", "evil"}));
        CHECK_FALSE(tree.open_file({"app", "1.9.2", "relative-evil"}));
        CHECK_FALSE(tree.open_file({"app", "9.9.9", "x86_64-unknown-linux-gnu"}));
        CHECK_FALSE(tree.open_file({"linked-product", "x86_64-unknown-linux-gnu"}));
        CHECK_FALSE(tree.open_file({"app", "..", "..", "secret.txt"}));
        CHECK_FALSE(tree.open_file({"app", "1.10.0"}));
        CHECK_FALSE(tree.open_file({}));
        // Latest: the highest version that has the platform's file.
        CHECK(tree.latest_with("app", "x86_64-unknown-linux-gnu") == "1.10.0");
        CHECK(tree.latest_with("app", "aarch64-apple-darwin") == "2.0.0-rc.1");
        CHECK_FALSE(tree.latest_with("app", "riscv64gc-unknown-linux-gnu"));
        CHECK(tree.requires_license("app"));
        CHECK_FALSE(tree.requires_license("free"));
    }
}

TEST_CASE("gate manifest: generated with sizes, SHA-256 and signatures, or served as written",
          "[gate]") {
    Tree t;
    gate::ReleaseTree tree(t.root);
    auto made = tree.manifest("app", "1.10.0");
    REQUIRE(made.state == gate::ReleaseTree::Manifest::State::ready); // small files: at once
    json m = json::parse(made.text);
    CHECK(m["product"] == "app");
    CHECK(m["version"] == "1.10.0");
    REQUIRE(m["files"].size() == 2); // the link out of the tree and the signature are not files
    auto linux_build = m["files"][1];
    CHECK(linux_build["name"] == "x86_64-unknown-linux-gnu");
    CHECK(linux_build["size"] == 9);
    // sha256("new build")
    CHECK(linux_build["sha256"] ==
          "9893f46b04f2b89047dac4860978f401114b41f20aedf9abac1a7bb218496321");
    CHECK(linux_build["minisig"] == "/releases/app/1.10.0/x86_64-unknown-linux-gnu.minisig");
    CHECK(linux_build["sig"] == nullptr);
    CHECK(m["files"][0]["minisig"] == nullptr);
    using State = gate::ReleaseTree::Manifest::State;
    CHECK(tree.manifest("app", "3.0.0").state == State::missing);
    CHECK(tree.manifest("app", "..").state == State::missing);
    test::spit(t.root / "app/1.9.2/MANIFEST.json", R"({"from":"pipeline"})");
    auto written = tree.manifest("app", "1.9.2");
    CHECK(written.state == State::ready);
    CHECK(written.text == R"({"from":"pipeline"})");
}

TEST_CASE("gate manifest: large builds are hashed in the background, and again when replaced",
          "[gate]") {
    using State = gate::ReleaseTree::Manifest::State;
    test::TempDir dir;
    auto build = dir / "app/1.0.0/x86_64-unknown-linux-gnu";
    std::filesystem::create_directories(build.parent_path());
    const std::string content(48 << 20, 'z'); // over the inline limit
    test::spit(build, content);
    gate::ReleaseTree tree(dir.path());
    auto first = tree.manifest("app", "1.0.0");
    CHECK(first.state == State::hashing); // answered at once, the hash queued
    CHECK(first.retry_after_s >= 1);
    auto wait_ready = [&] {
        for (int i = 0; i < 500; ++i) {
            auto m = tree.manifest("app", "1.0.0");
            if (m.state != State::hashing)
                return m;
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        return tree.manifest("app", "1.0.0");
    };
    auto ready = wait_ready();
    REQUIRE(ready.state == State::ready);
    CHECK(json::parse(ready.text)["files"][0]["sha256"] ==
          hex_encode(crypto::sha256(as_bytes(content))));
    CHECK(tree.hashing_backlog() == 0);
    // Replaced: a new size and time make a new key, hashed again.
    const std::string other(40 << 20, 'y');
    test::spit(build, other);
    CHECK(tree.manifest("app", "1.0.0").state == State::hashing);
    auto again = wait_ready();
    REQUIRE(again.state == State::ready);
    CHECK(json::parse(again.text)["files"][0]["sha256"] ==
          hex_encode(crypto::sha256(as_bytes(other))));
    // At start-up keysat-serve queues every build, so the first request finds it ready.
    gate::ReleaseTree fresh(dir.path());
    CHECK(fresh.hashes_known() == 0);
    fresh.hash_all_in_background();
    for (int i = 0; i < 500 && fresh.hashes_known() == 0; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    CHECK(fresh.manifest("app", "1.0.0").state == State::ready);
}

TEST_CASE("gate revocation list: reload swaps whole lists, a bad file keeps the old one",
          "[gate]") {
    test::TempDir dir;
    std::string a(64, 'a'), b(64, 'B');
    test::spit(dir / "revoked", "# comment\n" + a + "\n");
    gate::RevocationList list(dir / "revoked");
    CHECK_FALSE(list.contains(a));
    REQUIRE(list.reload() == 1u);
    CHECK(list.contains(a));
    test::spit(dir / "revoked", a + "\n" + b + "\nnot hex\n");
    auto bad = list.reload();
    REQUIRE_FALSE(bad);
    CHECK(bad.error().message.find(dir.path().string()) == std::string::npos);
    CHECK(list.size() == 1);
    test::spit(dir / "revoked", b + "\r\n");
    REQUIRE(list.reload() == 1u);
    CHECK_FALSE(list.contains(a));
    CHECK(list.contains(std::string(64, 'b'))); // lower-cased
    fs::remove(dir / "revoked");
    CHECK_FALSE(list.reload());
    CHECK(list.size() == 1);
}

namespace {

struct Keys {
    crypto::SecretKey key = crypto::SecretKey::generate();
    crypto::SecretKey other = crypto::SecretKey::generate();
    license::Keyring ring{{key.public_key()}};

    std::string token(const std::string& product, const std::string& expiry,
                      std::optional<std::string> floor = std::nullopt,
                      const crypto::SecretKey* by = nullptr) {
        auto t = issuing::issue_token(by ? *by : key, {product, expiry, {"pro"}, floor});
        REQUIRE(t);
        return *t;
    }
};

gate::Decision decide(const Keys& k, const std::string& token, std::int64_t now,
                      const gate::RevocationList& revoked, const gate::LicenseLookup& lookup = {},
                      const std::string& version = "1.0.0") {
    return gate::check_access({token, "app", version, now}, k.ring, revoked, lookup);
}

} // namespace

TEST_CASE("gate decision: every download token answer", "[gate]") {
    Keys k;
    gate::RevocationList none;
    std::int64_t day_end = *parse_date_unix("2030-06-30") + 86399;
    auto good = k.token("app", "2030-06-30");
    CHECK(decide(k, good, day_end, none).allowed());
    auto expired = decide(k, good, day_end + 1, none); // 2030-07-01T00:00:00Z
    CHECK(expired.status == 403);
    CHECK(expired.error == "channel-expired");
    auto other = decide(k, k.token("other", "2030-06-30"), day_end, none);
    CHECK(other.status == 403);
    CHECK(other.error == "wrong-product");
    auto untrusted = decide(k, k.token("app", "2030-06-30", std::nullopt, &k.other), 0, none);
    CHECK(untrusted.status == 401);
    CHECK(untrusted.error == "invalid-signature");
    std::string tampered = good;
    tampered[100] = tampered[100] == 'A' ? 'B' : 'A';
    CHECK(decide(k, tampered, 0, none).error == "invalid-signature");
    CHECK(decide(k, "", 0, none).error == "missing-token");
    CHECK(decide(k, "", 0, none).status == 401);
    for (const std::string& bad : {std::string("not base64!"), good + "=", good + " ",
                                   std::string("%41%42"), good.substr(0, good.size() - 1) + "*"}) {
        INFO(bad);
        auto d = decide(k, bad, 0, none);
        CHECK(d.status == 401);
        CHECK(d.error == "malformed-token");
    }
    CHECK(decide(k, std::string(20000, 'A'), 0, none).error == "malformed-token");
    // The standard base64 alphabet is another spelling, so another token: refused.
    std::string standard = good;
    std::replace(standard.begin(), standard.end(), '-', '+');
    std::replace(standard.begin(), standard.end(), '_', '/');
    if (standard != good)
        CHECK(decide(k, standard, 0, none).error == "malformed-token");
    auto short_one = decide(k, base64url_encode(Bytes(64, 1)), 0, none);
    CHECK(short_one.status == 401);
    CHECK(short_one.error == "token-too-short");
    // A trusted signature over a payload that is not a token's.
    auto sig = k.key.sign(as_bytes(std::string("[1,2,3]")));
    auto garbage = license::format_token(sig, "[1,2,3]");
    CHECK(decide(k, garbage, 0, none).error == "invalid-payload");
    // The floor: versions below it stay closed.
    auto floored = k.token("app", "2030-06-30", "2.0.0");
    CHECK(decide(k, floored, 0, none, {}, "1.9.9").error == "version-below-floor");
    CHECK(decide(k, floored, 0, none, {}, "2.0.0").allowed());
    // Revoked by list, by the hash of the token as sent.
    test::TempDir dir;
    test::spit(dir / "revoked", license::token_revocation_id(good) + "\n");
    gate::RevocationList list(dir / "revoked");
    REQUIRE(list.reload());
    auto revoked = decide(k, good, 0, list);
    CHECK(revoked.status == 403);
    CHECK(revoked.error == "token-revoked");
    // No trusted key: nothing gets through.
    license::Keyring empty;
    auto closed = gate::check_access({good, "app", "1.0.0", 0}, empty, none, {});
    CHECK(closed.status == 503);
}

TEST_CASE("gate decision: LIC1 keys map their product through the database", "[gate]") {
    Keys k;
    gate::RevocationList none;
    Uuid product = crypto::uuid_v4(), license_id = crypto::uuid_v4();
    auto key =
        issuing::issue_license(k.key, {product, license_id, 1700000000, 1900000000, false, {}, {}});
    REQUIRE(key);
    gate::LicenseFacts facts;
    facts.product_slug = "app";
    auto lookup = [&](const std::string& p, const std::string& l) -> Expected<gate::LicenseFacts> {
        CHECK(p == product.to_string());
        CHECK(l == license_id.to_string());
        return facts;
    };
    CHECK(decide(k, *key, 1800000000, none, lookup).allowed());
    // Unknown to the database: the key's own expiry.
    auto expired = decide(k, *key, 1900000000, none, lookup);
    CHECK(expired.error == "channel-expired");
    CHECK(expired.status == 403);
    facts.license_known = true;
    facts.expires_at = 1950000000;
    CHECK(decide(k, *key, 1900000000, none, lookup).allowed()); // renewed in the database
    facts.status = "suspended";
    CHECK(decide(k, *key, 1800000000, none, lookup).error == "token-revoked");
    facts.status = "revoked";
    CHECK(decide(k, *key, 1800000000, none, lookup).error == "token-revoked");
    facts.status = "active";
    facts.product_slug = "other";
    CHECK(decide(k, *key, 1800000000, none, lookup).error == "wrong-product");
    facts.product_slug.reset();
    CHECK(decide(k, *key, 1800000000, none, lookup).error == "wrong-product");
    facts.product_slug = "app";
    auto lower = *key;
    std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
    CHECK(decide(k, lower, 1800000000, none, lookup).allowed()); // LIC1 is case-insensitive
    // Revoked by the list under the key as issued: no respelling gets past it (found in review).
    test::TempDir dir;
    test::spit(dir / "revoked", license::token_revocation_id(*key) + "\n");
    gate::RevocationList listed(dir / "revoked");
    REQUIRE(listed.reload() == 1u);
    for (const std::string& spelling : {*key, lower}) {
        INFO(spelling);
        CHECK(decide(k, spelling, 1800000000, listed, lookup).error == "token-revoked");
    }
    auto foreign =
        issuing::issue_license(k.other, {product, license_id, 1700000000, 0, false, {}, {}});
    REQUIRE(foreign);
    CHECK(decide(k, *foreign, 1800000000, none, lookup).error == "invalid-signature");
    CHECK(decide(k, "LIC1-AAAA-BBBB", 0, none, lookup).error == "malformed-token");
}

TEST_CASE("gate decision: the verified-token cache changes no answer", "[gate]") {
    Keys k;
    gate::VerifiedTokens cache(3);
    test::TempDir dir;
    gate::RevocationList list(dir / "revoked");
    std::int64_t day_end = *parse_date_unix("2030-06-30") + 86399;
    auto good = k.token("app", "2030-06-30", "1.5.0");
    auto ask = [&](const std::string& token, std::int64_t now, const std::string& version) {
        return gate::check_access({token, "app", version, now}, k.ring, list, {}, &cache).error;
    };
    for (int round = 0; round < 2; ++round) { // the second round answers from the cache
        INFO("round " << round);
        CHECK(ask(good, day_end, "1.5.0").empty());
        CHECK(ask(good, day_end + 1, "1.5.0") == "channel-expired");
        CHECK(ask(good, day_end, "1.4.9") == "version-below-floor");
        CHECK(gate::check_access({good, "other", "1.5.0", 0}, k.ring, list, {}, &cache).error ==
              "wrong-product");
        CHECK(ask(k.token("app", "2030-06-30", std::nullopt, &k.other), 0, "1.5.0") ==
              "invalid-signature");
    }
    CHECK(cache.find(good));
    test::spit(dir / "revoked", license::token_revocation_id(good) + "\n");
    REQUIRE(list.reload());
    CHECK(ask(good, 0, "2.0.0") == "token-revoked"); // revocation applies to cached tokens
    // Bounded: a full cache starts over.
    for (int i = 0; i < 4; ++i)
        CHECK(ask(k.token("app", "2031-01-0" + std::to_string(i + 1)), 0, "2.0.0").empty());
    CHECK_FALSE(cache.find(good));
}
