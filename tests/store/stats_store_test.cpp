// The dashboard's figures (StatsStore): per day from the range indexes and the validation rollup
// that a trigger keeps, whoever writes the log; and plans with no full scan of a growing table.

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "keysat/store/stats_store.hpp"
#include "support/db_support.hpp"
#include "support/support.hpp"

using namespace keysat;

TEST_CASE("dashboard figures: revenue per day, product and currency, licenses per day, and "
          "validations per day and result from the rollup",
          "[store][console]") {
    test::TempDir dir;
    auto db = test::fresh_database(dir / "k.db");
    const std::int64_t day = 20'000, t = day * 86400;
    REQUIRE(db.exec(
        "INSERT INTO signing_keys (key_id, public_key, created_at) VALUES ('K', zeroblob(32), 0);"
        "INSERT INTO products (id, slug, name, created_at, updated_at) VALUES "
        "('p1', 'one', 'One', 0, 0), ('p2', 'two', 'Two', 0, 0)"));
    auto invoice = [&](const std::string& id, const std::string& product, const char* status,
                       std::int64_t amount, const char* currency, std::int64_t settled) {
        REQUIRE(db.exec(fmt::format(
            "INSERT INTO invoices (id, product_id, status, base_amount, amount, currency, "
            "created_at, updated_at, settled_at) VALUES ('{}', '{}', '{}', {}, {}, '{}', 0, 0, {})",
            id, product, status, amount, amount, currency,
            settled ? std::to_string(settled) : std::string("NULL"))));
    };
    invoice("i1", "p1", "settled", 1000, "SAT", t + 10);
    invoice("i2", "p1", "settled", 500, "SAT", t + 86399);
    invoice("i3", "p2", "settled", 1250, "USD", t + 3600);
    invoice("i4", "p1", "settled", 700, "SAT", t + 86400); // the next day
    invoice("i5", "p1", "settled", 9999, "SAT", t - 1);    // the day before: outside
    invoice("i6", "p1", "new", 100, "SAT", 0);
    invoice("i7", "p1", "processing", 100, "SAT", 0);
    invoice("i8", "p1", "expired", 100, "SAT", 0);
    auto license = [&](const std::string& id, std::int64_t issued) {
        REQUIRE(db.exec(fmt::format(
            "INSERT INTO licenses (id, product_id, issued_at, license_key, signing_key_id, "
            "created_at, updated_at) VALUES ('{0}', 'p1', {1}, 'LIC1-{0}', 'K', 0, 0)",
            id, issued)));
    };
    license("l1", t - 5);
    license("l2", t + 5);
    license("l3", t + 6);
    license("l4", t + 86400 * 2);
    // Validations logged by any writer count in the rollup.
    REQUIRE(db.exec(fmt::format(
        "INSERT INTO validation_log (at, result) VALUES ({0}, 'ok'), ({0}, 'ok'), ({0}, "
        "'revoked'), ({1}, 'ok'), ({2}, 'expired')",
        t + 1, t + 86400 + 1, t - 100)));

    store::StatsStore stats(db);
    auto revenue = stats.revenue(day);
    REQUIRE(revenue);
    REQUIRE(revenue->size() == 3);
    CHECK((*revenue)[0].day == day);
    CHECK((*revenue)[0].product_id == "p1");
    CHECK((*revenue)[0].currency == "SAT");
    CHECK((*revenue)[0].amount == 1500);
    CHECK((*revenue)[0].invoices == 2);
    CHECK((*revenue)[1].product_id == "p2");
    CHECK((*revenue)[1].currency == "USD");
    CHECK((*revenue)[1].amount == 1250);
    CHECK((*revenue)[2].day == day + 1);
    CHECK((*revenue)[2].amount == 700);

    // Settling by an update counts once, however often the row changes afterwards.
    REQUIRE(db.exec(fmt::format("UPDATE invoices SET status = 'settled', settled_at = {} WHERE "
                                "id = 'i6'",
                                t + 20)));
    REQUIRE(db.exec("UPDATE invoices SET updated_at = 99 WHERE id = 'i6'"));
    REQUIRE(db.exec("UPDATE invoices SET status = 'settled' WHERE id = 'i6'"));
    revenue = stats.revenue(day);
    REQUIRE(revenue);
    CHECK((*revenue)[0].amount == 1600);
    CHECK((*revenue)[0].invoices == 3);
    REQUIRE(db.exec("UPDATE invoices SET status = 'new', settled_at = NULL WHERE id = 'i6'"));

    auto issued = stats.licenses_issued(day);
    REQUIRE(issued);
    REQUIRE(issued->size() == 2);
    CHECK((*issued)[0].day == day);
    CHECK((*issued)[0].count == 2);
    CHECK((*issued)[1].day == day + 2);

    auto checks = stats.validations(day);
    REQUIRE(checks);
    REQUIRE(checks->size() == 3);
    CHECK((*checks)[0].key == "ok");
    CHECK((*checks)[0].count == 2);
    CHECK((*checks)[1].key == "revoked");
    CHECK((*checks)[2].day == day + 1);
    // Deleting old log rows keeps the counts.
    REQUIRE(db.exec("DELETE FROM validation_log"));
    CHECK(stats.validations(day)->size() == 3);
    CHECK(*db.query_int("SELECT count FROM validation_daily WHERE result = 'expired'") == 1);

    CHECK(*stats.open_invoices() == 2);
    // The rollups agree with counting the tables themselves.
    CHECK(*db.query_int("SELECT sum(count) FROM licenses_daily") ==
          *db.query_int("SELECT count(*) FROM licenses"));
    // Active machines: counted by triggers as machines come, go and come back.
    CHECK(*stats.active_machines() == 0);
    REQUIRE(db.exec("INSERT INTO machines (id, license_id, fingerprint, fingerprint_sha256, "
                    "activated_at, deactivated_at) VALUES ('m1', 'l1', 'a', 'a', 0, NULL), "
                    "('m2', 'l1', 'b', 'b', 0, NULL), ('m3', 'l2', 'c', 'c', 0, 5), "
                    "('m4', 'l2', 'd', 'd', 0, NULL)"));
    CHECK(*stats.active_machines() == 3);
    REQUIRE(db.exec("UPDATE machines SET deactivated_at = 9 WHERE id IN ('m1', 'm3')"));
    CHECK(*stats.active_machines() == 2);
    REQUIRE(db.exec("UPDATE machines SET deactivated_at = NULL WHERE id = 'm3'"));
    REQUIRE(db.exec("UPDATE machines SET hostname = 'x'"));
    CHECK(*stats.active_machines() == 3);
    REQUIRE(db.exec("DELETE FROM machines WHERE id IN ('m1', 'm2')"));
    CHECK(*stats.active_machines() == 2);
    CHECK(*stats.active_machines() ==
          *db.query_int("SELECT count(*) FROM machines WHERE deactivated_at IS NULL"));
    CHECK(*stats.failed_deliveries() == 0);
}

TEST_CASE("dashboard figures: no query scans a whole growing table", "[store][console]") {
    test::TempDir dir;
    auto db = test::fresh_database(dir / "k.db");
    REQUIRE(db.exec("ANALYZE"));
    auto plans = store::StatsStore(db).plans();
    REQUIRE(plans);
    REQUIRE(plans->size() == 6);
    for (const auto& plan : *plans) {
        INFO(plan);
        // Every table is reached through an index or a primary key (SEARCH ...).
        CHECK(plan.find("SCAN invoices") == std::string::npos);
        CHECK(plan.find("SCAN licenses") == std::string::npos);
        CHECK(plan.find("SCAN validation") == std::string::npos);
        CHECK(plan.find("SCAN webhook_deliveries") == std::string::npos);
        CHECK(plan.find("SCAN machines") == std::string::npos);
    }
}
