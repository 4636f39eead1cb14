// Paid purchases through BTCPay: keysat-serve against the BTCPay stand-in on loopback, with a
// store configured by hand (Keysat's BTCPAY_* settings). Webhooks are signed as BTCPay signs
// them; every request keysat-serve sends is checked against BTCPay's OpenAPI documents.

#include <catch2/catch.hpp>

#include <thread>

#include <nlohmann/json.hpp>

#include <fmt/format.h>

#include "keysat/crypto/hash.hpp"
#include "keysat/db/database.hpp"
#include "keysat/util/encoding.hpp"
#include "support/btcpay_standin.hpp"
#include "support/server_process.hpp"
#include "support/support.hpp"

using namespace keysat;
using nlohmann::json;
using Send = test::BtcpayStandin::Send;

namespace {

const std::string k_key = "standin-api-key-0123456789";
const std::string k_store = "StandInStore";
const std::string k_secret = "standin-webhook-secret";

std::vector<std::string> market_env(const std::string& btcpay_url, std::vector<std::string> more) {
    more.insert(more.end(), {"BTCPAY_URL=" + btcpay_url, "BTCPAY_API_KEY=" + k_key,
                             "BTCPAY_STORE_ID=" + k_store, "BTCPAY_WEBHOOK_SECRET=" + k_secret,
                             "KEYSAT_WEBHOOK_ALLOW=127.0.0.1/32"});
    return more;
}

struct Market {
    explicit Market(std::vector<std::string> env = {})
        : server(dir / "data", {}, market_env(btcpay.url(), std::move(env))) {
        setup();
    }
    test::BtcpayStandin btcpay{k_key, k_store, k_secret};
    test::TempDir dir;
    test::ServerProcess server;

    std::string admin = server.admin_key();
    std::string base = "http://127.0.0.1:" + std::to_string(server.port());

    void setup() {
        btcpay.set_webhook_url(base + "/v1/btcpay/webhook/btcpay");
        for (const auto& [path, body] : std::vector<std::pair<std::string, json>>{
                 {"/v1/admin/products", {{"slug", "app"}, {"name", "App"}, {"price_sats", 50000}}},
                 {"/v1/admin/policies",
                  {{"product_slug", "app"},
                   {"slug", "pro"},
                   {"name", "Pro"},
                   {"price_sats_override", 80000}}},
                 {"/v1/admin/discount-codes",
                  {{"code", "TENOFF"}, {"kind", "percent"}, {"amount", 1000}}}}) {
            auto r = server.post(path, body.dump(), admin);
            INFO(path << ": " << r.raw);
            REQUIRE(r.status == 200);
        }
    }

    json buy() {
        auto r = server.post("/v1/purchase", json{{"product", "app"},
                                                  {"policy_slug", "pro"},
                                                  {"code", "TENOFF"},
                                                  {"buyer_email", "buyer@example.com"}}
                                                 .dump());
        INFO(r.raw);
        REQUIRE(r.status == 200);
        return r.body;
    }
    json poll(const json& purchase) {
        return server.get("/v1/purchase/" + purchase["invoice_id"].get<std::string>()).body;
    }
    std::int64_t code_uses() {
        auto list = server.get("/v1/admin/discount-codes", admin);
        INFO(list.raw);
        for (const auto& c : list.body["codes"])
            if (c["code"] == "TENOFF")
                return c["used_count"];
        FAIL("no code TENOFF in the list");
        return -1;
    }
    std::size_t settlements() {
        return server.get("/v1/admin/audit?action=invoice.settle", admin).body["entries"].size();
    }
};

} // namespace

