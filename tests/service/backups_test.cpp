// Scheduled backups (service::take_backup) of a real SQLite file: each copy checked, the oldest
// beyond `keep` rotated out, files that are not ours left alone.

#include <catch2/catch.hpp>

#include <fstream>

#include <sys/stat.h>

#include "keysat/db/migrations.hpp"
#include "keysat/service/backups.hpp"
#include "support/db_support.hpp"
#include "support/support.hpp"

using namespace keysat;
namespace fs = std::filesystem;

TEST_CASE("scheduled backups are checked copies, named by time, and only the newest `keep` stay",
          "[service][backups]") {
    test::TempDir dir;
    db::Database db = test::fresh_database(dir / "keysat.db");
    REQUIRE(db.exec("INSERT INTO settings (key, value, updated_at) VALUES ('operator_name', "
                    "'Shop', 0)"));
    auto backups = dir / "backups";
    fs::create_directories(backups);
    std::ofstream(backups / "notes.txt") << "the operator's own file";
    std::ofstream(backups / "keysat-not-a-time.db") << "not ours either";
    CHECK_FALSE(service::newest_backup_time(backups));

    const std::int64_t t0 = 1'796'100'000; // 2026-12-01T04:40:00Z
    std::vector<fs::path> taken;
    for (int i = 0; i < 3; ++i) {
        auto r = service::take_backup(db, backups, 2, t0 + i * 3600);
        REQUIRE(r);
        taken.push_back(r->path);
        CHECK(r->removed == (i == 2 ? 1 : 0));
    }
    CHECK(taken[0].filename() == "keysat-20261201T044000Z.db");
    CHECK_FALSE(fs::exists(taken[0]));
    CHECK(fs::exists(taken[1]));
    CHECK(fs::exists(taken[2]));
    CHECK(fs::exists(backups / "notes.txt"));
    CHECK(fs::exists(backups / "keysat-not-a-time.db"));
    CHECK(service::newest_backup_time(backups) == t0 + 2 * 3600);
    // Each copy opens, checks clean and holds the data; only its owner may read it.
    auto copy = db::Database::open(taken[2], db::OpenMode::read_only);
    REQUIRE(copy);
    auto report = db::verify_database(*copy);
    REQUIRE(report);
    CHECK(report->problems.empty());
    CHECK(copy->query_int("SELECT count(*) FROM settings WHERE value = 'Shop'") == 1);
    struct stat st {};
    REQUIRE(::stat(taken[2].c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    // A directory that cannot be made is an error naming it; nothing is removed.
    std::ofstream(dir / "a-file") << "x";
    auto bad = service::take_backup(db, dir / "a-file" / "sub", 2, t0 + 4 * 3600);
    REQUIRE_FALSE(bad);
    CHECK(bad.error().message.find("a-file") != std::string::npos);
    CHECK(fs::exists(taken[1]));
}
