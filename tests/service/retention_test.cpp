// Retention (service::prune) over a real SQLite file with a fixed "now": what is older than its
// window goes, in batches; validation-log rows are rolled up first, so no count changes.

#include <catch2/catch.hpp>

#include <map>
#include <tuple>

#include "keysat/service/retention.hpp"
#include "keysat/store/catalog_store.hpp"
#include "keysat/store/stats_store.hpp"
#include "support/db_support.hpp"
#include "support/support.hpp"

using namespace keysat;

namespace {

constexpr std::int64_t k_day = 86400;
constexpr std::int64_t k_now = 100 * k_day + 3600;

struct Fixture {
    test::TempDir dir;
    db::Database db = test::fresh_database(dir / "keysat.db");

    Fixture() {
        // Rows the prune reads without the tables they point at (a signing key, an endpoint).
        REQUIRE(db.exec("PRAGMA foreign_keys = OFF"));
        REQUIRE(db.exec("INSERT INTO products (id, slug, name, price_amount, created_at, "
                        "updated_at) VALUES ('p1', 'app', 'App', 1, 0, 0)"));
        REQUIRE(db.exec("INSERT INTO licenses (id, product_id, issued_at, license_key, "
                        "signing_key_id, created_at, updated_at) VALUES ('L1', 'p1', 0, 'k1', "
                        "'s', 0, 0)"));
    }
    void exec(const std::string& sql) {
        INFO(sql);
        REQUIRE(db.exec(sql));
    }
    std::int64_t count(const std::string& sql) {
        auto n = db.query_int(sql);
        INFO(sql);
        REQUIRE(n);
        return *n;
    }
    // (day, key) -> count of a two-key rollup query.
    std::map<std::pair<std::int64_t, std::string>, std::int64_t> counts(const std::string& sql) {
        auto s = db.prepare(sql);
        REQUIRE(s);
        std::map<std::pair<std::int64_t, std::string>, std::int64_t> out;
        for (;;) {
            auto row = s->step();
            REQUIRE(row);
            if (!*row)
                break;
            out[{s->column_int(0), s->column_text(1)}] += s->column_int(2);
        }
        return out;
    }
};

} // namespace

TEST_CASE("retention rolls validation-log rows up per day, product, license and result before "
          "removing those past the window, in batches, and no total changes",
          "[service][retention]") {
    Fixture f;
    // 40 days of checks: each day 3 ok and (even days) 2 revoked for L1, 1 unknown key.
    for (int d = 0; d < 40; ++d) {
        std::int64_t at = k_now - d * k_day - 60;
        for (int i = 0; i < 3; ++i)
            f.exec("INSERT INTO validation_log (at, license_id, result) VALUES (" +
                   std::to_string(at + i) + ", 'L1', 'ok')");
        if (d % 2 == 0)
            for (int i = 0; i < 2; ++i)
                f.exec("INSERT INTO validation_log (at, license_id, result) VALUES (" +
                       std::to_string(at + i) + ", 'L1', 'revoked')");
        f.exec("INSERT INTO validation_log (at, license_id, result) VALUES (" + std::to_string(at) +
               ", NULL, 'unknown_key')");
    }
    std::int64_t cutoff = k_now - 30 * k_day;
    const std::string raw_by_day_result =
        "SELECT at / 86400, result, count(*) FROM validation_log WHERE at < " +
        std::to_string(cutoff) + " GROUP BY 1, 2";
    auto before_raw = f.counts(raw_by_day_result);
    auto daily_before = f.counts("SELECT day, result, count FROM validation_daily");
    auto stats_before = store::StatsStore(f.db).validations(0);
    REQUIRE(stats_before);
    std::int64_t total = f.count("SELECT count(*) FROM validation_log");
    std::int64_t old =
        f.count("SELECT count(*) FROM validation_log WHERE at < " + std::to_string(cutoff));
    REQUIRE(old > 0);

    auto report = service::prune(f.db, {30, 30, 7}, k_now); // 7: many small batches
    REQUIRE(report);
    CHECK(report->validations == old);
    CHECK(f.count("SELECT count(*) FROM validation_log") == total - old);
    CHECK(f.count("SELECT count(*) FROM validation_log WHERE at < " + std::to_string(cutoff)) == 0);
    // The rollup holds exactly what went, by day and result...
    CHECK(f.counts("SELECT day, result, sum(count) FROM validation_rollup GROUP BY 1, 2") ==
          before_raw);
    // ...attributed to the license's product, or to none.
    CHECK(f.count("SELECT sum(count) FROM validation_rollup WHERE product_id = 'p1' AND "
                  "license_id = 'L1'") ==
          f.count("SELECT sum(count) FROM validation_rollup WHERE result <> 'unknown_key'"));
    CHECK(f.count("SELECT sum(count) FROM validation_rollup WHERE product_id = '' AND "
                  "license_id = '' AND result = 'unknown_key'") == 10);
    // What the dashboard reads did not move.
    CHECK(f.counts("SELECT day, result, count FROM validation_daily") == daily_before);
    auto stats_after = store::StatsStore(f.db).validations(0);
    REQUIRE(stats_after);
    CHECK(stats_after->size() == stats_before->size());
    for (std::size_t i = 0; i < stats_after->size() && i < stats_before->size(); ++i)
        CHECK(std::tie((*stats_after)[i].day, (*stats_after)[i].key, (*stats_after)[i].count) ==
              std::tie((*stats_before)[i].day, (*stats_before)[i].key, (*stats_before)[i].count));
    // A second pass finds nothing; a day later, one more day goes and adds to the rollup.
    auto again = service::prune(f.db, {30, 30, 7}, k_now);
    REQUIRE(again);
    CHECK(again->validations == 0);
    auto next_day = service::prune(f.db, {30, 30, 7}, k_now + k_day);
    REQUIRE(next_day);
    CHECK(next_day->validations == 4); // day 29 (odd): 3 ok, 1 unknown key
    CHECK(f.count("SELECT sum(count) FROM validation_rollup") == old + 4);
    // 0 keeps the log for good.
    auto keep = service::prune(f.db, {0, 30, 7}, k_now + 100 * k_day);
    REQUIRE(keep);
    CHECK(keep->validations == 0);
    CHECK(f.count("SELECT count(*) FROM validation_log") == total - old - 4);
}