TEST_CASE("btcpay: a paid purchase settles through the signed webhook, once, however often it "
          "comes",
          "[e2e][serve][btcpay]") {
    Market m;
    auto purchase = m.buy();
    std::string remote = purchase["btcpay_invoice_id"];
    auto invoices = m.btcpay.invoices();
    REQUIRE(invoices.count(remote) == 1);
    const auto& at_btcpay = invoices[remote];
    CHECK(at_btcpay["amount"] == "0.00072000"); // 72,000 sats as BTC, exactly
    CHECK(at_btcpay["currency"] == "BTC");
    CHECK(at_btcpay["metadata"]["orderId"] == purchase["invoice_id"]);
    CHECK(at_btcpay["checkout"]["redirectURL"] ==
          m.base + "/thank-you?invoice_id=" + purchase["invoice_id"].get<std::string>());
    CHECK(purchase["checkout_url"] == m.btcpay.url() + "/i/" + remote);
    CHECK(purchase["amount_sats"] == 72000);
    CHECK_FALSE(purchase.contains("license_key"));
    CHECK(m.poll(purchase)["status"] == "pending");
    CHECK(m.code_uses() == 1); // reserved with the invoice

    // A forged signature: refused, though BTCPay itself now says Settled.
    CHECK(m.btcpay.settle(remote, Send::forged) == 401);
    CHECK(m.poll(purchase)["status"] == "pending");
    CHECK(m.poll(purchase)["license_key"].is_null());

    // The real one, then redeliveries and a burst of duplicates at once.
    CHECK(m.btcpay.send_event(remote, "InvoiceSettled") == 200);
    auto settled = m.poll(purchase);
    CHECK(settled["status"] == "settled");
    REQUIRE(settled["license_key"].is_string());
    auto pub = m.dir / "data/signing.pub";
    CHECK(test::run({test::verify_bin(), "license", "--pubkey", pub.string(),
                     settled["license_key"].get<std::string>()})
              .exit_code == 0);
    CHECK(m.btcpay.redeliver() == 200);
    {
        std::vector<std::jthread> burst;
        for (int i = 0; i < 6; ++i)
            burst.emplace_back([&, i] {
                CHECK(m.btcpay.send_event(remote, i % 2 ? "InvoiceSettled"
                                                        : "InvoicePaymentSettled") == 200);
            });
    }
    // Keysat's route for the store configured by hand takes the same events.
    m.btcpay.set_webhook_url(m.base + "/v1/btcpay/webhook");
    CHECK(m.btcpay.send_event(remote, "InvoiceSettled") == 200);
    CHECK(m.poll(purchase)["license_id"] == settled["license_id"]);
    CHECK(m.settlements() == 1);
    CHECK(m.code_uses() == 1);
    auto found = m.server.get("/v1/admin/licenses/search?invoice_id=" +
                                  purchase["invoice_id"].get<std::string>(),
                              m.admin);
    CHECK(found.body["licenses"].size() == 1);
    CHECK(m.btcpay.problems() == std::vector<std::string>{});
}

