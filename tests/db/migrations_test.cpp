#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <thread>

#include "keysat/db/migrations.hpp"
#include "keysat/db/open.hpp"
#include "support/support.hpp"

using namespace keysat;
using namespace keysat::db;

namespace {

Database open_rw(const std::filesystem::path& p) {
    auto db = Database::open(p, OpenMode::read_write_create);
    REQUIRE(db);
    return std::move(*db);
}

std::int64_t count(Database& db, const std::string& table) {
    auto n = db.query_int("SELECT count(*) FROM " + table);
    REQUIRE(n);
    return *n;
}

std::filesystem::path fixture_sql(int version) {
    return std::filesystem::path(test::source_dir()) / "tests/db/fixtures" /
           ("version_" + std::to_string(version) + ".sql");
}

// A database at `version` loaded from its stored fixture, with data in it.
Database database_at(const test::TempDir& dir, int version) {
    auto db = open_rw(dir / "keysat.db");
    REQUIRE(db.exec(test::slurp(fixture_sql(version))));
    return db;
}

UpOptions up_options() {
    return UpOptions{0, false, true, 1800000000};
}

} // namespace

TEST_CASE("an empty file migrates to the latest version with the project's pragmas", "[db]") {
    test::TempDir dir;
    auto db = open_rw(dir / "sub/dir/keysat.db");
    auto r = migrate_up(db, up_options());
    REQUIRE(r);
    CHECK(r->from == 0);
    CHECK(r->to == latest_version());
    CHECK(r->backup_path.empty()); // nothing to back up yet
    CHECK(*db.query_int("PRAGMA user_version") == latest_version());
    CHECK(*db.query_texts("PRAGMA journal_mode") == std::vector<std::string>{"wal"});
    CHECK(*db.query_int("PRAGMA foreign_keys") == 1);
    CHECK(*db.query_int("PRAGMA synchronous") == 1); // NORMAL
    auto status = schema_status(db);
    REQUIRE(status);
    CHECK(status->pending.empty());
    CHECK(status->applied.size() == migration_sources().size());
    CHECK(require_current(db));
    auto report = verify_database(db);
    REQUIRE(report);
    CHECK(report->problems.empty());
    for (const char* table :
         {"products",          "policies",           "licenses",       "machines",
          "signing_keys",      "invoices",           "discount_codes", "discount_redemptions",
          "merchant_profiles", "payment_providers",  "subscriptions",  "tier_changes",
          "webhook_endpoints", "webhook_deliveries", "api_keys",       "audit_log",
          "settings",          "rate_limit_buckets", "validation_log", "ledger_imports"})
        CHECK(count(db, table) == 0);
}

TEST_CASE("every historical version has a stored fixture", "[db]") {
    for (int v = 1; v < latest_version(); ++v) {
        INFO("version " << v);
        CHECK(std::filesystem::exists(fixture_sql(v)));
    }
}

TEST_CASE("upgrading from every historical version keeps the data", "[db]") {
    for (int v = 1; v < latest_version(); ++v) {
        INFO("from version " << v);
        test::TempDir dir;
        auto db = database_at(dir, v);
        auto before = schema_status(db);
        REQUIRE(before);
        CHECK(before->current == v);
        auto requirement = require_current(db);
        REQUIRE_FALSE(requirement);
        CHECK(requirement.error().code == Errc::needs_migrate);
        CHECK_THAT(requirement.error().message, Catch::Contains("keysat-migrate up"));
        auto licenses = count(db, "licenses");
        auto machines = count(db, "machines");
        auto invoices = count(db, "invoices");
        REQUIRE(licenses > 0);
        auto r = migrate_up(db, up_options());
        REQUIRE(r);
        CHECK(r->from == v);
        CHECK(r->to == latest_version());
        CHECK_FALSE(r->backup_path.empty());
        CHECK(std::filesystem::exists(r->backup_path));
        CHECK(count(db, "licenses") == licenses);
        CHECK(count(db, "machines") == machines);
        CHECK(count(db, "invoices") == invoices);
        auto key = db.query_texts("SELECT license_key FROM licenses WHERE id = "
                                  "'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee'");
        REQUIRE(key);
        REQUIRE(key->size() == 1);
        CHECK(key->front().starts_with("LIC1-AIBW6RVE"));
        CHECK(
            *db.query_texts("SELECT suspension_reason FROM licenses WHERE status = 'suspended'") ==
            std::vector<std::string>{"chargeback"});
        CHECK(verify_database(db)->problems.empty());
        // The backup is the database as it was: still at the old version, with the same data.
        auto backup = Database::open(r->backup_path, OpenMode::read_only);
        REQUIRE(backup);
        CHECK(schema_status(*backup)->current == v);
        CHECK(count(*backup, "licenses") == licenses);
    }
}

