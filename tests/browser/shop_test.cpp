// The buyer's pages in a real headless Chromium (tests/browser/shop.mjs through playwright-core):
// keysat-serve on loopback with a BTCPay store (the stand-in, checking every request against
// BTCPay's OpenAPI documents), a product with three tiers, and codes. Screenshots of each page land
// in build/browser-output/<test>/.

#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "support/browser.hpp"
#include "support/btcpay_standin.hpp"
#include "support/server_process.hpp"
#include "support/support.hpp"

using namespace keysat;
using nlohmann::json;

namespace {

const std::string k_key = "standin-api-key-0123456789";
const std::string k_store = "StandInStore";
const std::string k_secret = "standin-webhook-secret";

// What buyers and operators type, at its most hostile: each must show as text on every page.
const std::string k_evil_name = "Notes <img src=x onerror=alert(1)> & \"Friends\"";
const std::string k_evil_tier = "Pro </label><script>alert(2)</script>";
const std::string k_evil_bullet = "\"><svg onload=alert(3)>";
const std::string k_evil_code_text = "Launch </p><script>alert(4)</script>";

struct Shop {
    test::BtcpayStandin btcpay{k_key, k_store, k_secret};
    test::TempDir dir;
    test::ServerProcess server{dir / "data",
                               {},
                               {"BTCPAY_URL=" + btcpay.url(), "BTCPAY_API_KEY=" + k_key,
                                "BTCPAY_STORE_ID=" + k_store, "BTCPAY_WEBHOOK_SECRET=" + k_secret,
                                "KEYSAT_WEBHOOK_ALLOW=127.0.0.1/32"}};
    std::string admin = server.admin_key();
    std::string base = "http://127.0.0.1:" + std::to_string(server.port());

    json ok(const std::string& path, const json& body) {
        auto r = server.post(path, body.dump(), admin);
        INFO(path << ": " << r.raw);
        REQUIRE(r.status == 200);
        return r.body;
    }

    Shop() {
        REQUIRE(test::browser_missing().empty());
        btcpay.set_webhook_url(base + "/v1/btcpay/webhook/btcpay");
        ok("/v1/admin/products", {{"slug", "app"}, {"name", "Notes"}, {"price_sats", 50000}});
        ok("/v1/admin/policies", {{"product_slug", "app"},
                                  {"slug", "basic"},
                                  {"name", "Basic"},
                                  {"price_sats_override", 21000},
                                  {"max_machines", 1},
                                  {"tier_rank", 1},
                                  {"metadata", {{"marketing_bullets", {"One device"}}}}});
        ok("/v1/admin/policies", {{"product_slug", "app"},
                                  {"slug", "pro"},
                                  {"name", "Pro"},
                                  {"price_sats_override", 80000},
                                  {"max_machines", 3},
                                  {"tier_rank", 2},
                                  {"entitlements", {"sync", "export"}}});
        ok("/v1/admin/policies", {{"product_slug", "app"},
                                  {"slug", "team"},
                                  {"name", "Team"},
                                  {"price_sats_override", 200000},
                                  {"tier_rank", 3},
                                  {"recurring_period", "year"}});
        ok("/v1/admin/discount-codes", {{"code", "TENOFF"}, {"kind", "percent"}, {"amount", 1000}});
        ok("/v1/admin/discount-codes", {{"code", "GIFT"}, {"kind", "free_license"}, {"amount", 0}});
        ok("/v1/admin/discount-codes",
           {{"code", "ALLOFF"}, {"kind", "percent"}, {"amount", 10000}});
    }

    json run(const std::string& scenario, const std::string& test_name, const json& args) {
        auto out = test::browser_output_dir(test_name);
        auto r = test::run_browser_script("shop.mjs", {scenario, out.string(), args.dump()});
        INFO("shop.mjs " << scenario << " exit " << r.exit_code << "\nstderr:\n"
                         << r.err << "\nserver log:\n"
                         << server.log());
        REQUIRE(r.exit_code == 0);
        json result = json::parse(r.out, nullptr, false);
        REQUIRE(result.is_object());
        return result;
    }

    int verify(const std::string& key) {
        auto pub = dir / "data/signing.pub";
        return test::run({test::verify_bin(), "license", "--pubkey", pub.string(), key}).exit_code;
    }

    std::int64_t uses(const std::string& code) {
        auto list = server.get("/v1/admin/discount-codes", admin);
        for (const auto& c : list.body["codes"])
            if (c["code"] == code)
                return c["uses"].get<std::int64_t>();
        return -1;
    }
};

} // namespace

