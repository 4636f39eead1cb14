// Connecting BTCPay in one click, over HTTP: keysat-serve against the BTCPay stand-in, which
// serves the consent page, hands out keys, lists stores and registers webhooks as BTCPay's
// documents say. The browser side of the same round trip is in tests/browser/shop_test.cpp.

#include <catch2/catch.hpp>

#include <regex>

#include <fmt/format.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "support/btcpay_standin.hpp"
#include "support/server_process.hpp"
#include "support/support.hpp"

using namespace keysat;
using nlohmann::json;

namespace {

struct Operator {
    test::BtcpayStandin btcpay{"unused-static-key", "StandInStore", "unused-secret"};
    test::TempDir dir;
    test::ServerProcess server{
        dir / "data", {}, {"BTCPAY_URL=" + btcpay.url(), "KEYSAT_WEBHOOK_ALLOW=127.0.0.1/32"}};
    std::string admin = server.admin_key();
    std::string base = "http://127.0.0.1:" + std::to_string(server.port());

    json connect() {
        auto r = server.post("/v1/admin/btcpay/connect", "", admin);
        INFO(r.raw);
        REQUIRE(r.status == 200);
        return r.body;
    }
    // What BTCPay's consent page does when the operator clicks Authorize: a key is made and the
    // browser posts it to the redirect as a form. Returns the key.
    std::string consent(const std::string& authorize_url) {
        httplib::Client c(btcpay.url());
        auto page = c.Get(authorize_url.substr(btcpay.url().size()));
        REQUIRE(page);
        REQUIRE(page->status == 200);
        return btcpay.issued_keys().back();
    }
    test::HttpResult callback(const std::string& state, const std::string& key) {
        std::string form = "apiKey=" + key + "&userId=standin-user";
        for (const char* p : {"btcpay.store.canviewinvoices", "btcpay.store.cancreateinvoice"})
            form += std::string("&permissions%5B%5D=") + p;
        return server.request("POST", "/v1/btcpay/authorize/callback?state=" + state, form,
                              {{"Content-Type", "application/x-www-form-urlencoded"}});
    }
    json status() {
        auto r = server.get("/v1/admin/btcpay/status", admin);
        REQUIRE(r.status == 200);
        return r.body;
    }
    std::vector<std::string> audit_actions() {
        auto r = server.get("/v1/admin/audit", admin);
        std::vector<std::string> out;
        for (const auto& e : r.body["entries"])
            out.push_back(e["action"]);
        return out;
    }
};

std::string url_encoded(const std::string& s) {
    std::string out;
    for (unsigned char c : s)
        out += std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~'
                   ? std::string(1, static_cast<char>(c))
                   : fmt::format("%{:02X}", c);
    return out;
}

} // namespace

