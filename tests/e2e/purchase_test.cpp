// Buying through the real keysat-serve on loopback, as Keysat's SDKs do: purchase (free paths),
// poll, redeem, preview, with Keysat's field names and JSON types, and the keys verified.

#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "support/server_process.hpp"
#include "support/support.hpp"

using namespace keysat;
using nlohmann::json;

namespace {

struct Store {
    test::TempDir dir;
    test::ServerProcess server{dir / "data"};
    std::string admin = server.admin_key();

    json ok(const std::string& path, const json& body) {
        auto r = server.post(path, body.dump(), admin);
        INFO(path << ": " << r.raw);
        REQUIRE(r.status == 200);
        return r.body;
    }
    Store() {
        ok("/v1/admin/products", {{"slug", "app"}, {"name", "App"}, {"price_sats", 50000}});
        ok("/v1/admin/policies", {{"product_slug", "app"},
                                  {"slug", "pro"},
                                  {"name", "Pro"},
                                  {"price_sats_override", 80000},
                                  {"max_machines", 3}});
        ok("/v1/admin/discount-codes", {{"code", "GIFT"}, {"kind", "free_license"}, {"amount", 0}});
        ok("/v1/admin/discount-codes",
           {{"code", "ALLOFF"}, {"kind", "percent"}, {"amount", 10000}});
        ok("/v1/admin/discount-codes", {{"code", "TENOFF"}, {"kind", "percent"}, {"amount", 1000}});
    }
};

bool is_int(const json& j) {
    return j.is_number_integer();
}

// keysat-verify's verdict on a key.
int verify(const Store& s, const std::string& key) {
    auto pub = s.dir / "data/signing.pub";
    return test::run({test::verify_bin(), "license", "--pubkey", pub.string(), key}).exit_code;
}

} // namespace

TEST_CASE("purchase: a 100 % code and a free-license code issue at once, as the SDKs read it",
          "[e2e][serve][purchase]") {
    Store s;
    for (const char* code : {"ALLOFF", "gift"}) {
        INFO(code);
        auto r = s.server.post("/v1/purchase", json{{"product", "app"},
                                                    {"policy_slug", "pro"},
                                                    {"code", code},
                                                    {"buyer_email", "buyer@example.com"}}
                                                   .dump());
        INFO(r.raw);
        REQUIRE(r.status == 200);
        const auto& b = r.body;
        // Every field Keysat's SDKs read, with their JSON types.
        REQUIRE(b["invoice_id"].is_string());
        CHECK(b["btcpay_invoice_id"] == "free-" + b["invoice_id"].get<std::string>());
        CHECK(b["checkout_url"] == "");
        CHECK(is_int(b["amount_sats"]));
        CHECK(b["amount_sats"] == 0);
        CHECK(b["base_price_sats"] == 80000);
        CHECK(b["discount_applied_sats"] == 80000);
        CHECK(b["poll_url"] == "http://127.0.0.1:" + std::to_string(s.server.port()) +
                                   "/v1/purchase/" + b["invoice_id"].get<std::string>());
        REQUIRE(b["license_key"].is_string());
        REQUIRE(b["license_id"].is_string());
        CHECK(verify(s, b["license_key"]) == 0);
        // Polling shows it settled, with the same key.
        auto poll = s.server.get("/v1/purchase/" + b["invoice_id"].get<std::string>());
        REQUIRE(poll.status == 200);
        CHECK(poll.body["status"] == "settled");
        CHECK(poll.body["license_key"] == b["license_key"]);
        CHECK(poll.body["license_id"] == b["license_id"]);
        CHECK(is_int(poll.body["amount_sats"]));
        CHECK(poll.body["product_id"].is_string());
    }
    // Revoked: the poll keeps the license id but no longer hands out the key.
    auto r =
        s.server.post("/v1/purchase",
                      json{{"product", "app"}, {"policy_slug", "pro"}, {"code", "ALLOFF"}}.dump());
    REQUIRE(r.status == 200);
    std::string license_id = r.body["license_id"];
    REQUIRE(s.server.post("/v1/admin/licenses/" + license_id + "/revoke", "", s.admin).status ==
            200);
    auto poll = s.server.get("/v1/purchase/" + r.body["invoice_id"].get<std::string>());
    CHECK(poll.body["license_key"].is_null());
    CHECK(poll.body["license_id"] == license_id);
    auto unknown = s.server.get("/v1/purchase/00000000-0000-4000-8000-000000000000");
    CHECK(unknown.status == 404);
    CHECK(unknown.body["error"] == "not_found");
}

