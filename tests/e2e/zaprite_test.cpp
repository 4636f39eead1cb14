// Card payments through Zaprite: keysat-serve against the Zaprite stand-in on loopback. Connect
// with an API key (checked first), orders in the product's currency, webhooks with a path secret
// read leniently and always checked against the order itself, disconnect.

#include <catch2/catch.hpp>

#include <regex>

#include <nlohmann/json.hpp>

#include "keysat/payments/zaprite.hpp"
#include "support/server_process.hpp"
#include "support/support.hpp"
#include "support/zaprite_standin.hpp"

using namespace keysat;
using nlohmann::json;

namespace {

const std::string k_key = "zaprite-standin-key";

struct CardShop {
    test::ZapriteStandin zaprite{k_key};
    test::TempDir dir;
    test::ServerProcess server{dir / "data", {}, {"KEYSAT_WEBHOOK_ALLOW=127.0.0.1/32"}};
    std::string admin = server.admin_key();
    std::string base = "http://127.0.0.1:" + std::to_string(server.port());

    json ok(const std::string& path, const json& body) {
        auto r = server.post(path, body.dump(), admin);
        INFO(path << ": " << r.raw);
        REQUIRE(r.status == 200);
        return r.body;
    }
    json connect() {
        return ok("/v1/admin/zaprite/connect",
                  {{"api_key", " " + k_key + " "}, {"base_url", zaprite.url() + "/"}});
    }
    void catalog() {
        ok("/v1/admin/products",
           {{"slug", "app"}, {"name", "App"}, {"price_currency", "USD"}, {"price_value", 1250}});
    }
    json buy(const std::string& rail = "card") {
        auto r = server.post(
            "/v1/purchase",
            json{{"product", "app"}, {"buyer_email", "card@example.com"}, {"rail", rail}}.dump());
        INFO(r.raw);
        REQUIRE(r.status == 200);
        return r.body;
    }
    json poll(const json& purchase) {
        return server.get("/v1/purchase/" + purchase["invoice_id"].get<std::string>()).body;
    }
};

} // namespace

TEST_CASE("zaprite: connect with a key, sell in USD, settle only what Zaprite says is paid",
          "[e2e][serve][zaprite]") {
    CardShop s;
    auto c = s.connect();
    std::string provider = c["provider_id"];
    std::smatch m;
    std::string hook = c["webhook_url"];
    REQUIRE(std::regex_match(
        hook, m, std::regex(s.base + "/v1/zaprite/webhook/" + provider + "/([A-Z2-7]{52})")));
    CHECK(c["base_url"] == s.zaprite.url());
    CHECK(c["provider"] == "zaprite");
    CHECK(c["label"].get<std::string>().starts_with("Zaprite — "));
    auto status = s.server.get("/v1/admin/zaprite/status", s.admin).body;
    CHECK(status["connected"] == true);
    CHECK(status["webhook_url"] == hook);

    s.catalog();
    auto p = s.buy();
    auto orders = s.zaprite.orders();
    REQUIRE(orders.size() == 1);
    const auto& order = orders.begin()->second;
    CHECK(order["amount"] == 1250);
    CHECK(order["currency"] == "USD");
    CHECK(order["externalUniqId"] == p["invoice_id"]);
    CHECK(order["customerData"]["email"] == "card@example.com");
    CHECK(order["redirectUrl"] ==
          s.base + "/thank-you?invoice_id=" + p["invoice_id"].get<std::string>());
    CHECK(p["checkout_url"] == order["checkoutUrl"]);
    std::string id = order["id"];

    // A notification while the order is still pending changes nothing, nor does a status we
    // do not know (closing the invoice would refuse a payment that completes later).
    CHECK(s.zaprite.send(hook, {{"eventType", "order.paid"}, {"data", {{"id", id}}}}) == 200);
    CHECK(s.poll(p)["status"] == "pending");
    s.zaprite.set_status(id, "SOMETHING_NEW\n");
    CHECK(s.zaprite.send(hook, {{"orderId", id}}) == 200);
    CHECK(s.poll(p)["status"] == "pending");
    // Wrong secret, unknown provider, no order named: refused, nothing changes.
    s.zaprite.set_status(id, "PAID");
    CHECK(s.zaprite.send(s.base + "/v1/zaprite/webhook/" + provider + "/AAAA", {{"orderId", id}}) ==
          401);
    CHECK(s.zaprite.send(s.base + "/v1/zaprite/webhook/nobody/" + m[1].str(), {{"orderId", id}}) ==
          404);
    CHECK(s.zaprite.send(hook, {{"event", "order.paid"}}) == 400);
    // Nested 100,000 deep, or not JSON at all: refused before anything is asked of Zaprite.
    std::string hook_path = hook.substr(s.base.size());
    auto deep =
        s.server.request("POST", hook_path, std::string(100000, '[') + std::string(100000, ']'),
                         {{"Content-Type", "application/json"}});
    CHECK(deep.status == 400);
    CHECK(s.server.request("POST", hook_path, "{\"orderId\":", {}).status == 400);
    // An order id that would change the API path is never asked for.
    CHECK(s.zaprite.send(hook, {{"orderId", "../../v1/orders"}}) == 200);
    CHECK(s.poll(p)["status"] == "pending");
    // Each payload shape Zaprite uses; the first settles, the rest change nothing.
    for (const json& body : {json{{"event", "order.paid"}, {"orderId", id}},
                             json{{"type", "order.paid"}, {"data", {{"object", {{"id", id}}}}}},
                             json{{"name", "x"}, {"id", id}}})
        CHECK(s.zaprite.send(hook, body) == 200);
    auto settled = s.poll(p);
    CHECK(settled["status"] == "settled");
    REQUIRE(settled["license_key"].is_string());
    auto licenses = s.server.get("/v1/admin/licenses", s.admin).body["licenses"];
    CHECK(licenses.size() == 1);

    // An order Zaprite expired closes the invoice.
    auto late = s.buy();
    std::string late_id;
    for (const auto& [oid, o] : s.zaprite.orders())
        if (o["externalUniqId"] == late["invoice_id"])
            late_id = oid;
    s.zaprite.set_status(late_id, "EXPIRED");
    CHECK(s.zaprite.send(hook, {{"data", {{"id", late_id}}}}) == 200);
    CHECK(s.poll(late)["status"] == "expired");

    // Disconnecting with an order still open says so (nothing will settle it here).
    s.buy();
    // An unknown rail is refused by name.
    auto bogus = s.server.post("/v1/purchase", json{{"product", "app"}, {"rail", "paypal"}}.dump());
    CHECK(bogus.status == 400);
    CHECK(bogus.body["message"] ==
          "bad request: unknown rail 'paypal'; accepted: lightning, onchain, card");
    CHECK(s.zaprite.problems().empty());
    CHECK(s.server.log().find(k_key) == std::string::npos);
    // The path's secret never reaches the request log.
    CHECK(s.server.log_contains("/v1/zaprite/webhook/" + provider + "/<secret>"));
    CHECK(s.server.log().find(m[1].str()) == std::string::npos);
    CHECK(s.server.log().find("SOMETHING_NEW?") != std::string::npos);

    // Disconnect: nothing takes card payments any more.
    auto off = s.ok("/v1/admin/zaprite/disconnect", json::object());
    CHECK(off["noop"] == false);
    REQUIRE(off["warnings"].size() == 1);
    CHECK(off["warnings"][0].get<std::string>().starts_with("1 invoice(s) still pending"));
    CHECK(s.server.get("/v1/admin/zaprite/status", s.admin).body["connected"] == false);
    CHECK(s.server.post("/v1/purchase", json{{"product", "app"}}.dump()).status == 400);
    CHECK(s.zaprite.send(hook, {{"orderId", id}}) == 404);
}

