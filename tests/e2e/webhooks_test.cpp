// Outbound webhooks against a local receiver on loopback: signatures, retries, dead letters,
// and deliveries that survive a restart.

#include <catch2/catch.hpp>

#include <atomic>
#include <mutex>
#include <set>
#include <thread>

#include <fmt/format.h>
#include <httplib.h>
#include <nlohmann/json.hpp>
#include <zlib.h>

#include "keysat/crypto/hash.hpp"
#include "keysat/db/database.hpp"
#include "keysat/service/webhooks.hpp"
#include "keysat/util/encoding.hpp"
#include "support/raw_receiver.hpp"
#include "support/server_process.hpp"
#include "support/support.hpp"
#include "support/webhook_receiver.hpp"

using namespace keysat;
using nlohmann::json;

namespace {

// The receivers below listen on loopback, which the outbound policy refuses unless allowed.
constexpr const char* k_allow = "KEYSAT_WEBHOOK_ALLOW=127.0.0.1/32";

using test::Received;
using Receiver = test::WebhookReceiver;

} // namespace

TEST_CASE("retry schedule: 5 s to 2 h, dead after the 10th failure", "[service]") {
    CHECK(service::retry_delay(1) == 5);
    CHECK(service::retry_delay(9) == 7200);
    CHECK_FALSE(service::retry_delay(10));
}