TEST_CASE("purchase: a paid purchase without a provider, bad input and refusals answer in "
          "Keysat's envelope and keep nothing",
          "[e2e][serve][purchase][security]") {
    Store s;
    auto post = [&](const json& body) { return s.server.post("/v1/purchase", body.dump()); };
    auto paid = post({{"product", "app"}, {"policy_slug", "pro"}, {"code", "TENOFF"}});
    CHECK(paid.status == 400);
    CHECK_THAT(paid.body["message"].get<std::string>(),
               Catch::Contains("no payment provider is connected"));
    CHECK(post({{"product", "nope"}}).body["message"] == "not found: product 'nope'");
    CHECK(post({{"product", "app"}, {"policy_slug", "pro"}, {"code", "WHAT"}}).body["message"] ==
          "bad request: unknown discount code");
    // A product sold in tiers is bought in one: its bare price would skip the tier's terms.
    auto bare = post({{"product", "app"}, {"code", "ALLOFF"}});
    CHECK(bare.status == 400);
    CHECK_THAT(bare.body["message"].get<std::string>(),
               Catch::Contains("'policy_slug' is required"));
    CHECK(post({{"policy_slug", "pro"}}).status == 400); // product is required
    CHECK(post({{"product", "app"}, {"buyer_email", "not-an-address"}}).status == 400);
    CHECK(post({{"product", "app"}, {"buyer_email", std::string(400, 'a') + "@x"}}).status == 400);
    CHECK(post({{"product", "app"}, {"code", "ALLOFF"}, {"redirect_url", "javascript:alert(1)"}})
              .status == 400);
    CHECK(post({{"product", 7}}).status == 400);
    CHECK(s.server.post("/v1/purchase", "{not json").status == 400);
    // Nothing was consumed by the refused attempts.
    auto codes = s.server.get("/v1/admin/discount-codes", s.admin).body["codes"];
    REQUIRE(codes.size() == 3);
    for (const auto& c : codes)
        CHECK(c["used_count"] == 0);
}

TEST_CASE("redeem: free-license codes only, with Keysat's answer", "[e2e][serve][purchase]") {
    Store s;
    auto r = s.server.post(
        "/v1/redeem", json{{"product", "app"}, {"policy_slug", "pro"}, {"code", "GIFT"}}.dump());
    INFO(r.raw);
    REQUIRE(r.status == 200);
    for (const char* field : {"license_id", "license_key", "invoice_id", "redemption_id"})
        CHECK(r.body[field].is_string());
    CHECK(verify(s, r.body["license_key"]) == 0);
    auto paid = s.server.post(
        "/v1/redeem", json{{"product", "app"}, {"policy_slug", "pro"}, {"code", "TENOFF"}}.dump());
    CHECK(paid.status == 400);
    CHECK_THAT(paid.body["message"].get<std::string>(), Catch::Contains("requires payment"));
    CHECK(s.server.post("/v1/redeem", json{{"product", "app"}, {"code", " "}}.dump())
              .body["message"] == "bad request: code is required");
}