TEST_CASE("btcpay connect: authorize, callback, webhook registered, then paid purchases settle",
          "[e2e][serve][btcpay][connect]") {
    Operator o;
    CHECK(o.status() == json{{"connected", false}});
    auto started = o.connect();
    std::string state = started["state"];
    CHECK(std::regex_match(state, std::regex("[A-Z2-7]{32}")));
    REQUIRE(started["merchant_profile_id"].is_string());
    std::string callback = o.base + "/v1/btcpay/authorize/callback?state=" + state;
    CHECK(started["authorize_url"] ==
          o.btcpay.url() +
              "/api-keys/authorize?applicationName=Keysat&applicationIdentifier=keysat"
              "&strict=true&selectiveStores=true&redirect=" +
              url_encoded(callback) +
              "&permissions=btcpay.store.canviewinvoices&permissions=btcpay.store.cancreateinvoice"
              "&permissions=btcpay.store.canmodifyinvoices&permissions=btcpay.store.webhooks."
              "canmodifywebhooks&permissions=btcpay.store.canviewstoresettings");

    std::string key = o.consent(started["authorize_url"]);
    auto done = o.callback(state, key);
    INFO(done.raw);
    REQUIRE(done.status == 200);
    CHECK(done.raw.find("Store <strong>Stand-in Store</strong> is connected") != std::string::npos);

    auto hooks = o.btcpay.webhooks();
    REQUIRE(hooks.size() == 1);
    const auto& hook = hooks.begin()->second;
    auto st = o.status();
    INFO(st.dump());
    CHECK(st["connected"] == true);
    CHECK(st["store_id"] == "StandInStore");
    CHECK(st["webhook_id"] == hooks.begin()->first);
    CHECK(st["label"] == "BTCPay — Stand-in Store");
    CHECK(st["merchant_profile_id"] == started["merchant_profile_id"]);
    CHECK(st["merchant_profile_name"].is_string());
    CHECK(hook["url"] == o.base + "/v1/btcpay/webhook/" + st["provider_id"].get<std::string>());
    CHECK(std::regex_match(hook["secret"].get<std::string>(), std::regex("[A-Z2-7]{52}")));
    CHECK(hook["authorizedEvents"] ==
          json{{"everything", false},
               {"specificEvents",
                {"InvoiceSettled", "InvoicePaymentSettled", "InvoiceExpired", "InvoiceInvalid"}}});
    auto overall = o.server.get("/v1/admin/payment-provider/status", o.admin).body;
    CHECK(overall["btcpay_configured"] == true);
    CHECK(overall["zaprite_configured"] == false);
    CHECK(overall["active"] == "btcpay");
    CHECK(overall["providers"].size() == 1);
    CHECK(overall["providers"][0]["id"] == st["provider_id"]);
    CHECK(overall["providers"][0].dump().find(key) == std::string::npos); // never the key

    // The state is single use.
    CHECK(o.callback(state, key).status == 401);
    CHECK(o.btcpay.webhooks().size() == 1);

    // Paid purchases go through the connected store and settle through its signed webhook.
    REQUIRE(o.server
                .post("/v1/admin/products",
                      json{{"slug", "app"}, {"name", "App"}, {"price_sats", 5000}}.dump(), o.admin)
                .status == 200);
    auto p = o.server.post("/v1/purchase", json{{"product", "app"}}.dump());
    INFO(p.raw);
    REQUIRE(p.status == 200);
    CHECK(o.btcpay.settle(p.body["btcpay_invoice_id"]) == 200);
    auto poll = o.server.get("/v1/purchase/" + p.body["invoice_id"].get<std::string>());
    CHECK(poll.body["status"] == "settled");
    CHECK(poll.body["license_key"].is_string());

    // Connecting again while connected is refused.
    CHECK(o.server.post("/v1/admin/btcpay/connect", "", o.admin).status == 409);

    // Disconnect: BTCPay's webhook deleted and the key revoked, then nothing is connected.
    auto off = o.server.post("/v1/admin/btcpay/disconnect", "", o.admin);
    INFO(off.raw);
    REQUIRE(off.status == 200);
    CHECK(off.body["noop"] == false);
    CHECK(off.body["provider_id"] == st["provider_id"]);
    CHECK(off.body["warnings"] == json::array());
    CHECK(o.btcpay.webhooks().empty());
    CHECK(o.btcpay.revoked_keys() == std::vector<std::string>{key});
    CHECK(o.status() == json{{"connected", false}});
    auto again = o.server.post("/v1/admin/btcpay/disconnect", "", o.admin);
    CHECK(again.body["noop"] == true);
    // A paid purchase has nowhere to go now.
    CHECK(o.server.post("/v1/purchase", json{{"product", "app"}}.dump()).status != 200);
    auto actions = o.audit_actions();
    for (const char* a : {"payment_provider.connect_start", "payment_provider.connect",
                          "payment_provider.disconnect"})
        CHECK(std::find(actions.begin(), actions.end(), a) != actions.end());
    CHECK(o.server.log().find(key) == std::string::npos); // the key never reaches the log
    CHECK(o.btcpay.problems().empty());
}

