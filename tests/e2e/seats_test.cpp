// Seat activations on the validate path under concurrency: the machine limit is exact however
// many first-time fingerprints arrive at once, and an activation leaves validate's caches warm
// (it adds a row and changes nothing cached).

#include <catch2/catch.hpp>

#include <atomic>
#include <thread>

#include <nlohmann/json.hpp>

#include "keysat/db/database.hpp"
#include "support/serve_in_process.hpp"
#include "support/support.hpp"

using namespace keysat;
using nlohmann::json;

TEST_CASE("concurrent first validations of many machines take exactly max_machines seats",
          "[e2e][seats]") {
    FixedClock clock{1'790'000'000};
    test::TempDir dir;
    test::InProcessServer server(dir / "data", "threads = 8\nvalidate_rate = 0\n", clock);
    std::vector<std::string> keys;
    for (int i = 0; i < 3; ++i)
        keys.push_back(server.issue_key({{"max_machines", 3}}));
    // 8 threads, 24 machines per license, all first-time: 3 seats each.
    std::atomic<int> ok{0}, full{0}, other{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t)
        threads.emplace_back([&, t] {
            for (int i = t; i < 24; i += 8)
                for (const auto& key : keys) {
                    auto r = server.post(
                        "/v1/validate",
                        json{{"key", key}, {"fingerprint", "fp-" + std::to_string(i)}}.dump());
                    if (r.status == 200 && r.body["ok"] == true)
                        ++ok;
                    else if (r.status == 200 && r.body["reason"] == "too_many_machines")
                        ++full;
                    else
                        ++other;
                }
        });
    for (auto& th : threads)
        th.join();
    CHECK(ok == 9);
    CHECK(full == 72 - 9);
    CHECK(other == 0);
    auto db = db::Database::open(dir / "data" / "keysat.db", db::OpenMode::read_only);
    REQUIRE(db);
    CHECK(*db->query_int("SELECT count(*) FROM machines WHERE deactivated_at IS NULL") == 9);
    CHECK(*db->query_int("SELECT max(n) FROM (SELECT count(*) AS n FROM machines WHERE "
                         "deactivated_at IS NULL GROUP BY license_id)") == 3);
    // A machine that holds a seat is still known, from the cache or the file.
    auto again =
        server.post("/v1/validate", json{{"key", keys[0]}, {"fingerprint", "fp-0"}}.dump());
    auto seated = db->query_int(
        "SELECT count(*) FROM machines WHERE fingerprint = 'fp-0' AND license_id = '" +
        again.body.value("license_id", std::string()) + "'");
    REQUIRE(seated);
    CHECK(again.body["ok"] == (*seated == 1));
}
