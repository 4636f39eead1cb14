// SeatBatcher over a real SQLite file: claims queued while a group is being written form the next
// group (one transaction), the seat limit is exact under concurrent claims, a machine that
// holds a seat keeps it, and a group that cannot be committed writes nothing.

#include <catch2/catch.hpp>

#include <atomic>
#include <thread>

#include <fmt/format.h>

#include "keysat/service/seats.hpp"
#include "support/db_support.hpp"
#include "support/support.hpp"

using namespace keysat;

namespace {

struct Fixture {
    test::TempDir dir;
    std::filesystem::path path = dir / "keysat.db";
    db::Database db = test::fresh_database(path);

    Fixture() {
        REQUIRE(db.exec("PRAGMA foreign_keys = OFF"));
        REQUIRE(db.exec("INSERT INTO products (id, slug, name, price_amount, created_at, "
                        "updated_at) VALUES ('p1', 'app', 'App', 1, 0, 0)"));
        for (const char* id : {"L1", "L2"})
            REQUIRE(db.exec(std::string("INSERT INTO licenses (id, product_id, issued_at, "
                                        "license_key, signing_key_id, max_machines, created_at, "
                                        "updated_at) VALUES ('") +
                            id + "', 'p1', 0, 'k" + id + "', 's', 3, 0, 0)"));
    }
    std::int64_t active(const std::string& license) {
        auto n = db.query_int("SELECT count(*) FROM machines WHERE deactivated_at IS NULL AND "
                              "license_id = '" +
                              license + "'");
        REQUIRE(n);
        return *n;
    }
};

service::SeatClaim claim(const std::string& license, int machine) {
    std::string fp = "fp-" + std::to_string(machine);
    return {license,      3,
            fp,           std::string(60, '0') + fmt::format("{:04d}", machine),
            std::nullopt, std::nullopt,
            1'790'000'000};
}

} // namespace

TEST_CASE("seat claims queued while a group is written go in one transaction, and the limit is "
          "exact",
          "[service][seats]") {
    Fixture f;
    service::SeatBatcher batcher(f.path);
    // Hold the write lock so that the first group waits (SQLite's busy timeout) while 40 claims
    // for two licenses of 3 seats queue behind it.
    auto holder = db::Database::open(f.path, db::OpenMode::read_write);
    REQUIRE(holder);
    REQUIRE(holder->exec("BEGIN IMMEDIATE"));
    std::atomic<int> granted{0}, refused{0}, failed{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 40; ++t)
        threads.emplace_back([&, t] {
            auto seat = batcher.claim(claim(t % 2 ? "L1" : "L2", t));
            if (!seat)
                ++failed;
            else if (seat->machine_id)
                ++granted;
            else if (seat->reason == "too_many_machines")
                ++refused;
        });
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    REQUIRE(holder->exec("COMMIT"));
    for (auto& t : threads)
        t.join();
    CHECK(failed == 0);
    CHECK(granted == 6);
    CHECK(refused == 34);
    CHECK(f.active("L1") == 3);
    CHECK(f.active("L2") == 3);
    // 40 claims, and the ones that arrived during the held lock shared a group.
    CHECK(batcher.claims() == 40);
    INFO(batcher.groups() << " groups");
    CHECK(batcher.groups() <= 4);
    CHECK(*f.db.query_int("SELECT count(*) FROM machines") == 6);

    // A machine with a seat keeps it: known, the same id, nothing new written.
    auto seated = f.db.query_texts("SELECT fingerprint FROM machines WHERE license_id = 'L1'");
    REQUIRE(seated);
    REQUIRE(!seated->empty());
    int machine = std::stoi(seated->front().substr(3));
    auto again = batcher.claim(claim("L1", machine));
    REQUIRE(again);
    CHECK(again->known);
    REQUIRE(again->machine_id);
    CHECK(f.active("L1") == 3);
}

TEST_CASE("a seat claim whose write fails is undone alone and answered with an error, and the "
          "next one is written",
          "[service][seats]") {
    Fixture f;
    service::SeatBatcher batcher(f.path);
    // The machines table refuses inserts for the moment.
    REQUIRE(f.db.exec("CREATE TRIGGER refuse BEFORE INSERT ON machines BEGIN SELECT "
                      "RAISE(ABORT, 'refused for the test'); END"));
    auto seat = batcher.claim(claim("L1", 1));
    CHECK(!seat);
    CHECK(f.active("L1") == 0);
    REQUIRE(f.db.exec("DROP TRIGGER refuse"));
    seat = batcher.claim(claim("L1", 1));
    REQUIRE(seat);
    CHECK(seat->machine_id);
    CHECK(f.active("L1") == 1);
}