TEST_CASE("a buyer picks the second tier, applies a code, pays through BTCPay and gets a key",
          "[browser][pages][purchase]") {
    Shop s;
    auto r = s.run("paid", "shop-paid",
                   {{"base", s.base},
                    {"product", "app"},
                    {"tier", 1},
                    {"code", "tenoff"},
                    {"email", "buyer@example.com"}});
    INFO(r.dump(2));
    CHECK(r["picked"] == "pro");
    CHECK(r["totalBefore"] == "80,000 sats");
    CHECK(r["codeMessage"] == "10% off applied.");
    CHECK(r["total"] == "72,000 sats");
    // The invoice BTCPay was asked for is the discounted price (72,000 sats, in BTC).
    CHECK(r["checkoutAmount"] == "0.00072000 BTC");
    CHECK(r["copied"] == "Copied.");
    std::string key = r["key"];
    CHECK(s.verify(key) == 0);
    auto poll = s.server.get("/v1/purchase/" + r["invoiceId"].get<std::string>());
    CHECK(poll.body["status"] == "settled");
    CHECK(poll.body["license_key"] == key);
    CHECK(s.uses("TENOFF") == 1);
    CHECK(s.btcpay.problems().empty());
}

TEST_CASE("a buyer of the first tier upgrades to the second in the browser, paying the "
          "difference through BTCPay, and gets the new key",
          "[browser][pages][subscriptions]") {
    Shop s;
    auto bought = s.run("paid", "shop-upgrade-buy",
                        {{"base", s.base},
                         {"product", "app"},
                         {"tier", 0},
                         {"code", "tenoff"},
                         {"email", "buyer@example.com"}});
    REQUIRE(bought["picked"] == "basic");
    std::string basic_key = bought["key"];
    std::string license_id =
        s.server.get("/v1/purchase/" + bought["invoiceId"].get<std::string>()).body["license_id"];
    auto r =
        s.run("upgrade", "shop-upgrade", {{"base", s.base}, {"key", basic_key}, {"target", "pro"}});
    INFO(r.dump(2));
    CHECK(r["current"] == "Basic");
    // Basic is a lifetime license: moving up costs the difference of the list prices,
    // 80,000 - 21,000 (the code of the first purchase is not taken into account).
    REQUIRE(r["options"].size() == 2);
    CHECK(r["options"][0]["slug"] == "pro");
    CHECK(r["options"][0]["cost"] == "59,000 sats now");
    CHECK(r["options"][1]["slug"] == "team");
    CHECK(r["checkoutAmount"] == "0.00059000 BTC");
    std::string pro_key = r["key"];
    CHECK(pro_key != basic_key);
    CHECK(s.verify(pro_key) == 0);
    // The same license, now Pro: three machines and Pro's entitlements, for either key online.
    for (const auto& key : {pro_key, basic_key}) {
        auto v = s.server.post("/v1/validate", json{{"key", key}}.dump());
        CHECK(v.body["ok"] == true);
        CHECK(v.body["license_id"] == license_id);
        CHECK(v.body["max_machines"] == 3);
        CHECK(v.body["entitlements"] == json({"sync", "export"}));
    }
    CHECK(s.btcpay.problems().empty());
}

TEST_CASE("a free-license code and a 100 % code give the key at once, with no BTCPay invoice",
          "[browser][pages][purchase]") {
    Shop s;
    for (const char* code : {"GIFT", "ALLOFF"}) {
        INFO(code);
        auto r = s.run("free", std::string("shop-free-") + code,
                       {{"base", s.base}, {"product", "app"}, {"code", code}, {"email", "a@b.c"}});
        INFO(r.dump(2));
        CHECK(r["total"] == "0 sats");
        CHECK(s.verify(r["key"]) == 0);
        CHECK(s.uses(code) == 1);
    }
    CHECK(s.btcpay.invoices().empty());
}

TEST_CASE("the thank-you page of an expired invoice says so and offers to start again",
          "[browser][pages][purchase]") {
    Shop s;
    auto p =
        s.server.post("/v1/purchase", json{{"product", "app"}, {"policy_slug", "basic"}}.dump());
    REQUIRE(p.status == 200);
    std::string invoice = p.body["invoice_id"];
    auto waiting =
        s.run("page", "shop-pending",
              {{"url", s.base + "/thank-you?invoice_id=" + invoice}, {"name", "pending"}});
    CHECK(waiting["h1"] == "Waiting for your payment");
    REQUIRE(s.btcpay.expire(p.body["btcpay_invoice_id"]) == 200);
    auto r = s.run("page", "shop-expired",
                   {{"url", s.base + "/thank-you?invoice_id=" + invoice}, {"name", "expired"}});
    CHECK(r["h1"] == "This purchase did not complete");
    CHECK(r["main"].get<std::string>().find("expired") != std::string::npos);
}