TEST_CASE("btcpay connect: a key that sees several stores makes the operator pick one",
          "[e2e][serve][btcpay][connect]") {
    Operator o;
    o.btcpay.set_stores({{"OtherStore", "Other <b>shop</b>"}, {"StandInStore", "Main shop"}});
    auto started = o.connect();
    std::string key = o.consent(started["authorize_url"]);
    auto picker = o.callback(started["state"], key);
    REQUIRE(picker.status == 200);
    CHECK(picker.raw.find("Other &lt;b&gt;shop&lt;/b&gt;") != std::string::npos);
    CHECK(picker.raw.find(key) == std::string::npos); // the key stays on the server
    std::smatch m;
    REQUIRE(
        std::regex_search(picker.raw, m, std::regex("name=\"state\" value=\"([A-Z2-7]{32})\"")));
    std::string second = m[1];
    CHECK(second != started["state"]);
    CHECK(o.btcpay.webhooks().empty());
    // A store the key does not see is refused, and the state is spent.
    auto form = [&](const std::string& st, const std::string& store) {
        return o.server.request("POST", "/v1/btcpay/authorize/store",
                                "state=" + st + "&store_id=" + store,
                                {{"Content-Type", "application/x-www-form-urlencoded"}});
    };
    CHECK(form(second, "Elsewhere").status == 400);
    CHECK(form(second, "StandInStore").status == 401);
    // Again, properly.
    started = o.connect();
    key = o.consent(started["authorize_url"]);
    picker = o.callback(started["state"], key);
    REQUIRE(
        std::regex_search(picker.raw, m, std::regex("name=\"state\" value=\"([A-Z2-7]{32})\"")));
    auto done = form(m[1], "StandInStore");
    INFO(done.raw);
    CHECK(done.status == 200);
    CHECK(o.status()["store_id"] == "StandInStore");
    CHECK(o.btcpay.webhooks().size() == 1);
}

TEST_CASE("btcpay connect: forged, declined and unauthorized attempts connect nothing",
          "[e2e][serve][btcpay][connect][security]") {
    Operator o;
    std::string key = "standin-api-key-never-issued";
    // No such state, an empty one, a made-up one.
    for (const char* state : {"", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "%27%3Cscript%3E"}) {
        auto r = o.callback(state, key);
        CHECK(r.status == 401);
        CHECK(r.raw.find("<script>") == std::string::npos);
    }
    // Declined at BTCPay: the browser comes back with GET; the state is spent.
    auto started = o.connect();
    auto declined =
        o.server.get("/v1/btcpay/authorize/callback?state=" + started["state"].get<std::string>());
    CHECK(declined.status == 200);
    CHECK(declined.raw.find("BTCPay was not connected") != std::string::npos);
    CHECK(o.callback(started["state"], o.consent(started["authorize_url"])).status == 401);
    // A callback without a key, one that is not a key (it would reach a request header), and
    // one whose key BTCPay does not know.
    started = o.connect();
    CHECK(o.callback(started["state"], "").status == 400);
    started = o.connect();
    CHECK(o.callback(started["state"], "abc%0D%0AX-Injected:%20y").status == 400);
    started = o.connect();
    auto unknown = o.callback(started["state"], key);
    CHECK(unknown.status == 502);
    CHECK(o.btcpay.webhooks().empty());
    CHECK(o.status()["connected"] == false);

    // Connect and disconnect are the master key's alone.
    auto made = o.server.post("/v1/admin/api-keys",
                              json{{"label", "all"}, {"role", "full-admin"}}.dump(), o.admin);
    REQUIRE(made.status == 200);
    std::string full = made.body["token"];
    CHECK(o.server.post("/v1/admin/btcpay/connect", "", full).status == 403);
    CHECK(o.server.post("/v1/admin/btcpay/disconnect", "", full).status == 403);
    CHECK(o.server.get("/v1/admin/btcpay/status", full).status == 200);

    // Without btcpay_url there is nothing to connect to.
    test::TempDir bare;
    test::ServerProcess plain(bare / "data");
    auto r = plain.post("/v1/admin/btcpay/connect", "", plain.admin_key());
    CHECK(r.status == 400);
    CHECK(r.body["message"].get<std::string>().find("btcpay_url") != std::string::npos);
}