TEST_CASE("btcpay: notifications the invoice does not back, or that are not ours, issue nothing",
          "[e2e][serve][btcpay][security]") {
    Market m;
    auto purchase = m.buy();
    std::string remote = purchase["btcpay_invoice_id"];
    // Signed, but BTCPay still says New: the read-back decides.
    CHECK(m.btcpay.send_event(remote, "InvoiceSettled") == 200);
    CHECK(m.poll(purchase)["status"] == "pending");
    CHECK(m.btcpay.send_event(remote, "InvoiceExpired") == 200);
    CHECK(m.poll(purchase)["status"] == "pending");
    // Other event types change nothing.
    CHECK(m.btcpay.send_event(remote, "InvoiceReceivedPayment") == 200);
    // An unknown provider, a malformed signed body, a missing signature.
    httplib::Client client("127.0.0.1", m.server.port());
    auto unknown = client.Post("/v1/btcpay/webhook/nope", "{}", "application/json");
    REQUIRE(unknown);
    CHECK(unknown->status == 404);
    auto unsigned_ = client.Post("/v1/btcpay/webhook/btcpay",
                                 json{{"type", "InvoiceSettled"}, {"invoiceId", remote}}.dump(),
                                 "application/json");
    REQUIRE(unsigned_);
    CHECK(unsigned_->status == 401);
    std::string junk = "[1,2,3]";
    auto sig = "sha256=" + hex_encode(crypto::hmac_sha256(as_bytes(k_secret), as_bytes(junk)));
    auto malformed =
        client.Post("/v1/btcpay/webhook/btcpay", {{"BTCPay-Sig", sig}}, junk, "application/json");
    REQUIRE(malformed);
    CHECK(malformed->status == 400);
    // Signed but hostile: nested far past any real event, or naming a path for an invoice.
    auto signed_post = [&](const std::string& body) {
        auto s = "sha256=" + hex_encode(crypto::hmac_sha256(as_bytes(k_secret), as_bytes(body)));
        return client.Post("/v1/btcpay/webhook/btcpay", {{"BTCPay-Sig", s}}, body,
                           "application/json");
    };
    auto deep = signed_post(std::string(100000, '[') + std::string(100000, ']'));
    REQUIRE(deep);
    CHECK(deep->status == 400);
    auto traversal = signed_post(
        json{{"type", "InvoiceSettled"}, {"invoiceId", "../../api-keys/current"}}.dump());
    REQUIRE(traversal);
    CHECK(traversal->status == 200); // not an invoice of ours: nothing is asked, nothing changes
    CHECK(m.server.get("/healthz").status == 200);
    // An invoice of the same store that keysat-serve did not make: ignored.
    httplib::Client direct(m.btcpay.url());
    auto other = direct.Post("/api/v1/stores/" + k_store + "/invoices",
                             {{"Authorization", "token " + k_key}},
                             R"({"amount":"0.0001","currency":"BTC"})", "application/json");
    REQUIRE(other);
    std::string other_id = json::parse(other->body)["id"];
    CHECK(m.btcpay.settle(other_id) == 200);
    CHECK(m.settlements() == 0);

    // Expired at BTCPay: the invoice closes and the code's use comes back.
    CHECK(m.code_uses() == 1);
    CHECK(m.btcpay.expire(remote) == 200);
    CHECK(m.poll(purchase)["status"] == "expired");
    CHECK(m.code_uses() == 0);
    // A late settlement of a closed invoice issues nothing.
    CHECK(m.btcpay.settle(remote) == 200);
    CHECK(m.poll(purchase)["license_id"].is_null());
    CHECK(m.btcpay.problems() == std::vector<std::string>{});
}