TEST_CASE("recovery in the browser: invoice id and e-mail in any case give the key back",
          "[browser][pages][recover]") {
    Shop s;
    auto p = s.server.post("/v1/purchase", json{{"product", "app"},
                                                {"policy_slug", "pro"},
                                                {"code", "GIFT"},
                                                {"buyer_email", "Buyer@Example.com"}}
                                               .dump());
    REQUIRE(p.status == 200);
    auto r = s.run(
        "recover", "shop-recover",
        {{"base", s.base}, {"invoice_id", p.body["invoice_id"]}, {"email", "buyer@EXAMPLE.com"}});
    CHECK(r["key"] == p.body["license_key"]);
    auto wrong = s.run(
        "recover", "shop-recover-wrong",
        {{"base", s.base}, {"invoice_id", p.body["invoice_id"]}, {"email", "someone@else.com"}});
    CHECK(wrong["key"].is_null());
    CHECK(wrong["error"] == "No settled purchase matches this invoice id and e-mail address.");
}

TEST_CASE("hostile product, tier, bullet, code and invoice strings show as text on every page",
          "[browser][pages][security]") {
    Shop s;
    s.ok("/v1/admin/products", {{"slug", "evil"},
                                {"name", k_evil_name},
                                {"description", "<b>bold</b><iframe src=//x></iframe>"},
                                {"price_sats", 1000}});
    for (int i = 0; i < 2; ++i)
        s.ok("/v1/admin/policies",
             {{"product_slug", "evil"},
              {"slug", "t" + std::to_string(i)},
              {"name", k_evil_tier},
              {"description", "</span><img src=x onerror=alert(5)>"},
              {"metadata", {{"marketing_bullets", {k_evil_bullet}}, {"highlight", i == 1}}},
              {"entitlements", {"sync"}}});
    s.ok("/v1/admin/discount-codes", {{"code", "EVIL"},
                                      {"kind", "percent"},
                                      {"amount", 5000},
                                      {"featured", true},
                                      {"description", k_evil_code_text}});
    auto buy = s.run("page", "shop-hostile-buy", {{"url", s.base + "/buy/evil"}, {"name", "buy"}});
    CHECK(buy["h1"] == k_evil_name);
    CHECK(buy["injected"] == 0);
    std::string main = buy["main"];
    for (const auto& text : {k_evil_tier, k_evil_bullet, k_evil_code_text})
        CHECK(main.find(text) != std::string::npos);

    auto p = s.server.post("/v1/purchase", json{{"product", "evil"},
                                                {"policy_slug", "t0"},
                                                {"code", "ALLOFF"},
                                                {"buyer_email", "x@y.z"}}
                                               .dump());
    REQUIRE(p.status == 200);
    auto thanks =
        s.run("page", "shop-hostile-thank-you",
              {{"url", s.base + "/thank-you?invoice_id=" + p.body["invoice_id"].get<std::string>()},
               {"name", "thank-you"}});
    CHECK(thanks["main"].get<std::string>().find(k_evil_name) != std::string::npos);
    CHECK(thanks["injected"] == 0);
    int n = 0;
    for (const std::string& id : {std::string("%3Cscript%3Ealert(7)%3C/script%3E"),
                                  std::string("%22%3E%3Cimg%20src=x%3E")}) {
        std::string tag = "shop-hostile-id" + std::to_string(++n);
        auto bad = s.run("page", tag + "-thank-you",
                         {{"url", s.base + "/thank-you?invoice_id=" + id}, {"name", "bad-id"}});
        CHECK(bad["status"] == 404);
        CHECK(bad["injected"] == 0);
        auto rec = s.run("page", tag + "-recover",
                         {{"url", s.base + "/recover?invoice_id=" + id}, {"name", "recover"}});
        CHECK(rec["injected"] == 0);
    }
}

TEST_CASE("the operator connects BTCPay in the browser: consent, callback, connected",
          "[browser][btcpay][connect]") {
    REQUIRE(test::browser_missing().empty());
    test::BtcpayStandin btcpay{"unused", k_store, "unused"};
    test::TempDir dir;
    test::ServerProcess server{
        dir / "data", {}, {"BTCPAY_URL=" + btcpay.url(), "KEYSAT_WEBHOOK_ALLOW=127.0.0.1/32"}};
    auto started = server.post("/v1/admin/btcpay/connect", "", server.admin_key());
    REQUIRE(started.status == 200);
    auto out = test::browser_output_dir("connect");
    auto r = test::run_browser_script(
        "shop.mjs",
        {"connect", out.string(), json{{"authorize_url", started.body["authorize_url"]}}.dump()});
    INFO("exit " << r.exit_code << "\n" << r.err << "\n" << server.log());
    REQUIRE(r.exit_code == 0);
    auto result = json::parse(r.out);
    CHECK(result["title"] == "BTCPay connected");
    CHECK(result["connected"] == "Store Stand-in Store is connected: buyers can pay with it now.");
    auto status = server.get("/v1/admin/btcpay/status", server.admin_key());
    CHECK(status.body["connected"] == true);
    CHECK(btcpay.webhooks().size() == 1);
    CHECK(btcpay.problems().empty());
}
