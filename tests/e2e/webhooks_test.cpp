// Outbound webhooks against a local receiver on loopback: signatures, retries, dead letters,
// and deliveries that survive a restart.

#include <catch2/catch.hpp>

#include <atomic>
#include <mutex>
#include <set>
#include <thread>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "keysat/crypto/hash.hpp"
#include "keysat/db/database.hpp"
#include "keysat/service/webhooks.hpp"
#include "keysat/util/encoding.hpp"
#include "support/server_process.hpp"
#include "support/support.hpp"

using namespace keysat;
using nlohmann::json;

namespace {

struct Received {
    std::string body, event, delivery, signature, signature_v2;
};

// Records every POST; answers 500 to the first `fail_first` of them.
class Receiver {
  public:
    explicit Receiver(int fail_first = 0) : m_fail_first(fail_first) {
        m_server.Post("/hook", [this](const httplib::Request& req, httplib::Response& res) {
            std::lock_guard lock(m_mutex);
            m_received.push_back({req.body, req.get_header_value("X-Keysat-Event"),
                                  req.get_header_value("X-Keysat-Delivery"),
                                  req.get_header_value("X-Keysat-Signature"),
                                  req.get_header_value("X-Keysat-Signature-V2")});
            res.status = static_cast<int>(m_received.size()) <= m_fail_first ? 500 : 200;
        });
        m_port = m_server.bind_to_any_port("127.0.0.1");
        m_thread = std::thread([this] { m_server.listen_after_bind(); });
        // stop() does nothing before the server runs, so do not hand out a receiver earlier.
        while (!m_server.is_running())
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    ~Receiver() {
        m_server.stop();
        m_thread.join();
    }
    std::string url() const { return "http://127.0.0.1:" + std::to_string(m_port) + "/hook"; }
    std::vector<Received> received() {
        std::lock_guard lock(m_mutex);
        return m_received;
    }
    // Waits until `n` requests arrived (up to `seconds`).
    bool wait_for(std::size_t n, int seconds = 10) {
        for (int i = 0; i < seconds * 50; ++i) {
            if (received().size() >= n)
                return true;
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        return false;
    }

  private:
    httplib::Server m_server;
    int m_port = 0;
    int m_fail_first;
    std::thread m_thread;
    std::mutex m_mutex;
    std::vector<Received> m_received;
};

} // namespace

TEST_CASE("retry schedule: 5 s to 2 h, dead after the 10th failure", "[service]") {
    CHECK(service::retry_delay(1) == 5);
    CHECK(service::retry_delay(9) == 7200);
    CHECK_FALSE(service::retry_delay(10));
}

TEST_CASE("webhooks: signed deliveries, retried with the same bytes", "[e2e][serve][webhooks]") {
    Receiver receiver(2); // the first two attempts fail
    test::TempDir dir;
    test::ServerProcess server(dir / "data", {}, {"KEYSAT_WEBHOOK_RETRY_UNIT_MS=10"});
    auto admin = server.admin_key();
    auto ep =
        server.post("/v1/admin/webhook-endpoints",
                    json{{"url", receiver.url()}, {"events", {"product.created"}}}.dump(), admin);
    REQUIRE(ep.status == 200);
    std::string secret = ep.body["secret"];
    CHECK(server.get("/v1/admin/webhook-endpoints", admin).raw.find(secret) == std::string::npos);
    REQUIRE(server.post("/v1/admin/products", R"({"slug":"app","name":"A","price_sats":1})", admin)
                .status == 200);
    REQUIRE(server.post("/v1/admin/licenses", R"({"product_slug":"app"})", admin).status ==
            200); // not subscribed
    REQUIRE(receiver.wait_for(3));
    auto got = receiver.received();
    CHECK(got.size() == 3);
    for (const auto& r : got) {
        CHECK(r.event == "product.created");
        CHECK(r.body == got[0].body);         // the same bytes on every attempt
        CHECK(r.delivery == got[0].delivery); // a stable delivery id
        auto expected = crypto::hmac_sha256(as_bytes(secret), as_bytes(r.body));
        CHECK(r.signature == "sha256=" + hex_encode(expected));
        auto t = r.signature_v2.substr(2, r.signature_v2.find(',') - 2);
        auto v2 = crypto::hmac_sha256(as_bytes(secret), as_bytes(t + "." + r.body));
        CHECK(r.signature_v2 == "t=" + t + ",v1=" + hex_encode(v2));
    }
    auto body = json::parse(got[0].body);
    CHECK(body["event_type"] == "product.created");
    CHECK(body["data"]["slug"] == "app");
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    CHECK(receiver.received().size() == 3); // delivered: never sent again
    auto deliveries = server.get("/v1/admin/webhook-deliveries?status=delivered", admin);
    REQUIRE(deliveries.body["deliveries"].size() == 1);
    CHECK(deliveries.body["deliveries"][0]["attempts"] == 3);
}

TEST_CASE("webhooks: a restart loses no pending delivery", "[e2e][serve][webhooks]") {
    test::TempDir dir;
    std::string url;
    {
        Receiver closed; // bound to learn a port, then gone: connections are refused
        url = closed.url();
    }
    {
        test::ServerProcess server(dir / "data", {}, {"KEYSAT_WEBHOOK_RETRY_UNIT_MS=10"});
        auto admin = server.admin_key();
        REQUIRE(
            server.post("/v1/admin/webhook-endpoints", json{{"url", url}}.dump(), admin).status ==
            200);
        REQUIRE(
            server.post("/v1/admin/products", R"({"slug":"app","name":"A","price_sats":1})", admin)
                .status == 200);
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        CHECK(server.stop() == 0);
    }
    auto db = db::Database::open(dir / "data/keysat.db", db::OpenMode::read_only);
    REQUIRE(db);
    CHECK(*db->query_int("SELECT count(*) FROM webhook_deliveries WHERE delivered_at IS NULL") ==
          1);
}

TEST_CASE("webhooks: an endpoint that always fails ends in the dead-letter queue, and an "
          "operator retry sends it again",
          "[e2e][serve][webhooks][slow]") {
    Receiver receiver(1000);
    test::TempDir dir;
    test::ServerProcess server(dir / "data", {}, {"KEYSAT_WEBHOOK_RETRY_UNIT_MS=1"});
    auto admin = server.admin_key();
    REQUIRE(server.post("/v1/admin/webhook-endpoints", json{{"url", receiver.url()}}.dump(), admin)
                .status == 200);
    REQUIRE(server.post("/v1/admin/products", R"({"slug":"app","name":"A","price_sats":1})", admin)
                .status == 200);
    REQUIRE(receiver.wait_for(10, 30));
    json dead;
    for (int i = 0; i < 100 && dead.empty(); ++i) {
        dead = server.get("/v1/admin/webhook-deliveries?status=failed", admin).body["deliveries"];
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    REQUIRE(dead.size() == 1);
    CHECK(dead[0]["attempts"] == 10);
    CHECK(dead[0]["last_status"] == 500);
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    CHECK(receiver.received().size() == 10);
    std::string id = dead[0]["id"];
    CHECK(server.post("/v1/admin/webhook-deliveries/" + id + "/retry", "", admin).status == 200);
    CHECK(receiver.wait_for(11));
}

TEST_CASE("webhooks: roles that cannot change webhooks see no capability URLs or error text",
          "[e2e][serve][webhooks][security]") {
    test::TempDir dir;
    std::string closed_url;
    {
        Receiver closed; // bound to learn a port, then gone: connections are refused
        closed_url = closed.url();
    }
    test::ServerProcess server(dir / "data", {}, {"KEYSAT_WEBHOOK_RETRY_UNIT_MS=10"});
    auto admin = server.admin_key();
    const std::string secret_url =
        "https://ops:hunter2@hooks.example.com:8443/in/pathtoken?token=s3cr3t#x";
    REQUIRE(server.post("/v1/admin/webhook-endpoints", json{{"url", secret_url}}.dump(), admin)
                .status == 200);
    auto closed =
        server.post("/v1/admin/webhook-endpoints", json{{"url", closed_url}}.dump(), admin);
    REQUIRE(closed.status == 200);
    auto reader = server.post("/v1/admin/api-keys", R"({"label":"r","role":"read-only"})", admin);
    REQUIRE(reader.status == 200);
    std::string read_only = reader.body["token"];

    // Tricky spellings: a query or fragment inside the user information, a secret in the path.
    for (const char* tricky :
         {"https://user:pa?ss@tricky.example/x", "https://u:p#w@h.example/",
          "https://discord.example/api/webhooks/1/D1SC0RD", "http://[fd00::1]:9/v6path"})
        REQUIRE(server.post("/v1/admin/webhook-endpoints", json{{"url", tricky}}.dump(), admin)
                    .status == 200);
    auto shown = server.get("/v1/admin/webhook-endpoints", read_only);
    REQUIRE(shown.status == 200);
    auto audit = server.get("/v1/admin/audit", read_only);
    REQUIRE(audit.status == 200);
    for (const auto* raw : {&shown.raw, &audit.raw})
        for (const char* secret :
             {"hunter2", "s3cr3t", "pathtoken", "pa?ss", "ss@", "D1SC0RD", "u:p", "p#w"}) {
            INFO(secret);
            CHECK(raw->find(secret) == std::string::npos);
        }
    std::multiset<std::string> urls;
    for (const auto& e : shown.body["endpoints"])
        urls.insert(e["url"].get<std::string>());
    CHECK(urls.count("https://hooks.example.com:8443/…") == 1);
    CHECK(urls.count("http://[fd00::1]:9/…") == 1);
    CHECK(urls.count("https://discord.example/…") == 1);
    CHECK(urls.count("(hidden)") == 2); // the two with odd user information
    CHECK(server.get("/v1/admin/webhook-endpoints", admin).raw.find(secret_url) !=
          std::string::npos);

    // A delivery to the closed port fails; the reader sees how, not the connection error.
    REQUIRE(server.post("/v1/admin/products", R"({"slug":"app","name":"A","price_sats":1})", admin)
                .status == 200);
    const std::string path =
        "/v1/admin/webhook-deliveries?endpoint_id=" + closed.body["id"].get<std::string>();
    json tried;
    for (int i = 0; i < 100; ++i) {
        tried = server.get(path, admin).body["deliveries"];
        if (!tried.empty() && tried[0]["attempt_count"].get<int>() > 0)
            break;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    REQUIRE_FALSE(tried.empty());
    REQUIRE(tried[0]["last_error"].is_string()); // the operator sees the error text
    CHECK(tried[0]["outcome"] == "failed");
    auto as_reader = server.get(path, read_only).body["deliveries"];
    REQUIRE_FALSE(as_reader.empty());
    CHECK(as_reader[0]["last_error"].is_null());
    CHECK(as_reader[0]["outcome"] == "failed");
}