TEST_CASE("btcpay: the reconciler settles an invoice whose webhook never came, and closes an "
          "expired one",
          "[e2e][serve][btcpay]") {
    Market m({"KEYSAT_RECONCILE_INTERVAL=1"});
    auto paid = m.buy();
    auto lapsed = m.buy();
    CHECK(m.code_uses() == 2);
    CHECK(m.btcpay.settle(paid["btcpay_invoice_id"], Send::none) == 0); // BTCPay stays quiet
    CHECK(m.btcpay.expire(lapsed["btcpay_invoice_id"], Send::none) == 0);
    json settled, expired;
    for (int i = 0; i < 100; ++i) {
        settled = m.poll(paid);
        expired = m.poll(lapsed);
        if (settled["status"] == "settled" && expired["status"] == "expired")
            break;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    CHECK(settled["status"] == "settled");
    CHECK(settled["license_key"].is_string());
    CHECK(expired["status"] == "expired");
    CHECK(m.code_uses() == 1); // the expired invoice's use came back
    // A later webhook for the settled one changes nothing.
    CHECK(m.btcpay.send_event(paid["btcpay_invoice_id"], "InvoiceSettled") == 200);
    CHECK(m.settlements() == 1);
    CHECK(m.server.log_contains("reconciler"));
}

TEST_CASE("btcpay: half a hand-made store configuration stops the server naming what is missing",
          "[e2e][serve][btcpay]") {
    test::TempDir dir;
    CHECK_THROWS_WITH(test::ServerProcess(dir / "data", {},
                                          {"BTCPAY_URL=http://127.0.0.1:9", "BTCPAY_STORE_ID=s"}),
                      Catch::Contains("btcpay_api_key is not set"));
    // The store id goes into the API's paths.
    test::TempDir other;
    CHECK_THROWS_WITH(
        test::ServerProcess(other / "data", {},
                            {"BTCPAY_URL=http://127.0.0.1:9", "BTCPAY_API_KEY=k",
                             "BTCPAY_STORE_ID=../../api-keys/current", "BTCPAY_WEBHOOK_SECRET=s"}),
        Catch::Contains("btcpay_store_id: '../../api-keys/current' is not a BTCPay "
                        "store id"));
}

TEST_CASE("the BTCPay stand-in's schema check refuses what BTCPay's documents do not allow",
          "[btcpay]") {
    auto doc = json::parse(test::slurp(test::fixture("btcpay/swagger.template.invoices.json")));
    auto schema = doc["components"]["schemas"]["CreateInvoiceRequest"];
    CHECK(test::schema_problems(doc, schema,
                                json{{"amount", "0.0001"},
                                     {"currency", "BTC"},
                                     {"metadata", {{"orderId", "x"}}},
                                     {"checkout", {{"redirectURL", "https://x.example/"}}}},
                                "r")
              .empty());
    CHECK_FALSE(test::schema_problems(doc, schema, json{{"amount", 5}}, "r").empty());
    CHECK_FALSE(test::schema_problems(doc, schema, json{{"bogus", 1}}, "r").empty());
    CHECK_FALSE(test::schema_problems(doc, schema, json{{"checkout", {{"redirectUrl", "x"}}}}, "r")
                    .empty());
    CHECK_FALSE(
        test::schema_problems(doc, schema, json{{"checkout", {{"expirationMinutes", "soon"}}}}, "r")
            .empty());
}

TEST_CASE("btcpay: 200 purchases under duplicate, reordered webhooks, a reconciler and a kill -9 "
          "end with exactly one license per settled invoice",
          "[e2e][serve][btcpay][slow]") {
    test::BtcpayStandin btcpay{k_key, k_store, k_secret};
    test::TempDir dir;
    const std::string admin = "ksm_" + std::string(40, 'f');
    auto env = market_env(btcpay.url(),
                          {"KEYSAT_ADMIN_API_KEY=" + admin, "KEYSAT_TRUSTED_PROXIES=127.0.0.1",
                           "KEYSAT_RECONCILE_INTERVAL=1"});
    auto server =
        std::make_unique<test::ServerProcess>(dir / "data", std::vector<std::string>{}, env);
    auto point_btcpay = [&] {
        btcpay.set_webhook_url("http://127.0.0.1:" + std::to_string(server->port()) +
                               "/v1/btcpay/webhook/btcpay");
    };
    point_btcpay();
    for (const auto& [path, body] : std::vector<std::pair<std::string, json>>{
             {"/v1/admin/products", {{"slug", "app"}, {"name", "App"}, {"price_sats", 1000}}},
             {"/v1/admin/discount-codes",
              {{"code", "HALF"}, {"kind", "percent"}, {"amount", 5000}}},
             // license.issued deliveries are counted, not sent: the port is closed.
             {"/v1/admin/webhook-endpoints",
              {{"url", "http://127.0.0.1:9/count"}, {"events", {"license.issued"}}}}})
        REQUIRE(server->post(path, body.dump(), admin).status == 200);

    // 200 buyers at once, each from its own address (a proxy in front says which).
    constexpr int k_buyers = 200;
    std::vector<json> purchases(k_buyers);
    {
        std::vector<std::jthread> threads;
        for (int t = 0; t < 8; ++t)
            threads.emplace_back([&, t] {
                for (int i = t; i < k_buyers; i += 8) {
                    auto r = server->request(
                        "POST", "/v1/purchase", json{{"product", "app"}, {"code", "HALF"}}.dump(),
                        {{"X-Forwarded-For", fmt::format("10.1.{}.{}", i / 250, i % 250 + 1)},
                         {"Content-Type", "application/json"}});
                    purchases[i] = r.status == 200 ? r.body : json{{"failed", r.raw}};
                }
            });
    }
    for (const auto& p : purchases) {
        INFO(p.dump());
        REQUIRE_FALSE(p.contains("failed")); // Catch's REQUIRE is not for other threads
    }
    // At BTCPay: the first half settle, a quarter expire, the rest stay unpaid.
    auto remote = [&](int i) { return purchases[i]["btcpay_invoice_id"].get<std::string>(); };
    auto fate = [](int i) { return i < 100 ? "settled" : i < 150 ? "expired" : "pending"; };
    for (int i = 0; i < 150; ++i)
        (i < 100 ? btcpay.settle(remote(i), Send::none) : btcpay.expire(remote(i), Send::none));
    // Duplicates in every order, from several threads; the server dies half way.
    auto storm = [&](int round) {
        std::vector<std::jthread> threads;
        for (int t = 0; t < 6; ++t)
            threads.emplace_back([&, t, round] { // round by value: storm() returns first
                for (int k = 0; k < 150; ++k) {
                    int i = (k * 7 + t * 31 + round * 13) % 150;
                    const char* type = i >= 100           ? "InvoiceExpired"
                                       : (k + t) % 2 == 0 ? "InvoiceSettled"
                                                          : "InvoicePaymentSettled";
                    btcpay.send_event(remote(i), type); // a dead server: BTCPay retries later
                }
            });
        return threads;
    };
    {
        auto first = storm(0);
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
        server->kill_hard();
    }
    server = std::make_unique<test::ServerProcess>(dir / "data", std::vector<std::string>{}, env);
    point_btcpay();
    { auto second = storm(1); }
    std::this_thread::sleep_for(std::chrono::milliseconds(2500)); // a reconciler pass or two

    auto db = db::Database::open(dir / "data/keysat.db", db::OpenMode::read_only);
    REQUIRE(db);
    for (int i = 0; i < k_buyers; ++i) {
        std::string id = purchases[i]["invoice_id"];
        INFO("buyer " << i << " (" << fate(i) << ") invoice " << id);
        auto status = *db->query_texts("SELECT status FROM invoices WHERE id = '" + id + "'");
        auto licenses =
            *db->query_int("SELECT count(*) FROM licenses WHERE invoice_id = '" + id + "'");
        if (i < 100) {
            CHECK(status == std::vector<std::string>{"settled"});
            CHECK(licenses == 1);
        } else {
            CHECK(status == std::vector<std::string>{i < 150 ? "expired" : "new"});
            CHECK(licenses == 0);
        }
    }
    CHECK(*db->query_int("SELECT count(*) FROM licenses") == 100);
    CHECK(*db->query_int("SELECT count(*) FROM webhook_deliveries WHERE event_type = "
                         "'license.issued'") == 100);
    // Uses: the settled and the unpaid hold theirs; the expired gave theirs back.
    CHECK(*db->query_int("SELECT uses FROM discount_codes WHERE code = 'HALF'") == 150);
    CHECK(*db->query_int("SELECT count(*) FROM discount_redemptions WHERE status = 'used'") == 100);
    CHECK(*db->query_int("SELECT count(*) FROM discount_redemptions WHERE status = 'released'") ==
          50);
    CHECK(btcpay.problems() == std::vector<std::string>{});
}

TEST_CASE("btcpay: a checkout BTCPay refuses answers the buyer without the provider's details",
          "[e2e][serve][btcpay][security]") {
    test::BtcpayStandin btcpay{k_key, k_store, k_secret};
    test::TempDir dir;
    test::ServerProcess server(dir / "data", {},
                               {"BTCPAY_URL=" + btcpay.url(), "BTCPAY_API_KEY=not-the-key",
                                "BTCPAY_STORE_ID=" + k_store, "BTCPAY_WEBHOOK_SECRET=" + k_secret,
                                "KEYSAT_WEBHOOK_ALLOW=127.0.0.1/32"});
    auto admin = server.admin_key();
    REQUIRE(server
                .post("/v1/admin/products",
                      json{{"slug", "app"}, {"name", "App"}, {"price_sats", 1000}}.dump(), admin)
                .status == 200);
    auto r = server.post("/v1/purchase", json{{"product", "app"}}.dump());
    CHECK(r.status == 502);
    CHECK(r.body["error"] == "upstream_error");
    for (const char* detail : {"127.0.0.1", "401", "create-invoice", "not-the-key"}) {
        INFO(detail);
        CHECK(r.raw.find(detail) == std::string::npos);
    }
    CHECK(server.log_contains("create-invoice answered HTTP 401")); // the operator sees why
    // The invoice that could not be checked out is closed.
    auto db = db::Database::open(dir / "data/keysat.db", db::OpenMode::read_only);
    REQUIRE(db);
    CHECK(*db->query_int("SELECT count(*) FROM invoices WHERE status = 'invalid'") == 1);
}
