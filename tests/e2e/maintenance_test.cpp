// keysat-serve's maintenance thread itself (not only the service functions it calls): with a
// one-second maintenance_interval it rolls up and removes validation-log rows past the window,
// and takes a checked scheduled backup, while the server runs.

#include <catch2/catch.hpp>

#include <regex>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "keysat/db/database.hpp"
#include "support/serve_in_process.hpp"
#include "support/support.hpp"

using namespace keysat;
using nlohmann::json;

namespace {

// Polls `done` every 50 ms for up to `seconds`; true once it holds.
template <typename F> bool within(double seconds, F&& done) {
    auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    while (std::chrono::steady_clock::now() < until) {
        if (done())
            return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return done();
}

} // namespace

TEST_CASE("the running server's maintenance thread prunes the validation log into rollups and "
          "takes a checked backup on its own",
          "[e2e][maintenance]") {
    const std::int64_t t0 = 1'790'000'000;
    FixedClock clock{t0};
    test::TempDir dir;
    auto backups = dir / "backups";
    test::InProcessServer server(dir / "data",
                                 fmt::format("maintenance_interval = 1\nvalidation_log_days = 30\n"
                                             "backup_dir = \"{}\"\nbackup_keep = 2\n",
                                             backups.string()),
                                 clock);
    std::string key = server.issue_key();
    for (int i = 0; i < 6; ++i)
        REQUIRE(server.post("/v1/validate", json{{"key", key}}.dump()).status == 200);
    for (int i = 0; i < 2; ++i)
        REQUIRE(server.post("/v1/validate", json{{"key", "LIC1-not-a-key"}}.dump()).status == 200);

    auto db = db::Database::open(dir / "data" / "keysat.db", db::OpenMode::read_only);
    REQUIRE(db);
    auto count = [&](const char* sql) {
        auto n = db->query_int(sql);
        return n ? *n : -1;
    };
    // The background writer lands the rows within its 200 ms batches; the window keeps them.
    REQUIRE(within(5, [&] { return count("SELECT count(*) FROM validation_log") == 8; }));
    // The first pass also took a backup: there was none.
    auto backup_files = [&] {
        std::vector<std::string> names;
        std::error_code ec;
        for (const auto& e : std::filesystem::directory_iterator(backups, ec))
            if (std::regex_match(e.path().filename().string(),
                                 std::regex(R"(keysat-\d{8}T\d{6}Z\.db)")))
                names.push_back(e.path().filename().string());
        return names;
    };
    REQUIRE(within(5, [&] { return backup_files().size() == 1; }));
    auto copy = db::Database::open(backups / backup_files().front(), db::OpenMode::read_only);
    REQUIRE(copy);
    CHECK(*copy->query_int("SELECT count(*) FROM licenses") == 1);
    CHECK(count("SELECT count(*) FROM validation_log") == 8); // nothing is older than 30 days

    // 31 days on: the next pass rolls the rows up and removes them, with no request to prompt it.
    clock.set(t0 + 31 * 86400);
    REQUIRE(within(5, [&] { return count("SELECT count(*) FROM validation_log") == 0; }));
    CHECK(count("SELECT coalesce(sum(count), 0) FROM validation_rollup") == 8);
    CHECK(count("SELECT coalesce(sum(count), 0) FROM validation_rollup WHERE result = 'ok'") == 6);
    // And, the newest backup being a day (backup_interval) old by this clock, a second one.
    REQUIRE(within(5, [&] { return backup_files().size() == 2; }));
}
