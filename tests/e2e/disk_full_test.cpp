// keysat-serve with its data directory on a full filesystem: reads go on, writes answer 503 with
// the reason, the validation log drops and counts rows, nothing is half written, and the server
// recovers by itself once there is space. The filesystem is a real, small one: a tmpfs mounted
// for the test where the test may mount (root), otherwise the process's file size limit
// (RLIMIT_FSIZE) stands in for it. The test says which ran.

#include <catch2/catch.hpp>

#include <csignal>
#include <fstream>
#include <regex>

#include <sys/mount.h>
#include <sys/resource.h>

#include <nlohmann/json.hpp>

#include "keysat/db/database.hpp"
#include "support/serve_in_process.hpp"
#include "support/support.hpp"

using namespace keysat;
using nlohmann::json;

namespace {

// A directory whose filesystem can be filled and emptied on demand.
class SmallDisk {
  public:
    explicit SmallDisk(const std::filesystem::path& dir) : m_dir(dir) {
        std::filesystem::create_directories(dir);
        m_mounted = ::mount("keysat-test", dir.c_str(), "tmpfs", MS_NOSUID | MS_NODEV,
                            "size=16m,mode=0700") == 0;
    }
    ~SmallDisk() {
        unfill();
        if (m_mounted)
            ::umount2(m_dir.c_str(), MNT_DETACH);
    }
    SmallDisk(const SmallDisk&) = delete;
    SmallDisk& operator=(const SmallDisk&) = delete;

    const char* kind() const {
        return m_mounted ? "a 16 MiB tmpfs" : "RLIMIT_FSIZE (could not mount a tmpfs)";
    }
    // No more room: the tmpfs filled to its last byte by a file, or no file may grow past the
    // size of the largest one under the directory now.
    void fill() {
        if (m_mounted) {
            std::ofstream out(m_dir / "filler", std::ios::binary);
            std::string block(64 * 1024, 'x');
            while (out.write(block.data(), static_cast<std::streamsize>(block.size())))
                ;
            out.close();
            // The last partial block: byte by byte, until the filesystem refuses.
            FILE* f = std::fopen((m_dir / "filler").c_str(), "ab");
            REQUIRE(f != nullptr);
            std::setvbuf(f, nullptr, _IONBF, 0);
            while (std::fputc('x', f) != EOF)
                ;
            std::fclose(f);
            return;
        }
        std::uintmax_t largest = 0;
        for (const auto& e : std::filesystem::recursive_directory_iterator(m_dir))
            if (e.is_regular_file())
                largest = std::max(largest, e.file_size());
        std::signal(SIGXFSZ, SIG_IGN); // a write past the limit fails with EFBIG instead
        REQUIRE(::getrlimit(RLIMIT_FSIZE, &m_saved) == 0);
        rlimit limit = m_saved;
        limit.rlim_cur = largest;
        REQUIRE(::setrlimit(RLIMIT_FSIZE, &limit) == 0);
        m_limited = true;
    }
    void unfill() {
        if (m_mounted)
            std::filesystem::remove(m_dir / "filler");
        if (m_limited)
            ::setrlimit(RLIMIT_FSIZE, &m_saved);
        m_limited = false;
    }

  private:
    std::filesystem::path m_dir;
    bool m_mounted = false;
    bool m_limited = false;
    rlimit m_saved{};
};

double metric(int port, const std::string& name) {
    auto text = test::http_request(port, "GET", "/metrics", "").raw;
    std::smatch m;
    REQUIRE(std::regex_search(text, m, std::regex("\n" + name + " ([0-9.e+-]+)\n")));
    return std::stod(m[1].str());
}

} // namespace

