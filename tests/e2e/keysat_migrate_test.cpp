// End-to-end: keysat-migrate, keysat-issue --db, and kill -9 at any moment.

#include <catch2/catch.hpp>

#include <chrono>
#include <csignal>
#include <fcntl.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include "keysat/db/database.hpp"
#include "keysat/db/migrations.hpp"
#include "support/support.hpp"

using namespace keysat;
using test::run;

using test::migrate_bin;

namespace {

const char* k_product = "6f46a4f6-0d2f-4a28-b6aa-3e8fbf6f28f0";

std::string csv_of(int n) {
    std::string csv = "product,email,days\n";
    for (int i = 0; i < n; ++i)
        csv += std::string(k_product) + ",u" + std::to_string(i) + "@example.com,30\n";
    return csv;
}

std::int64_t query(const std::filesystem::path& path, const std::string& sql) {
    auto db = db::Database::open(path, db::OpenMode::read_only);
    REQUIRE(db);
    auto v = db->query_int(sql);
    REQUIRE(v);
    return *v;
}

// Starts a program with stdin from a file and stdout/stderr to /dev/null; returns its pid.
pid_t spawn(const std::vector<std::string>& argv, const std::filesystem::path& input) {
    test::Exec program(argv);
    pid_t pid = ::fork();
    if (pid == 0) {
        int in = ::open(input.c_str(), O_RDONLY);
        int null = ::open("/dev/null", O_WRONLY);
        ::dup2(in, 0);
        ::dup2(null, 1);
        ::dup2(null, 2);
        program.replace_process();
    }
    return pid;
}

// Kills `pid` with SIGKILL after `delay`, unless it already finished. True when it was killed.
bool kill_after(pid_t pid, std::chrono::milliseconds delay) {
    std::this_thread::sleep_for(delay);
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    return WIFSIGNALED(status);
}

} // namespace

TEST_CASE("keysat-migrate: status, up, verify, backup and their exit codes", "[e2e][db]") {
    test::TempDir dir;
    auto db = (dir / "var/keysat.db").string();
    auto status = run({migrate_bin(), "status", "--db", db});
    CHECK(status.exit_code == 3); // pending
    CHECK_THAT(status.out, Catch::Contains("pending   0001_initial"));
    auto dry = run({migrate_bin(), "up", "--dry-run", "--db", db});
    CHECK(dry.exit_code == 0);
    CHECK_THAT(dry.out, Catch::Contains("CREATE TABLE licenses"));
    CHECK_FALSE(std::filesystem::exists(db));
    // --db, which every subcommand takes, may stand before the subcommand too (as with git).
    auto before = run({migrate_bin(), "--db", db, "up"});
    CHECK(before.exit_code == 0);
    CHECK_THAT(before.err, Catch::Contains(db));
    CHECK(run({migrate_bin(), "status", "--db", db}).exit_code == 0);
    CHECK(run({migrate_bin(), "--db", db, "status"}).exit_code == 0);
    CHECK(run({migrate_bin(), "--db", db, "verify"}).exit_code == 0);
    auto json_status = run({migrate_bin(), "status", "--json", "--db", db});
    CHECK_THAT(json_status.out, Catch::Contains("\"pending\":[]"));
    CHECK(run({migrate_bin(), "verify", "--db", db}).exit_code == 0);
    CHECK(
        run({migrate_bin(), "backup", "--db", db, "--to", (dir / "copy.db").string()}).exit_code ==
        0);
    CHECK(run({migrate_bin(), "verify", "--db", (dir / "copy.db").string()}).exit_code == 0);
    // KEYSAT_DB_PATH is the fallback for --db.
    CHECK(run({migrate_bin(), "status"}, "", {"KEYSAT_DB_PATH=" + db}).exit_code == 0);
    test::spit(dir / "text.db", "this is not a database, it is a text file of some length....\n");
    auto bad = run({migrate_bin(), "up", "--db", (dir / "text.db").string()});
    CHECK(bad.exit_code == 2);
    CHECK_THAT(bad.err, Catch::Contains("not a SQLite database"));
}