TEST_CASE("zaprite: a bad key, a bad base URL or another role connect nothing",
          "[e2e][serve][zaprite][security]") {
    CardShop s;
    auto wrong = s.server.post(
        "/v1/admin/zaprite/connect",
        json{{"api_key", "not-the-key"}, {"base_url", s.zaprite.url()}}.dump(), s.admin);
    CHECK(wrong.status == 502);
    CHECK(wrong.body["message"].get<std::string>().find("Zaprite key validation failed") !=
          std::string::npos);
    CHECK(wrong.raw.find("not-the-key") == std::string::npos);
    auto ftp = s.server.post("/v1/admin/zaprite/connect",
                             json{{"api_key", k_key}, {"base_url", "ftp://x"}}.dump(), s.admin);
    CHECK(ftp.status == 400);
    auto blank =
        s.server.post("/v1/admin/zaprite/connect",
                      json{{"api_key", "  "}, {"base_url", s.zaprite.url()}}.dump(), s.admin);
    CHECK(blank.status == 400);
    CHECK(s.server.get("/v1/admin/zaprite/status", s.admin).body["connected"] == false);
    auto reader = s.ok("/v1/admin/api-keys", {{"label", "r"}, {"role", "full-admin"}});
    std::string token = reader["token"];
    CHECK(s.server
              .post("/v1/admin/zaprite/connect",
                    json{{"api_key", k_key}, {"base_url", s.zaprite.url()}}.dump(), token)
              .status == 403);
    s.connect();
    // A scoped key sees the status, not the webhook URL's secret.
    auto seen = s.server.get("/v1/admin/zaprite/status", token).body;
    CHECK(seen["connected"] == true);
    CHECK(seen["webhook_url"].get<std::string>().ends_with("/<secret>"));
    CHECK(s.server.post("/v1/admin/zaprite/disconnect", "", token).status == 403);
    // One Zaprite provider per profile.
    CHECK(s.server
              .post("/v1/admin/zaprite/connect",
                    json{{"api_key", k_key}, {"base_url", s.zaprite.url()}}.dump(), s.admin)
              .status == 409);
}

TEST_CASE("zaprite: webhook payloads are read leniently and nothing in them throws",
          "[zaprite][security]") {
    using payments::read_zaprite_event;
    CHECK(read_zaprite_event({{"eventType", "order.paid"}, {"data", {{"id", "o1"}}}})->order_id ==
          "o1");
    CHECK(read_zaprite_event({{"data", {{"object", {{"id", "o2"}}}}}})->order_id == "o2");
    CHECK(read_zaprite_event({{"orderId", "o3"}, {"event", "x"}})->event == "x");
    // Wrong shapes anywhere on the way: nothing found, nothing thrown.
    for (const json& body :
         {json::array({1, 2}), json("o4"), json{{"data", "o5"}}, json{{"data", {{"object", 7}}}},
          json{{"data", {{"id", 5}}}}, json{{"orderId", ""}}, json{{"id", nullptr}},
          json{{"data", json::array({{{"id", "o6"}}})}}})
        CHECK_FALSE(read_zaprite_event(body));
    CHECK(payments::is_provider_id("StandIn000000000000001"));
    for (const char* bad : {"", "../x", "a/b", "a?b", "a%2Fb", "a b"})
        CHECK_FALSE(payments::is_provider_id(bad));
    CHECK_FALSE(payments::is_provider_id(std::string(65, 'a')));
    CHECK(payments::is_provider_id(std::string(128, 'a'), 128));
}