TEST_CASE("retention removes delivered deliveries past webhook_log_days, idle rate-limit buckets, "
          "stale console sessions and old connect states, and keeps the rest",
          "[service][retention]") {
    Fixture f;
    auto delivery = [&](const std::string& id, const std::string& delivered, int dead,
                        std::int64_t created) {
        f.exec("INSERT INTO webhook_deliveries (id, endpoint_id, event_type, body, delivered_at, "
               "dead, created_at) VALUES ('" +
               id + "', 'e', 'license.issued', '{}', " + delivered + ", " + std::to_string(dead) +
               ", " + std::to_string(created) + ")");
    };
    delivery("old-delivered", std::to_string(k_now - 31 * k_day), 0, k_now - 31 * k_day);
    delivery("new-delivered", std::to_string(k_now - 29 * k_day), 0, k_now - 29 * k_day);
    delivery("old-pending", "NULL", 0, k_now - 40 * k_day);
    delivery("old-dead", "NULL", 1, k_now - 40 * k_day);
    f.exec("INSERT INTO rate_limit_buckets (bucket, tokens, updated_at) VALUES ('idle', 1, " +
           std::to_string(k_now - k_day - 1) + "), ('busy', 1, " + std::to_string(k_now - 60) +
           ")");
    f.exec("INSERT INTO console_sessions (id_sha256, actor_kind, actor_id, csrf_token, "
           "created_at, last_seen_at, expires_at) VALUES ('" +
           std::string(64, 'a') + "', 'master', 'master', 'c', " + std::to_string(k_now - 7200) +
           ", " + std::to_string(k_now - 3600) + ", " + std::to_string(k_now + 3600) + "), ('" +
           std::string(64, 'b') + "', 'master', 'master', 'c', " + std::to_string(k_now - 600) +
           ", " + std::to_string(k_now - 60) + ", " + std::to_string(k_now + 3600) + ")");
    f.exec("INSERT INTO provider_connect_states (state, kind, label, actor_kind, actor_id, "
           "created_at) VALUES ('old', 'btcpay', '', 'master', 'master', " +
           std::to_string(k_now - 3600) + "), ('new', 'btcpay', '', 'master', 'master', " +
           std::to_string(k_now - 60) + ")");
    auto report = service::prune(f.db, {30, 30, 1}, k_now);
    REQUIRE(report);
    CHECK(report->deliveries == 1);
    CHECK(f.count("SELECT count(*) FROM webhook_deliveries WHERE id = 'old-delivered'") == 0);
    CHECK(f.count("SELECT count(*) FROM webhook_deliveries") == 3);
    CHECK(report->buckets == 1);
    CHECK(f.count("SELECT count(*) FROM rate_limit_buckets WHERE bucket = 'busy'") == 1);
    CHECK(report->sessions == 1);
    CHECK(f.count("SELECT count(*) FROM console_sessions") == 1);
    CHECK(report->connect_states == 1);
    CHECK(f.count("SELECT count(*) FROM provider_connect_states WHERE state = 'new'") == 1);
    // webhook_log_days 0: delivered ones stay.
    delivery("older-delivered", std::to_string(k_now - 300 * k_day), 0, k_now - 300 * k_day);
    auto keep = service::prune(f.db, {30, 0, 10}, k_now);
    REQUIRE(keep);
    CHECK(keep->deliveries == 0);
    CHECK(f.count("SELECT count(*) FROM webhook_deliveries") == 4);
}
