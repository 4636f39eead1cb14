// Merchant profiles over HTTP: fields checked for what they become (a colour, links, an address),
// products sold under a profile, its name, colour and support link on the buy page, its
// post-purchase redirect, rail preferences, the default profile and deletion rules.

#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "support/server_process.hpp"
#include "support/support.hpp"
#include "support/zaprite_standin.hpp"

using namespace keysat;
using nlohmann::json;

namespace {

struct Profiles {
    test::ZapriteStandin zaprite{"zkey"};
    test::TempDir dir;
    test::ServerProcess server{dir / "data", {}, {"KEYSAT_WEBHOOK_ALLOW=127.0.0.1/32"}};
    std::string admin = server.admin_key();

    test::HttpResult send(const std::string& method, const std::string& path, const json& body) {
        return server.request(
            method, path, body.is_null() ? "" : body.dump(),
            {{"Authorization", "Bearer " + admin}, {"Content-Type", "application/json"}});
    }
    json ok(const std::string& method, const std::string& path, const json& body = nullptr) {
        auto r = send(method, path, body);
        INFO(method << " " << path << ": " << r.raw);
        REQUIRE(r.status == 200);
        return r.body;
    }
};

} // namespace

TEST_CASE("merchant profiles: fields, products, the buy page, redirects, rails, deletion",
          "[e2e][serve][merchant]") {
    Profiles s;
    for (const json& bad : {json{{"name", "  "}}, json{{"name", "A"}, {"brand_color", "red"}},
                            json{{"name", "A"}, {"brand_color", "#ff6600;x"}},
                            json{{"name", "A"}, {"support_url", "javascript:alert(1)"}},
                            json{{"name", "A"}, {"post_purchase_redirect_url", "/relative"}},
                            json{{"name", "A"}, {"support_email", "not an address"}}}) {
        INFO(bad.dump());
        CHECK(s.send("POST", "/v1/admin/merchant-profiles", bad).status == 400);
    }
    // Where buyers go after paying (with their invoice id) is the master key's decision.
    auto made = s.ok("POST", "/v1/admin/api-keys", {{"label", "m"}, {"role", "full-admin"}});
    auto scoped = s.server.request(
        "POST", "/v1/admin/merchant-profiles",
        json{{"name", "B"}, {"post_purchase_redirect_url", "https://evil.example/{invoice_id}"}}
            .dump(),
        {{"Authorization", "Bearer " + made["token"].get<std::string>()},
         {"Content-Type", "application/json"}});
    CHECK(scoped.status == 403);
    auto acme =
        s.ok("POST", "/v1/admin/merchant-profiles",
             {{"name", "Acme <Tools>"},
              {"brand_color", "#ff6600"},
              {"support_url", "https://acme.example/help"},
              {"support_email", "help@acme.example"},
              {"post_purchase_redirect_url", "https://acme.example/thanks?i={invoice_id}"}});
    std::string id = acme["id"];
    CHECK(acme["is_default"] == false);
    CHECK(acme["smtp_configured"] == false);
    CHECK(acme["legal_name"].is_null());
    auto listed = s.ok("GET", "/v1/admin/merchant-profiles");
    CHECK(listed["profiles"].size() == 1);
    CHECK(listed["profiles"][0]["providers"] == json::array());
    CHECK(s.send("PATCH", "/v1/admin/merchant-profiles/00000000-0000-4000-8000-000000000000",
                 {{"name", "x"}})
              .status == 400);

    // A product under the profile; an unknown profile is refused.
    CHECK(s.send("POST", "/v1/admin/products",
                 {{"slug", "x"},
                  {"name", "X"},
                  {"price_sats", 1},
                  {"merchant_profile_id", "00000000-0000-4000-8000-000000000000"}})
              .status == 400);
    auto product = s.ok("POST", "/v1/admin/products",
                        {{"slug", "tool"},
                         {"name", "Tool"},
                         {"price_currency", "USD"},
                         {"price_value", 900},
                         {"merchant_profile_id", id}});
    CHECK(product["merchant_profile_id"] == id);
    auto page = s.server.get("/buy/tool");
    REQUIRE(page.status == 200);
    CHECK(page.raw.find("<span class=\"seller\">Acme &lt;Tools&gt;</span>") != std::string::npos);
    CHECK(page.raw.find("--brand:#ff6600") != std::string::npos);
    CHECK(page.raw.find("<a href=\"https://acme.example/help\">Support</a>") != std::string::npos);
    CHECK(page.raw.find("name=\"rail\"") == std::string::npos); // nothing to choose yet

    // Zaprite on this profile: three rails to choose from, a preference for card.
    auto z =
        s.ok("POST", "/v1/admin/zaprite/connect",
             {{"api_key", "zkey"}, {"base_url", s.zaprite.url()}, {"merchant_profile_id", id}});
    std::string zid = z["provider_id"];
    page = s.server.get("/buy/tool");
    CHECK(page.raw.find("name=\"rail\" value=\"card\"") != std::string::npos);
    CHECK(page.raw.find("name=\"rail\" value=\"lightning\" checked") != std::string::npos);
    CHECK(s.send("PUT", "/v1/admin/merchant-profiles/" + id + "/rail-preferences/paypal",
                 {{"payment_provider_id", zid}})
              .status == 400);
    CHECK(s.send("PUT", "/v1/admin/merchant-profiles/" + id + "/rail-preferences/card",
                 {{"payment_provider_id", "nobody"}})
              .status == 400);
    auto pref = s.ok("PUT", "/v1/admin/merchant-profiles/" + id + "/rail-preferences/card",
                     {{"payment_provider_id", zid}});
    CHECK(pref["payment_provider_id"] == zid);
    auto shown = s.ok("GET", "/v1/admin/merchant-profiles/" + id);
    CHECK(shown["rail_preferences"] ==
          json::array({{{"rail", "card"}, {"payment_provider_id", zid}}}));
    CHECK(shown["product_count"] == 1);
    CHECK(shown["providers"][0]["served_rails"] == json{"lightning", "onchain", "card"});

    // A card purchase goes to Zaprite and comes back to the profile's redirect.
    auto bought = s.server.post("/v1/purchase", json{{"product", "tool"}, {"rail", "card"}}.dump());
    INFO(bought.raw);
    REQUIRE(bought.status == 200);
    auto orders = s.zaprite.orders();
    REQUIRE(orders.size() == 1);
    CHECK(orders.begin()->second["redirectUrl"] ==
          "https://acme.example/thanks?i=" + bought.body["invoice_id"].get<std::string>());
    CHECK(orders.begin()->second["amount"] == 900);

    // Editing: null clears; the default profile cannot be deleted, nor one with products.
    auto edited = s.ok("PATCH", "/v1/admin/merchant-profiles/" + id, {{"brand_color", nullptr}});
    CHECK(edited["brand_color"].is_null());
    CHECK(s.server.get("/buy/tool").raw.find("--brand:#ff6600") == std::string::npos);
    s.ok("POST", "/v1/admin/merchant-profiles/" + id + "/set-default");
    CHECK(s.ok("GET", "/v1/admin/merchant-profiles/" + id)["is_default"] == true);
    auto del = s.send("DELETE", "/v1/admin/merchant-profiles/" + id, nullptr);
    CHECK(del.status == 400);
    CHECK(del.body["message"].get<std::string>().find("default") != std::string::npos);
    auto other = s.ok("POST", "/v1/admin/merchant-profiles", {{"name", "Other"}});
    s.ok("POST", "/v1/admin/merchant-profiles/" + other["id"].get<std::string>() + "/set-default");
    CHECK(s.ok("GET", "/v1/admin/merchant-profiles/" + id)["is_default"] == false);
    CHECK(s.send("DELETE", "/v1/admin/merchant-profiles/" + id, nullptr).status == 400); // product
    s.ok("PATCH", "/v1/admin/products/" + product["id"].get<std::string>(),
         {{"merchant_profile_id", other["id"]}});
    CHECK(s.send("DELETE", "/v1/admin/merchant-profiles/" + id, nullptr).status == 400); // zaprite
    s.ok("POST", "/v1/admin/zaprite/disconnect", {{"provider_id", zid}});
    s.ok("DELETE", "/v1/admin/merchant-profiles/" + id);
    CHECK(s.send("GET", "/v1/admin/merchant-profiles/" + id, nullptr).status == 404);
    CHECK(s.zaprite.problems().empty());
}