TEST_CASE("tools exit 3 on a database that needs migrating", "[e2e][db]") {
    test::TempDir dir;
    auto db = (dir / "keysat.db").string();
    REQUIRE(run({migrate_bin(), "up", "--to", "1", "--db", db}).exit_code == 0);
    REQUIRE(
        run({test::issue_bin(), "keygen", "--unencrypted", "-o", (dir / "k").string()}).exit_code ==
        0);
    auto r =
        run({test::issue_bin(), "bulk", "-s", (dir / "k.key").string(), "--db", db}, csv_of(3));
    CHECK(r.exit_code == 3);
    CHECK_THAT(r.err, Catch::Contains("keysat-migrate up"));
    CHECK(r.out.empty());
    auto up = run({migrate_bin(), "up", "--db", db});
    CHECK(up.exit_code == 0);
    CHECK_THAT(up.err, Catch::Contains("backup: "));
    CHECK(run({test::issue_bin(), "bulk", "-s", (dir / "k.key").string(), "--db", db}, csv_of(3))
              .exit_code == 0);
}

TEST_CASE("bulk --db and license --db record idempotently, ledgers import once", "[e2e][db]") {
    test::TempDir dir;
    auto db = (dir / "keysat.db").string();
    REQUIRE(run({migrate_bin(), "up", "--db", db}).exit_code == 0);
    REQUIRE(
        run({test::issue_bin(), "keygen", "--unencrypted", "-o", (dir / "k").string()}).exit_code ==
        0);
    std::vector<std::string> bulk{test::issue_bin(),        "bulk", "-s",
                                  (dir / "k.key").string(), "--db", db};
    auto first = run(bulk, csv_of(50));
    REQUIRE(first.exit_code == 0);
    CHECK(query(db, "SELECT count(*) FROM licenses WHERE source = 'issue'") == 50);
    auto second = run(bulk, csv_of(60));
    CHECK(second.exit_code == 0);
    CHECK(std::count(second.out.begin(), second.out.end(), '\n') == 10);
    CHECK_THAT(second.err, Catch::Contains("skipped 50 already recorded"));
    CHECK(query(db, "SELECT count(*) FROM licenses") == 60);

    std::vector<std::string> one{test::issue_bin(), "license", "-s",   (dir / "k.key").string(),
                                 "--product",       k_product, "--db", db,
                                 "--id-key",        "order-7"};
    auto a = run(one);
    auto b = run(one);
    CHECK(a.exit_code == 0);
    CHECK(a.out == b.out);
    CHECK(query(db, "SELECT count(*) FROM licenses") == 61);

    // An air-gapped ledger, signed by another key, imports with that key trusted.
    REQUIRE(run({test::issue_bin(), "keygen", "--unencrypted", "-o", (dir / "air").string()})
                .exit_code == 0);
    auto ledger =
        run({test::issue_bin(), "bulk", "-s", (dir / "air.key").string(), "--product", k_product},
            "email\nx@example.com\ny@example.com\n");
    REQUIRE(ledger.exit_code == 0);
    test::spit(dir / "ledger.jsonl", ledger.out);
    auto untrusted =
        run({migrate_bin(), "import-ledger", "--db", db, (dir / "ledger.jsonl").string()});
    CHECK(untrusted.exit_code == 1);
    CHECK(query(db, "SELECT count(*) FROM licenses") == 61);
    // Trusted, but of a product this database does not have: refused, naming the line.
    auto trusted_unknown = run({migrate_bin(), "import-ledger", "--db", db, "-p",
                                (dir / "air.pub").string(), (dir / "ledger.jsonl").string()});
    CHECK(trusted_unknown.exit_code == 1);
    CHECK_THAT(trusted_unknown.err, Catch::Contains("line 1: product " + std::string(k_product)));
    {
        auto rw = db::Database::open(db, db::OpenMode::read_write);
        REQUIRE(rw);
        REQUIRE(rw->exec(std::string("INSERT INTO products (id, slug, name, created_at, "
                                     "updated_at) VALUES ('") +
                         k_product + "', 'app', 'App', 1, 1)"));
    }
    std::vector<std::string> import{migrate_bin(),
                                    "import-ledger",
                                    "--db",
                                    db,
                                    "-p",
                                    (dir / "air.pub").string(),
                                    (dir / "ledger.jsonl").string()};
    CHECK(run(import).exit_code == 0);
    CHECK(run(import).exit_code == 0);
    CHECK(query(db, "SELECT count(*) FROM licenses WHERE source = 'ledger'") == 2);
    CHECK(run({migrate_bin(), "verify", "--db", db}).exit_code == 0);
}

