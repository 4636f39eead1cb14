// Outbound webhooks against a local receiver on loopback: signatures, retries, dead letters,
// and deliveries that survive a restart.

#include <catch2/catch.hpp>

#include <atomic>
#include <mutex>
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