TEST_CASE("webhooks: signed deliveries, retried with the same bytes", "[e2e][serve][webhooks]") {
    Receiver receiver(2); // the first two attempts fail
    test::TempDir dir;
    test::ServerProcess server(dir / "data", {}, {"KEYSAT_WEBHOOK_RETRY_UNIT_MS=10", k_allow});
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
        test::ServerProcess server(dir / "data", {}, {"KEYSAT_WEBHOOK_RETRY_UNIT_MS=10", k_allow});
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
    test::ServerProcess server(dir / "data", {}, {"KEYSAT_WEBHOOK_RETRY_UNIT_MS=1", k_allow});
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
    test::ServerProcess server(dir / "data", {}, {"KEYSAT_WEBHOOK_RETRY_UNIT_MS=10", k_allow});
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

    // A secret in the path; a query or fragment inside the user information is no URL (the
    // authority ends at '?' or '#') and is refused, but rows stored before that check exist.
    for (const char* tricky :
         {"https://discord.example/api/webhooks/1/D1SC0RD", "http://[fd00::1]:9/v6path"})
        REQUIRE(server.post("/v1/admin/webhook-endpoints", json{{"url", tricky}}.dump(), admin)
                    .status == 200);
    {
        auto db = db::Database::open(dir / "data/keysat.db", db::OpenMode::read_write);
        REQUIRE(db);
        int n = 0;
        for (const char* old :
             {"https://user:pa?ss@tricky.example/x", "https://u:p#w@h.example/"}) {
            auto refused =
                server.post("/v1/admin/webhook-endpoints", json{{"url", old}}.dump(), admin);
            CHECK(refused.status == 400);
            REQUIRE(db->exec(fmt::format(
                "INSERT INTO webhook_endpoints (id, url, secret, events, active, created_at, "
                "updated_at) VALUES ('00000000-0000-4000-8000-00000000000{}', '{}', '00', '[]', "
                "0, 0, 0)",
                ++n, old)));
        }
    }
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

namespace {

// A process's peak resident set (VmHWM) in bytes.
std::int64_t peak_rss(int pid) {
    auto status = test::slurp("/proc/" + std::to_string(pid) + "/status");
    auto at = status.find("VmHWM:");
    REQUIRE(at != std::string::npos);
    return std::stoll(status.substr(at + 6)) * 1024;
}

// gzip of `size` zero bytes.
std::string gzip_zeros(std::size_t size) {
    z_stream z{};
    REQUIRE(deflateInit2(&z, 9, Z_DEFLATED, 31, 9, Z_DEFAULT_STRATEGY) == Z_OK);
    std::string zeros(1 << 20, '\0'), out, buf(1 << 16, '\0');
    for (std::size_t done = 0; done < size; done += zeros.size()) {
        z.next_in = reinterpret_cast<Bytef*>(zeros.data());
        z.avail_in = static_cast<uInt>(zeros.size());
        int flush = done + zeros.size() >= size ? Z_FINISH : Z_NO_FLUSH;
        do {
            z.next_out = reinterpret_cast<Bytef*>(buf.data());
            z.avail_out = static_cast<uInt>(buf.size());
            deflate(&z, flush);
            out.append(buf.data(), buf.size() - z.avail_out);
        } while (z.avail_out == 0);
    }
    deflateEnd(&z);
    return out;
}

// Creates products app0, app1, ...: one product.created event each.
void create_products(const test::ServerProcess& server, const std::string& key, int n) {
    for (int i = 0; i < n; ++i) {
        json product{{"slug", "app" + std::to_string(i)}, {"name", "A"}, {"price_sats", 1}};
        REQUIRE(server.post("/v1/admin/products", product.dump(), key).status == 200);
    }
}

// Polls the deliveries of one endpoint until `done(first)` holds (up to `seconds`).
json wait_delivery(const test::ServerProcess& server, const std::string& key,
                   const std::string& endpoint_id, const std::function<bool(const json&)>& done,
                   int seconds = 10) {
    json list;
    for (int i = 0; i < seconds * 50; ++i) {
        list = server.get("/v1/admin/webhook-deliveries?endpoint_id=" + endpoint_id, key)
                   .body["deliveries"];
        if (!list.empty() && done(list[0]))
            return list[0];
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return list.empty() ? json() : list[0];
}

} // namespace

TEST_CASE("webhooks: every loopback spelling, link-local and the server itself are refused at "
          "registration",
          "[e2e][serve][webhooks][security]") {
    test::TempDir dir;
    test::ServerProcess server(dir / "data");
    auto admin = server.admin_key();
    const std::string self = "http://127.0.0.1:" + std::to_string(server.port());
    for (const std::string& url :
         {self + "/v1/admin/api-keys", std::string("http://localhost/"),
          std::string("http://[::1]/"), std::string("http://2130706433/"),
          std::string("http://0177.0.0.1/"), std::string("http://0x7f000001/"),
          std::string("http://127.1/"), std::string("http://169.254.169.254/latest/meta-data/"),
          std::string("http://[fe80::1]/"), std::string("http://0.0.0.0:8080/"),
          std::string("http://224.0.0.1/"), std::string("http://[::ffff:127.0.0.1]/")}) {
        INFO(url);
        auto r = server.post("/v1/admin/webhook-endpoints", json{{"url", url}}.dump(), admin);
        CHECK(r.status == 400);
        CHECK_THAT(r.body["message"].get<std::string>(), Catch::Contains("refused"));
    }
    // Nothing was stored; a private address is fine by default.
    CHECK(server.get("/v1/admin/webhook-endpoints", admin).body["endpoints"].empty());
    CHECK(
        server.post("/v1/admin/webhook-endpoints", json{{"url", "http://[fd00::1]/"}}.dump(), admin)
            .status == 200);
    CHECK(
        server.post("/v1/admin/webhook-endpoints", json{{"url", "ftp://h.example/"}}.dump(), admin)
            .status == 400);
}

TEST_CASE("webhooks: private ranges refused on request, allowed ranges exact, the server's own "
          "address never",
          "[e2e][serve][webhooks][security]") {
    test::TempDir dir;
    test::ServerProcess server(
        dir / "data", {},
        {"KEYSAT_WEBHOOK_DENY_PRIVATE=true", "KEYSAT_WEBHOOK_ALLOW=127.0.0.0/8,10.1.0.0/16"});
    auto admin = server.admin_key();
    auto post = [&](const std::string& url) {
        return server.post("/v1/admin/webhook-endpoints", json{{"url", url}}.dump(), admin).status;
    };
    CHECK(post("http://[fd00::1]/") == 400);
    CHECK(post("http://192.168.1.10/") == 400);
    CHECK(post("http://10.2.0.1/") == 400);
    CHECK(post("http://10.1.2.3/") == 200);
    CHECK(post("http://127.0.0.2:9/") == 200);
    CHECK(post("http://127.0.0.1:" + std::to_string(server.port()) + "/v1/admin/api-keys") == 400);
    test::TempDir other;
    CHECK_THROWS_WITH(test::ServerProcess(other / "data", {}, {"KEYSAT_WEBHOOK_ALLOW=localhost"}),
                      Catch::Contains("webhook_allow: 'localhost'"));
}

TEST_CASE("webhooks: the policy is checked again at each delivery, and readers see only "
          "'refused'",
          "[e2e][serve][webhooks][security]") {
    Receiver receiver;
    test::TempDir dir;
    const std::string key = "ksm_" + std::string(40, 'k');
    const std::string admin_env = "KEYSAT_ADMIN_API_KEY=" + key;
    std::string endpoint_id;
    {
        test::ServerProcess allowed(dir / "data", {}, {k_allow, admin_env});
        auto r = allowed.post("/v1/admin/webhook-endpoints",
                              json{{"url", receiver.url()}, {"events", {"product.created"}}}.dump(),
                              key);
        REQUIRE(r.status == 200);
        endpoint_id = r.body["id"];
        REQUIRE(allowed.stop() == 0);
    }
    // The same data without the allowance: the event must not reach loopback.
    test::ServerProcess server(dir / "data", {}, {"KEYSAT_WEBHOOK_RETRY_UNIT_MS=10", admin_env});
    REQUIRE(server.post("/v1/admin/products", R"({"slug":"app","name":"A","price_sats":1})", key)
                .status == 200);
    auto d = wait_delivery(server, key, endpoint_id,
                           [](const json& x) { return x["attempt_count"].get<int>() > 0; });
    REQUIRE(d.is_object());
    CHECK(d["outcome"] == "refused");
    CHECK(d["last_status"].is_null());
    CHECK_THAT(d["last_error"].get<std::string>(), Catch::Contains("loopback"));
    auto reader = server.post("/v1/admin/api-keys", R"({"label":"r","role":"read-only"})", key);
    REQUIRE(reader.status == 200);
    auto seen = server.get("/v1/admin/webhook-deliveries?endpoint_id=" + endpoint_id,
                           reader.body["token"].get<std::string>());
    REQUIRE(seen.body["deliveries"].size() == 1);
    CHECK(seen.body["deliveries"][0]["outcome"] == "refused");
    CHECK(seen.body["deliveries"][0]["last_error"].is_null());
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    CHECK(receiver.received().empty());
}

TEST_CASE("webhooks: a 300 MB reply and a gzip bomb leave the server's memory alone",
          "[e2e][serve][webhooks][security]") {
    const std::string bomb = gzip_zeros(std::size_t(1) << 30); // 1 GiB of zeros, about 1 MB
    REQUIRE(bomb.size() < 2 * 1024 * 1024);
    std::atomic<int> answered = 0;
    test::RawReceiver receiver([&](int fd, const std::atomic<bool>& stopping) {
        auto req = test::RawReceiver::read_request(fd);
        if (req.find("/huge") != std::string::npos) {
            if (!test::RawReceiver::write_all(
                    fd, "HTTP/1.1 200 OK\r\nContent-Length: 314572800\r\n\r\n"))
                return;
            std::string chunk(1 << 16, 'x');
            for (int i = 0; i < 4800 && !stopping; ++i)
                if (!test::RawReceiver::write_all(fd, chunk))
                    break;
        } else {
            test::RawReceiver::write_all(
                fd, "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: " +
                        std::to_string(bomb.size()) + "\r\n\r\n");
            test::RawReceiver::write_all(fd, bomb);
        }
        ++answered;
    });
    test::TempDir dir;
    test::ServerProcess server(dir / "data", {}, {k_allow});
    auto admin = server.admin_key();
    for (const char* path : {"/huge", "/bomb"})
        REQUIRE(server
                    .post("/v1/admin/webhook-endpoints", json{{"url", receiver.url(path)}}.dump(),
                          admin)
                    .status == 200);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    auto idle = peak_rss(server.pid());
    // Each product makes one delivery to each endpoint.
    create_products(server, admin, 3);
    json delivered;
    for (int i = 0; i < 500; ++i) {
        delivered =
            server.get("/v1/admin/webhook-deliveries?status=delivered", admin).body["deliveries"];
        if (delivered.size() == 6)
            break;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    CHECK(delivered.size() == 6);
    auto peak = peak_rss(server.pid());
    INFO("idle " << idle / 1024 << " KiB, peak " << peak / 1024 << " KiB");
    CHECK(peak - idle < 32 * 1024 * 1024);
}

TEST_CASE("webhooks: a trickling receiver delays no other endpoint beyond its own deadline",
          "[e2e][serve][webhooks][security]") {
    test::RawReceiver trickle([](int fd, const std::atomic<bool>& stopping) {
        test::RawReceiver::read_request(fd);
        // A byte every 100 ms, for ever: per-read timeouts never fire.
        std::string head = "HTTP/1.1 200 OK\r\nX-Padding: " + std::string(100000, 'p');
        for (char c : head) {
            if (stopping || !test::RawReceiver::write_all(fd, std::string_view(&c, 1)))
                return;
            for (int i = 0; i < 10 && !stopping; ++i)
                std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
    });
    Receiver quick;
    test::TempDir dir;
    test::ServerProcess server(dir / "data", {}, {k_allow, "KEYSAT_WEBHOOK_TIMEOUT=2"});
    auto admin = server.admin_key();
    auto slow =
        server.post("/v1/admin/webhook-endpoints", json{{"url", trickle.url()}}.dump(), admin);
    REQUIRE(slow.status == 200);
    REQUIRE(server.post("/v1/admin/webhook-endpoints", json{{"url", quick.url()}}.dump(), admin)
                .status == 200);
    // Four events: four deliveries to each endpoint, more than the trickler may hold at once.
    auto t0 = std::chrono::steady_clock::now();
    create_products(server, admin, 4);
    REQUIRE(quick.wait_for(4, 10));
    auto quick_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    INFO("the quick endpoint had all four after " << quick_s << " s");
    CHECK(quick_s < 1.5);
    // The trickler's deliveries end at their deadline, as timed out.
    auto d = wait_delivery(server, admin, slow.body["id"].get<std::string>(),
                           [](const json& x) { return x["attempt_count"].get<int>() > 0; });
    REQUIRE(d.is_object());
    CHECK(d["outcome"] == "timed out");
    auto slow_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    CHECK(slow_s < 2.0 + 2.5);
}