TEST_CASE("version 4 gives policies their storefront fields and archive time", "[db]") {
    test::TempDir dir;
    auto db = database_at(dir, 3);
    REQUIRE(migrate_up(db, up_options()));
    // Existing tiers get Keysat's defaults; an archived one is dated by its last change.
    CHECK(*db.query_texts("SELECT description || '|' || highlighted || '|' || "
                          "marketing_bullets_position || '|' || metadata || '|' || "
                          "grace_period_days FROM policies WHERE slug = 'pro-yearly'") ==
          std::vector<std::string>{"|0|above|{}|7"});
    CHECK(*db.query_int("SELECT archived_at FROM policies WHERE slug = 'legacy'") == 1700000500);
    CHECK(*db.query_int("SELECT count(*) FROM policies WHERE archived = 0 AND archived_at IS NOT "
                        "NULL") == 0);
    CHECK(*db.query_texts("SELECT description FROM webhook_endpoints") ==
          std::vector<std::string>{""});
    // The new columns hold only what Keysat allows.
    CHECK_FALSE(db.exec("UPDATE policies SET marketing_bullets_position = 'beside'"));
    CHECK_FALSE(db.exec("UPDATE policies SET grace_period_days = 91"));
    CHECK_FALSE(db.exec("UPDATE policies SET highlighted = 2"));
}

TEST_CASE("version 5 names audit actors by key id and erases the plain credential hashes",
          "[db][security]") {
    test::TempDir dir;
    auto db = database_at(dir, 4);
    CHECK(*db.query_int("SELECT count(*) FROM audit_log WHERE actor_sha256 IS NOT NULL") == 3);
    REQUIRE(migrate_up(db, up_options()));
    CHECK(*db.query_int("SELECT count(*) FROM audit_log WHERE actor_sha256 IS NOT NULL") == 0);
    CHECK(*db.query_texts("SELECT coalesce(actor_id, '-') || '|' || coalesce(actor_hmac, '-') "
                          "FROM audit_log ORDER BY id") ==
          std::vector<std::string>{"master|-", "16161616-0000-4000-8000-00000000000a|-", "-|-"});
}

TEST_CASE("a failing migration leaves the database exactly at the previous version", "[db]") {
    test::TempDir dir;
    auto db = database_at(dir, 1);
    auto sources = migration_sources();
    sources.resize(1);
    std::string bad_sql =
        "CREATE TABLE half_done (x INTEGER);\nINSERT INTO no_such_table VALUES (1);";
    sources.push_back({2, "0002_broken", bad_sql});
    auto r = migrate_up(db, up_options(), sources);
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Catch::Contains("left at version 1"));
    CHECK(schema_status(db, sources)->current == 1);
    CHECK(*db.query_int("SELECT count(*) FROM sqlite_master WHERE name = 'half_done'") == 0);
    CHECK(*db.query_int("SELECT count(*) FROM schema_migrations") == 1);
}

TEST_CASE("checksum drift and future versions are refused and change nothing", "[db]") {
    test::TempDir dir;
    auto db = database_at(dir, 1);
    REQUIRE(db.exec("UPDATE schema_migrations SET checksum = 'abc' WHERE version = 1"));
    auto status = schema_status(db);
    REQUIRE(status);
    REQUIRE(status->drift.size() == 1);
    auto r = migrate_up(db, up_options());
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Catch::Contains("changed after it was applied"));
    CHECK(schema_status(db)->current == 1);
    for (const auto& entry : std::filesystem::directory_iterator(dir.path()))
        CHECK_FALSE(entry.path().filename().string().starts_with("keysat.db.bak"));
    CHECK_FALSE(verify_database(db)->problems.empty());

    test::TempDir dir2;
    auto future = database_at(dir2, 1);
    REQUIRE(future.exec("UPDATE schema_meta SET value = 99 WHERE key = 'version'"));
    auto f = migrate_up(future, up_options());
    REQUIRE_FALSE(f);
    CHECK_THAT(f.error().message, Catch::Contains("newer than this program"));
    auto req = require_current(future);
    REQUIRE_FALSE(req);
    CHECK(req.error().code == Errc::usage);
}

