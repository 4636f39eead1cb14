// The operator's console password: keysat-serve --set-admin-password stores an Argon2id hash
// (never the password), audited; a refused password changes nothing.

#include <catch2/catch.hpp>

#include "keysat/crypto/password.hpp"
#include "keysat/db/database.hpp"
#include "support/support.hpp"

using namespace keysat;

namespace {

std::string stored_hash(const std::filesystem::path& db_path) {
    auto db = db::Database::open(db_path, db::OpenMode::read_only);
    REQUIRE(db);
    auto q = db->prepare("SELECT value FROM settings WHERE key = 'admin_password_hash'");
    REQUIRE(q);
    return q->step().value_or(false) ? q->column_text(0) : "";
}

} // namespace

TEST_CASE("console password: Argon2id hashes that verify only the password they were made from",
          "[crypto][password]") {
    auto hash = crypto::hash_password("correct horse battery");
    REQUIRE(hash);
    CHECK(hash->starts_with("$argon2id$v=19$m=65536,t=2,p=1$"));
    CHECK(crypto::verify_password(*hash, "correct horse battery"));
    CHECK_FALSE(crypto::verify_password(*hash, "correct horse batterY"));
    CHECK_FALSE(crypto::verify_password(*hash, ""));
    // Two hashes of one password differ (random salt) and both verify.
    auto again = crypto::hash_password("correct horse battery");
    REQUIRE(again);
    CHECK(*again != *hash);
    CHECK(crypto::verify_password(*again, "correct horse battery"));
    // Malformed or foreign hashes never verify.
    CHECK_FALSE(crypto::verify_password("", "x"));
    CHECK_FALSE(crypto::verify_password("$argon2i$v=19$m=4096,t=3,p=1$c2FsdA$aGFzaA", "x"));
    CHECK_FALSE(crypto::verify_password(std::string(200, '$'), "x"));
    CHECK_FALSE(
        crypto::verify_password(hash->substr(0, hash->size() - 4), "correct horse battery"));
}

TEST_CASE(
    "keysat-serve --set-admin-password stores the hash, audited, and a refusal changes nothing",
    "[e2e][serve][password]") {
    test::TempDir dir;
    auto data = dir / "data";
    auto db_path = data / "keysat.db";
    auto set = [&](const std::string& password) {
        test::spit(dir / "password", password);
        return test::run({KEYSAT_SERVE_BIN, "--data-dir", data.string(), "--set-admin-password",
                          "--password-file", (dir / "password").string()});
    };

    auto first = set("correct horse battery\nsecond line ignored\n");
    INFO(first.err);
    REQUIRE(first.exit_code == 0);
    CHECK(first.err.find("console password set") != std::string::npos);
    auto hash = stored_hash(db_path);
    CHECK(crypto::verify_password(hash, "correct horse battery"));
    CHECK(hash.find("correct horse") == std::string::npos);

    // Too short, too long, or no password at all: exit 2, the stored hash unchanged.
    auto short_one = set("eleven char");
    CHECK(short_one.exit_code == 2);
    CHECK(short_one.err.find("12 to 1024 characters") != std::string::npos);
    CHECK(set(std::string(1025, 'x')).exit_code == 2);
    auto none = test::run({KEYSAT_SERVE_BIN, "--data-dir", data.string(), "--set-admin-password"});
    CHECK(none.exit_code == 2);
    CHECK(none.err.find("--password-file") != std::string::npos);
    auto missing = test::run({KEYSAT_SERVE_BIN, "--data-dir", data.string(), "--set-admin-password",
                              "--password-file", (dir / "absent").string()});
    CHECK(missing.exit_code == 2);
    auto stray = test::run({KEYSAT_SERVE_BIN, "--data-dir", data.string(), "--password-file",
                            (dir / "password").string()});
    CHECK(stray.exit_code == 2);
    CHECK(stray.err.find("goes with --set-admin-password") != std::string::npos);
    CHECK(stored_hash(db_path) == hash);

    // A new password, from standard input, replaces the hash; both changes are in the audit log.
    auto piped = test::run({KEYSAT_SERVE_BIN, "--data-dir", data.string(), "--set-admin-password",
                            "--password-file", "-"},
                           "a different passphrase\n");
    INFO(piped.err);
    REQUIRE(piped.exit_code == 0);
    auto replaced = stored_hash(db_path);
    CHECK(crypto::verify_password(replaced, "a different passphrase"));
    CHECK_FALSE(crypto::verify_password(replaced, "correct horse battery"));
    auto db = db::Database::open(db_path, db::OpenMode::read_only);
    REQUIRE(db);
    auto audited =
        db->query_int("SELECT COUNT(*) FROM audit_log WHERE action = 'console_password.set' AND "
                      "actor_kind = 'system' AND actor_id = 'keysat-serve'");
    REQUIRE(audited);
    CHECK(*audited == 2);
}