TEST_CASE("with the data directory on a full filesystem keysat-serve goes on validating, refuses "
          "writes with 503, drops and counts log rows, and recovers by itself when space returns",
          "[e2e][disk-full]") {
    FixedClock clock{1'790'000'000};
    test::TempDir dir;
    SmallDisk disk(dir / "disk");
    WARN("disk-full test on " << disk.kind());
    auto data = dir / "disk" / "data";
    int created = 0;
    int seated = 0;
    {
        test::InProcessServer server(data, "metrics_bind = \"127.0.0.1:0\"\n", clock);
        const auto& admin = server.admin_key();
        std::string key = server.issue_key({{"max_machines", 1000}});
        ++created;
        json validate{{"key", key}, {"fingerprint", "machine-a"}};
        auto first = server.post("/v1/validate", validate.dump());
        REQUIRE(first.status == 200);
        REQUIRE(first.body["ok"] == true); // the seat is taken while there is room
        ++seated;
        auto health = server.get("/healthz");
        REQUIRE(health.status == 200);
        CHECK(health.body["ok"] == true);
        CHECK((health.body["degraded"].is_null() ||
               !health.body["degraded"].dump().contains("database_read_only")));

        disk.fill();
        // Writes until one is refused: SQLite may still have room in pages it holds already.
        test::HttpResult refused;
        for (int i = 0; i < 5000; ++i) {
            auto r = server.post("/v1/admin/licenses", json{{"product_slug", "app"}}.dump(), admin);
            if (r.status == 200) {
                ++created;
                continue;
            }
            refused = r;
            break;
        }
        INFO(refused.raw);
        REQUIRE(refused.status == 503);
        CHECK(refused.body["ok"] == false);
        CHECK(refused.body["error"] == "service_unavailable");
        std::string message = refused.body.value("message", "");
        CHECK(message.contains("disk"));
        CHECK(refused.headers["Retry-After"] == "60");

        // Reads go on: validate of the seated machine, the public catalog, the admin's lists.
        for (int i = 0; i < 20; ++i) {
            auto v = server.post("/v1/validate", validate.dump());
            REQUIRE(v.status == 200);
            CHECK(v.body["ok"] == true);
        }
        CHECK(server.get("/v1/products").status == 200);
        CHECK(server.get("/v1/admin/licenses?limit=5", admin).status == 200);
        // A new machine needs a seat written: refused with the reason, not a 500. SQLite can still
        // write where its WAL has room from before (after a checkpoint it writes over old
        // frames), so a few writes may pass before one meets the full disk; each one that passes
        // is counted and must be in the file after the restart.
        test::HttpResult seat;
        for (int i = 0; i < 200; ++i) {
            seat = server.post(
                "/v1/validate",
                json{{"key", key}, {"fingerprint", "machine-b" + std::to_string(i)}}.dump());
            if (seat.status != 200 || seat.body["ok"] != true)
                break;
            ++seated;
        }
        INFO(seat.raw);
        CHECK(seat.status == 503);
        CHECK(seat.body["error"] == "service_unavailable");

        // The health check says why, for a supervisor (retried: a write that passed in between
        // rightly clears the state until the next one fails).
        json health_body;
        bool read_only = false;
        for (int i = 0; i < 50 && !read_only; ++i) {
            auto r = server.post("/v1/admin/licenses", json{{"product_slug", "app"}}.dump(), admin);
            if (r.status == 200)
                ++created;
            health = server.get("/healthz");
            REQUIRE(health.status == 200);
            health_body = health.body;
            read_only = health.body["degraded"].dump().contains("database_read_only");
        }
        INFO(health_body.dump());
        CHECK(read_only);
        CHECK(health_body["status"] == "degraded");
        CHECK(health_body["degraded"].dump().contains("disk_nearly_full"));

        // The log writer tries its batch (every 200 ms), fails, drops and counts it.
        double dropped = 0;
        for (int i = 0; i < 50 && dropped < 20; ++i) {
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
            dropped = metric(server.metrics_port(), "keysat_validation_log_dropped_total");
        }
        CHECK(dropped >= 20);
        CHECK(metric(server.metrics_port(), "keysat_writes_failing") == 1);

        // Space returns: the next write succeeds, without a restart.
        disk.unfill();
        auto again = server.post("/v1/admin/licenses", json{{"product_slug", "app"}}.dump(), admin);
        INFO(again.raw);
        REQUIRE(again.status == 200);
        ++created;
        seat = server.post("/v1/validate", json{{"key", key}, {"fingerprint", "machine-z"}}.dump());
        ++seated;
        INFO(seat.raw);
        CHECK(seat.status == 200);
        CHECK(seat.body["ok"] == true);
        health = server.get("/healthz");
        CHECK(!health.body["degraded"].dump().contains("database_read_only"));
        CHECK(metric(server.metrics_port(), "keysat_writes_failing") == 0);
        // The log is written again: a validation now lands in the table.
        REQUIRE(server.post("/v1/validate", validate.dump()).status == 200);
    }
    // After a restart: a whole database, with exactly the licenses whose creation was answered.
    auto db_path = data / "keysat.db";
    auto verified = test::run({test::migrate_bin(), "verify", "--db", db_path.string()});
    INFO(verified.out << verified.err);
    CHECK(verified.exit_code == 0);
    auto db = db::Database::open(db_path, db::OpenMode::read_write);
    REQUIRE(db);
    CHECK(*db->query_int("SELECT count(*) FROM licenses") == created);
    CHECK(*db->query_int("SELECT count(*) FROM machines") == seated);
    CHECK(db->query_texts("PRAGMA integrity_check") == std::vector<std::string>{"ok"});
    CHECK(*db->query_int("SELECT count(*) FROM validation_log") >= 2);
}