TEST_CASE("files that are not Keysat databases are refused", "[db]") {
    test::TempDir dir;
    test::spit(dir / "garbage.db", std::string(8192, 'x'));
    auto g = Database::open(dir / "garbage.db", OpenMode::read_write);
    REQUIRE_FALSE(g);
    CHECK_THAT(g.error().message, Catch::Contains("not a SQLite database"));
    CHECK(test::slurp(dir / "garbage.db") == std::string(8192, 'x'));

    auto other = open_rw(dir / "other.db");
    REQUIRE(other.exec("CREATE TABLE notes (body TEXT)"));
    auto s = schema_status(other);
    REQUIRE_FALSE(s);
    CHECK_THAT(s.error().message, Catch::Contains("not a Keysat database"));
    CHECK_FALSE(migrate_up(other, up_options()));
    CHECK(*other.query_int("SELECT count(*) FROM sqlite_master") == 1);

    auto missing = open_current(dir / "missing.db");
    REQUIRE_FALSE(missing);
    CHECK_THAT(missing.error().message, Catch::Contains("keysat-migrate up"));
    CHECK_FALSE(std::filesystem::exists(dir / "missing.db"));
}

TEST_CASE("up --to stops at a version, dry runs change nothing", "[db]") {
    test::TempDir dir;
    auto db = open_rw(dir / "keysat.db");
    auto dry = migrate_up(db, UpOptions{0, true, true, 0});
    REQUIRE(dry);
    CHECK(dry->applied.size() == migration_sources().size());
    CHECK(schema_status(db)->current == 0);
    auto one = migrate_up(db, UpOptions{1, false, true, 0});
    REQUIRE(one);
    CHECK(schema_status(db)->current == 1);
    CHECK_FALSE(migrate_up(db, UpOptions{latest_version() + 1, false, true, 0}));
}

TEST_CASE("the online backup copies a database that another connection is using", "[db]") {
    test::TempDir dir;
    auto db = open_rw(dir / "keysat.db");
    REQUIRE(migrate_up(db, up_options()));
    auto writer = open_rw(dir / "keysat.db");
    REQUIRE(writer.exec("INSERT INTO settings (key, value, updated_at) VALUES ('a', 'b', 1)"));
    REQUIRE(writer.exec("BEGIN IMMEDIATE; INSERT INTO settings (key, value, updated_at) VALUES "
                        "('uncommitted', 'x', 2)"));
    REQUIRE(db.backup_to(dir / "copy.db"));
    REQUIRE(writer.exec("COMMIT"));
    auto copy = Database::open(dir / "copy.db", OpenMode::read_only);
    REQUIRE(copy);
    CHECK(*copy->query_texts("SELECT key FROM settings ORDER BY key") ==
          std::vector<std::string>{"a"});
    CHECK(verify_database(*copy)->problems.empty());
}

TEST_CASE("the online backup of a large database finishes while another connection keeps "
          "committing, and the copy is its owner's only",
          "[db][backup]") {
    test::TempDir dir;
    auto db = open_rw(dir / "keysat.db");
    REQUIRE(migrate_up(db, up_options()));
    // About 16 MiB, far more than one step of the former 1024-page copy.
    REQUIRE(db.exec("CREATE TABLE filler (b BLOB); WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL "
                    "SELECT i + 1 FROM n WHERE i < 4000) INSERT INTO filler SELECT "
                    "randomblob(4096) FROM n"));
    std::atomic<bool> stop{false};
    std::atomic<int> commits{0};
    std::thread writer_thread([&] {
        auto writer = open_rw(dir / "keysat.db");
        while (!stop)
            if (writer.exec("INSERT INTO settings (key, value, updated_at) VALUES (hex(randomblob("
                            "8)), 'v', 1)"))
                ++commits;
    });
    while (commits < 20)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    int before = commits;
    auto started = std::chrono::steady_clock::now();
    auto done = db.backup_to(dir / "copy.db");
    auto took = std::chrono::steady_clock::now() - started;
    int during = commits - before;
    stop = true;
    writer_thread.join();
    REQUIRE(done);
    INFO(during << " commits during the copy");
    CHECK(during > 0); // the writer was not held up
    CHECK(took < std::chrono::seconds(30));
    CHECK((std::filesystem::status(dir / "copy.db").permissions() &
           (std::filesystem::perms::group_all | std::filesystem::perms::others_all)) ==
          std::filesystem::perms::none);
    auto copy = Database::open(dir / "copy.db", OpenMode::read_only);
    REQUIRE(copy);
    CHECK(copy->query_int("SELECT COUNT(*) FROM filler").value_or(0) == 4000);
    CHECK(verify_database(*copy)->problems.empty());
}