TEST_CASE("kill -9 during bulk --db leaves whole batches only, and a rerun completes",
          "[e2e][db][slow]") {
    test::TempDir dir;
    auto db = (dir / "keysat.db").string();
    REQUIRE(run({migrate_bin(), "up", "--db", db}).exit_code == 0);
    REQUIRE(
        run({test::issue_bin(), "keygen", "--unencrypted", "-o", (dir / "k").string()}).exit_code ==
        0);
    constexpr int k_lines = 30000;
    test::spit(dir / "in.csv", csv_of(k_lines));
    std::vector<std::string> bulk{
        test::issue_bin(), "bulk", "-s", (dir / "k.key").string(), "--db", db, "--jobs", "1"};
    int killed = 0;
    for (int delay_ms : {150, 300, 450}) {
        pid_t pid = spawn(bulk, dir / "in.csv");
        killed += kill_after(pid, std::chrono::milliseconds(delay_ms));
        auto rows = query(db, "SELECT count(*) FROM licenses");
        INFO("after a kill at " << delay_ms << " ms: " << rows << " rows");
        CHECK((rows % 4096 == 0 || rows == k_lines)); // batches are whole
        CHECK(run({migrate_bin(), "verify", "--db", db}).exit_code == 0);
    }
    CHECK(killed > 0); // the test proves nothing if every run finished first
    auto rest = run({test::issue_bin(), "bulk", "-s", (dir / "k.key").string(), "--db", db},
                    test::slurp(dir / "in.csv"));
    CHECK(rest.exit_code == 0);
    CHECK(query(db, "SELECT count(*) FROM licenses") == k_lines);
    CHECK(query(db, "SELECT count(DISTINCT id_key) FROM licenses") == k_lines);
}

TEST_CASE("kill -9 during a migration leaves a consistent version", "[e2e][db][slow]") {
    test::TempDir dir;
    auto db = dir / "keysat.db";
    {
        auto d = db::Database::open(db, db::OpenMode::read_write_create);
        REQUIRE(d);
        REQUIRE(d->exec(test::slurp(std::filesystem::path(test::source_dir()) /
                                    "tests/db/fixtures/version_1.sql")));
        // Enough rows that migrating (index build) and the backup before it take a while.
        REQUIRE(
            d->exec("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < "
                    "300000) INSERT INTO licenses (id, product_id, issued_at, license_key, "
                    "signing_key_id, created_at, updated_at) SELECT printf('%08d-0000-4000-8000-"
                    "000000000000', i), 'p', 1, 'LIC1-' || i, '4EBD15E228CBD1DC', 1, 1 FROM n"));
    }
    auto rows = query(db, "SELECT count(*) FROM licenses");
    int killed = 0;
    for (int delay_ms : {20, 80, 200, 400}) {
        test::spit(dir / "empty", "");
        pid_t pid = spawn({migrate_bin(), "up", "--db", db.string()}, dir / "empty");
        killed += kill_after(pid, std::chrono::milliseconds(delay_ms));
        auto version = query(db, "SELECT value FROM schema_meta WHERE key = 'version'");
        INFO("after a kill at " << delay_ms << " ms: version " << version);
        CHECK((version == 1 || version == db::latest_version()));
        CHECK(query(db, "SELECT count(*) FROM schema_migrations") == version);
        CHECK(query(db, "SELECT count(*) FROM licenses") == rows);
        CHECK(run({migrate_bin(), "verify", "--db", db.string()}).exit_code == 0);
        if (version == db::latest_version())
            break;
    }
    CHECK(killed > 0);
    CHECK(run({migrate_bin(), "up", "--db", db.string()}).exit_code == 0);
    CHECK(query(db, "SELECT value FROM schema_meta WHERE key = 'version'") == db::latest_version());
    CHECK(query(db, "SELECT count(*) FROM licenses") == rows);
}

TEST_CASE("a read-only database file is refused and left alone", "[e2e][db]") {
    test::TempDir dir;
    auto db = dir / "keysat.db";
    REQUIRE(run({migrate_bin(), "up", "--to", "1", "--db", db.string()}).exit_code == 0);
    std::filesystem::permissions(dir.path(), std::filesystem::perms::all);
    std::filesystem::permissions(db, std::filesystem::perms::owner_read |
                                         std::filesystem::perms::group_read |
                                         std::filesystem::perms::others_read);
    auto before = test::slurp(db);
    // root ignores file modes, so the check runs as an unprivileged user when we are root.
    std::vector<std::string> cmd{migrate_bin(), "up", "--db", db.string()};
    if (::geteuid() == 0) {
        REQUIRE(test::have_program("setpriv"));
        cmd.insert(cmd.begin(), {"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"});
    }
    auto r = run(cmd);
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Catch::Contains("read-only"));
    CHECK(test::slurp(db) == before);
}