TEST_CASE("discount code preview: prices without consuming, reasons in Keysat's words",
          "[e2e][serve][purchase]") {
    Store s;
    auto preview = [&](const std::string& q) {
        auto r = s.server.get("/v1/discount-codes/preview?" + q);
        INFO(q << ": " << r.raw);
        REQUIRE(r.status == 200);
        return r.body;
    };
    auto ten = preview("code=tenoff&product=app&policy_slug=pro");
    CHECK(ten["valid"] == true);
    CHECK(ten["code"] == "TENOFF");
    CHECK(ten["base_price_sats"] == 80000);
    CHECK(ten["discount_applied_sats"] == 8000);
    CHECK(ten["final_price_sats"] == 72000);
    CHECK(ten["amount_pct"] == 10.0);
    CHECK(ten["message"] == "10% off applied.");
    auto gift = preview("code=GIFT&product=app");
    CHECK(gift["is_free"] == true);
    CHECK(gift["final_price_sats"] == 0);
    auto unknown = preview("code=NOPE&product=app");
    CHECK(unknown["valid"] == false);
    CHECK(unknown["reason"] == "unknown_code");
    CHECK(unknown["base_price_sats"] == 50000);
    CHECK(preview("code=TENOFF&product=app&policy_slug=nosuchtier")["valid"] == true);
    CHECK(s.server.get("/v1/discount-codes/preview?product=app").status == 400);
    CHECK(s.server.get("/v1/discount-codes/preview?code=X&product=nope").status == 404);
    // Guessing codes is limited: 30 at once, then one a second.
    int limited = 0;
    for (int i = 0; i < 40; ++i)
        limited +=
            s.server.get("/v1/discount-codes/preview?code=G" + std::to_string(i) + "&product=app")
                .status == 429;
    CHECK(limited > 0);
    auto codes = s.server.get("/v1/admin/discount-codes", s.admin).body["codes"];
    REQUIRE(codes.size() == 3);
    for (const auto& c : codes)
        CHECK(c["used_count"] == 0);
}

TEST_CASE("recover: the key for the invoice id and the buyer's address, one answer for every "
          "failure, limited per invoice",
          "[e2e][serve][purchase][security]") {
    Store s;
    auto bought = s.server.post("/v1/purchase", json{{"product", "app"},
                                                     {"policy_slug", "pro"},
                                                     {"code", "GIFT"},
                                                     {"buyer_email", "Buyer@Example.com"}}
                                                    .dump());
    REQUIRE(bought.status == 200);
    std::string invoice = bought.body["invoice_id"];
    auto recover = [&](const json& body) { return s.server.post("/v1/recover", body.dump()); };
    auto ok = recover({{"invoice_id", invoice}, {"email", "buyer@EXAMPLE.com"}}); // any case
    REQUIRE(ok.status == 200);
    CHECK(ok.body["license_key"] == bought.body["license_key"]);
    CHECK(ok.body["license_id"] == bought.body["license_id"]);
    CHECK(ok.body["issued_at"].is_string());
    CHECK(ok.body["expires_at"].is_null());
    CHECK(ok.body["entitlements"].is_array());
    const std::string generic =
        "not found: recovery failed — invoice id and email did not match any settled purchase";
    for (const json& wrong : {json{{"invoice_id", invoice}, {"email", "someone@example.com"}},
                              json{{"invoice_id", "00000000-0000-4000-8000-000000000000"},
                                   {"email", "buyer@example.com"}},
                              json{{"invoice_id", ""}, {"email", ""}}, json::object()}) {
        INFO(wrong.dump());
        auto r = recover(wrong);
        CHECK(r.status == 404);
        CHECK(r.body["message"] == generic);
    }
    // Five tries an hour for one invoice, from anywhere: the next is refused.
    for (int i = 0; i < 3; ++i)
        recover({{"invoice_id", invoice}, {"email", "guess" + std::to_string(i) + "@x.example"}});
    auto limited = recover({{"invoice_id", invoice}, {"email", "buyer@example.com"}});
    CHECK(limited.status == 429);
    auto audit = s.server.get("/v1/admin/audit?action=license.recovered", s.admin);
    CHECK(audit.body["entries"].size() == 1);
}