TEST_CASE("the database path: --db, then KEYSAT_DB_PATH, then var/keysat.db", "[db]") {
    CHECK(resolve_db_path("x.db") == "x.db");
    ::setenv("KEYSAT_DB_PATH", "/srv/keysat.db", 1);
    CHECK(resolve_db_path("") == "/srv/keysat.db");
    ::unsetenv("KEYSAT_DB_PATH");
    CHECK(resolve_db_path("") == "var/keysat.db");
}

TEST_CASE("version 6 keeps a profile's contact as its support address and adds no default",
          "[db]") {
    test::TempDir dir;
    auto db = database_at(dir, 5);
    REQUIRE(migrate_up(db, up_options()));
    CHECK(*db.query_texts("SELECT support_email || '|' || is_default || '|' || updated_at FROM "
                          "merchant_profiles") ==
          std::vector<std::string>{"sales@acme.test|0|1700000000"});
    // Existing providers get an empty label; products no profile.
    CHECK(*db.query_texts("SELECT '[' || label || ']' FROM payment_providers") ==
          std::vector<std::string>{"[]"});
    CHECK(*db.query_int("SELECT count(*) FROM products WHERE merchant_profile_id IS NOT NULL") ==
          0);
    // At most one default profile.
    REQUIRE(db.exec("UPDATE merchant_profiles SET is_default = 1"));
    REQUIRE(db.exec("INSERT INTO merchant_profiles (id, name, created_at, is_default) VALUES "
                    "('m2', 'Two', 1, 0)"));
    CHECK_FALSE(db.exec("UPDATE merchant_profiles SET is_default = 1 WHERE id = 'm2'"));
}

TEST_CASE("version 7 carries subscriptions over with their plan and gives periods in days",
          "[db]") {
    test::TempDir dir;
    auto db = database_at(dir, 6);
    REQUIRE(db.exec("UPDATE policies SET recurring_period = 'year' WHERE slug = 'pro-yearly'"));
    REQUIRE(migrate_up(db, up_options()));
    // The stored subscription keeps its id, license, status and period end, and gains its
    // product, period, price as listed and grace from its policy.
    CHECK(
        *db.query_texts(
            "SELECT id || '|' || license_id || '|' || status || '|' || current_period_end || "
            "'|' || period_days || '|' || listed_currency || '|' || listed_value || '|' || "
            "grace_days || '|' || product_id || '|' || consecutive_failures FROM subscriptions") ==
        std::vector<std::string>{"13131313-0000-4000-8000-000000000007|aaaaaaaa-bbbb-cccc-dddd-"
                                 "eeeeeeeeeeee|active|1731536000|365|SAT|50000|7|6f46a4f6-0d2f-"
                                 "4a28-b6aa-3e8fbf6f28f0|0"});
    CHECK(*db.query_texts("SELECT slug || '=' || coalesce(renewal_period_days, 'none') FROM "
                          "policies ORDER BY slug") ==
          std::vector<std::string>{"legacy=none", "pro-yearly=365"});
    // Existing invoices are purchases; a trialing status is accepted now.
    CHECK(*db.query_int("SELECT count(*) FROM invoices WHERE purpose <> 'purchase'") == 0);
    REQUIRE(db.exec("UPDATE subscriptions SET status = 'trialing'"));
    CHECK_FALSE(db.exec("UPDATE subscriptions SET status = 'paused'"));
    CHECK(*db.query_int("SELECT count(*) FROM tier_changes WHERE status <> 'applied'") == 0);
}
