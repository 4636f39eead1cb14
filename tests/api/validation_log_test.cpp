// The background writer of validations and machine last-seen times, against a real file.

#include <catch2/catch.hpp>

#include "keysat/api/validation_log.hpp"
#include "support/db_support.hpp"
#include "support/support.hpp"

using namespace keysat;

TEST_CASE("heartbeats are written to the minute, validations every one", "[api]") {
    test::TempDir dir;
    auto path = dir / "keysat.db";
    {
        auto db = test::fresh_database(path);
        REQUIRE(db.exec(
            "INSERT INTO signing_keys (key_id, public_key, created_at) VALUES ('K', zeroblob(32), "
            "1); INSERT INTO licenses (id, product_id, issued_at, license_key, signing_key_id, "
            "created_at, updated_at) VALUES ('L', 'P', 1, 'LIC1-X', 'K', 1, 1); INSERT INTO "
            "machines (id, license_id, fingerprint, fingerprint_sha256, activated_at) VALUES "
            "('M1', 'L', 'a', 'ha', 1), ('M2', 'L', 'b', 'hb', 1)"));
    }
    auto last_seen = [&](const char* id) {
        auto db = db::Database::open(path, db::OpenMode::read_only);
        REQUIRE(db);
        return *db->query_int(std::string("SELECT last_heartbeat_at FROM machines WHERE id = '") +
                              id + "'");
    };
    {
        api::ValidationLog log(path);
        log.push_heartbeat("M1", 1000);
        log.push_heartbeat("M1", 1030); // within the minute: not written
        log.push_heartbeat("M2", 1000);
        log.push_heartbeat("M2", 1060); // a minute later: written
        for (int i = 0; i < 5; ++i)
            log.push({1000 + i, std::string("L"), "ok", std::nullopt, std::string("127.0.0.1")});
    } // the destructor writes what is queued
    CHECK(last_seen("M1") == 1000);
    CHECK(last_seen("M2") == 1060);
    auto db = db::Database::open(path, db::OpenMode::read_only);
    REQUIRE(db);
    CHECK(*db->query_int("SELECT count(*) FROM validation_log") == 5);
    {
        api::ValidationLog log(path); // a new process knows nothing queued before
        log.push_heartbeat("M1", 1031);
    }
    CHECK(last_seen("M1") == 1031);
}
