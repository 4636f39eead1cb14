// The console's pages about money and releases over HTTP on loopback: invoices (newest first,
// filtered by status), payments (BTCPay's connect in one click, Zaprite's with a key, merchant
// profiles, rail preferences, the brand colour), one discount code with its redemptions, a
// license's tier change, and what the release gate serves. The BTCPay and Zaprite stand-ins
// follow those services' published APIs.

#include <catch2/catch.hpp>

#include <fstream>
#include <regex>

#include "keysat/api/console.hpp"
#include "support/btcpay_standin.hpp"
#include "support/console_client.hpp"
#include "support/zaprite_standin.hpp"

using namespace keysat;
using namespace keysat::test::console;
using nlohmann::json;

namespace {

// A product "app" with tiers basic (1,000 sats) and pro (5,000 sats).
void make_catalog(Console& c) {
    const auto& admin = c.server->admin_key();
    REQUIRE(c.server
                ->post("/v1/admin/products",
                       json{{"slug", "app"}, {"name", "App"}, {"price_sats", 1000}}.dump(), admin)
                .status == 200);
    for (auto [slug, price] : {std::pair{"basic", 1000}, std::pair{"pro", 5000}})
        REQUIRE(c.server
                    ->post("/v1/admin/policies",
                           json{{"product_slug", "app"},
                                {"slug", slug},
                                {"name", std::string(slug) + " tier"},
                                {"price_sats_override", price},
                                {"entitlements", {slug}}}
                               .dump(),
                           admin)
                    .status == 200);
}

// Writes an invoice row as the purchase flow does (the test needs statuses and times it cannot
// wait for).
void add_invoice(Console& c, const std::string& id, const std::string& status,
                 std::int64_t created_at, const std::string& email) {
    auto db = db::Database::open(c.server->app().db_path, db::OpenMode::read_write);
    REQUIRE(db);
    auto q = db->prepare("INSERT INTO invoices (id, product_id, status, base_amount, amount, "
                         "currency, buyer_email, created_at, updated_at) SELECT ?, id, ?, 1000, "
                         "900, 'SAT', ?, ?, ? FROM products WHERE slug = 'app'");
    REQUIRE(q);
    q->bind(1, id).bind(2, status).bind(3, email).bind(4, created_at).bind(5, created_at);
    REQUIRE(q->run());
}

std::size_t find(const std::string& text, const std::string& what) {
    return text.find(what);
}

} // namespace

TEST_CASE("console: the invoices page lists the newest invoices first, filtered by status, "
          "through GET /v1/admin/invoices",
          "[e2e][console]") {
    Console c;
    make_catalog(c);
    add_invoice(c, "inv-old-settled", "settled", k_t0 - 300, "old@x.test");
    add_invoice(c, "inv-new-pending", "new", k_t0 - 100, "new@x.test");
    add_invoice(c, "inv-mid-expired", "expired", k_t0 - 200, "mid@x.test");
    const auto& admin = c.server->admin_key();

    auto all = c.server->get("/v1/admin/invoices", admin);
    REQUIRE(all.status == 200);
    REQUIRE(all.body["invoices"].size() == 3);
    CHECK(all.body["invoices"][0]["id"] == "inv-new-pending");
    CHECK(all.body["invoices"][1]["id"] == "inv-mid-expired");
    CHECK(all.body["invoices"][2]["id"] == "inv-old-settled");
    CHECK(all.body["invoices"][0]["product_slug"] == "app");
    CHECK(all.body["invoices"][0]["amount"] == 900);
    CHECK(all.body["invoices"][0]["settled_at"].is_null());
    auto settled = c.server->get("/v1/admin/invoices?status=settled", admin);
    REQUIRE(settled.body["invoices"].size() == 1);
    CHECK(settled.body["invoices"][0]["id"] == "inv-old-settled");
    CHECK(c.server->get("/v1/admin/invoices?limit=1", admin).body["invoices"].size() == 1);
    auto bad = c.server->get("/v1/admin/invoices?status=paid", admin);
    CHECK(bad.status == 400);
    CHECK(bad.body["message"].get<std::string>().find("'status'") != std::string::npos);

    Browser b(*c.server);
    REQUIRE(b.sign_in("password", k_password).status == 303);
    auto page = b.get("/admin/invoices");
    REQUIRE(page.status == 200);
    auto n = find(page.raw, "new@x.test"), m = find(page.raw, "mid@x.test"),
         o = find(page.raw, "old@x.test");
    REQUIRE(n != std::string::npos);
    REQUIRE(m != std::string::npos);
    REQUIRE(o != std::string::npos);
    CHECK(n < m);
    CHECK(m < o);
    CHECK(page.raw.find("900 sats") != std::string::npos);
    auto expired = b.get("/admin/invoices?status=expired");
    CHECK(expired.raw.find("mid@x.test") != std::string::npos);
    CHECK(expired.raw.find("new@x.test") == std::string::npos);
    CHECK(expired.raw.find("<option value=\"expired\" selected>") != std::string::npos);
    // A status the page does not know lists every invoice rather than a refusal.
    CHECK(b.get("/admin/invoices?status=%3Cb%3E").raw.find("old@x.test") != std::string::npos);
}

TEST_CASE("console: connecting BTCPay is one click: the form's answer sends the browser to "
          "BTCPay's authorize page, which the payments page's policy allows, and nowhere else",
          "[e2e][console]") {
    test::BtcpayStandin btcpay{"unused-static-key", "StandInStore", "unused-secret"};
    Console c("btcpay_url = \"" + btcpay.url() + "\"\nwebhook_allow = [\"127.0.0.1/32\"]\n");
    Browser b(*c.server);
    REQUIRE(b.sign_in("password", k_password).status == 303);
    auto page = b.get("/admin/payments");
    REQUIRE(page.status == 200);
    CHECK(page.headers["Content-Security-Policy"].find("form-action 'self' " + btcpay.url() +
                                                       ";") != std::string::npos);
    // Other pages keep the strict policy.
    CHECK(b.get("/admin/settings").headers["Content-Security-Policy"].find("form-action 'self';") !=
          std::string::npos);
    // No profile yet: the connect makes the default one.
    CHECK(page.raw.find("No merchant profile yet") != std::string::npos);
    auto started = b.post("/admin/act", "_method=POST&_path=/v1/admin/btcpay/connect&_back=/admin/"
                                        "payments&_go=authorize_url&_csrf=" +
                                            b.last_csrf);
    REQUIRE(started.status == 303);
    std::string to = location(started);
    CHECK(to.starts_with(btcpay.url() + "/api-keys/authorize?"));
    CHECK(to.find("redirect=") != std::string::npos);
    CHECK(c.count("SELECT count(*) FROM audit_log WHERE action = "
                  "'payment_provider.connect_start'") == 1);

    // The round trip's other half, as BTCPay's consent page does it: a key posted back to the
    // callback named in the redirect (the browser test clicks through the consent page itself).
    std::smatch m;
    REQUIRE(std::regex_search(to, m,
                              std::regex("redirect=" + c.server->base() +
                                         "/v1/btcpay/authorize/callback\\?state=([A-Z2-7]{32})")));
    std::string state = m[1];
    std::string key = "unused-static-key";
    auto done =
        test::http_request(c.server->port(), "POST", "/v1/btcpay/authorize/callback?state=" + state,
                           "apiKey=" + key + "&permissions%5B%5D=btcpay.store.canviewinvoices",
                           {{"Content-Type", "application/x-www-form-urlencoded"}});
    INFO(done.raw);
    REQUIRE(done.status == 200);
    auto after = b.get("/admin/payments");
    CHECK(after.raw.find("Stand-in Store") != std::string::npos);
    CHECK(after.raw.find("lightning, onchain") != std::string::npos);
    CHECK(after.raw.find(">Disconnect</button>") != std::string::npos);
    CHECK(btcpay.problems().empty());

    // A form may only continue to BTCPay: any other field of the answer is refused.
    auto elsewhere = b.post("/admin/act", "_method=POST&_path=/v1/admin/merchant-profiles&_back="
                                          "/admin/payments&name=Other&support_url=https://"
                                          "evil.test/&_go=support_url&_csrf=" +
                                              b.last_csrf);
    CHECK(elsewhere.status == 502);
    CHECK(elsewhere.headers.count("Location") == 0);

    // A read-only key sees the providers but no connect or disconnect.
    std::string read_only = c.api_key("read-only");
    Browser r(*c.server);
    REQUIRE(r.sign_in("api_key", read_only).status == 303);
    auto seen = r.get("/admin/payments");
    CHECK(seen.status == 200);
    CHECK(seen.raw.find("Stand-in Store") != std::string::npos);
    CHECK(seen.raw.find("action=\"/admin/act\"") == std::string::npos);
    CHECK(seen.headers["Content-Security-Policy"].find("form-action 'self';") != std::string::npos);
    auto forged = r.post("/admin/act", "_method=POST&_path=/v1/admin/btcpay/connect&_back=/admin/"
                                       "payments&_go=authorize_url&_csrf=" +
                                           r.last_csrf);
    CHECK(forged.status == 403);
    CHECK(forged.headers.count("Location") == 0);

    // Disconnecting from the page.
    auto listed = c.server->get("/v1/admin/merchant-profiles", c.server->admin_key());
    INFO(listed.raw);
    std::string provider;
    for (const auto& p : listed.body["profiles"])
        if (p["is_default"] == true && !p["providers"].empty())
            provider = p["providers"][0]["id"];
    REQUIRE_FALSE(provider.empty());
    b.get("/admin/payments");
    auto gone =
        b.post("/admin/act", "_method=POST&_path=/v1/admin/btcpay/disconnect&_back=/admin/"
                             "payments&provider_id=" +
                                 provider + "&_done=Provider+disconnected.&_csrf=" + b.last_csrf);
    CHECK(gone.status == 303);
    CHECK(b.get("/admin/payments").raw.find("None connected") != std::string::npos);
}

TEST_CASE("console: Zaprite connects with a key, profiles are made and edited, the rail "
          "preference and the brand colour are saved through their routes",
          "[e2e][console]") {
    test::ZapriteStandin zaprite{"zaprite-standin-key"};
    Console c("webhook_allow = [\"127.0.0.1/32\"]\n");
    Browser b(*c.server);
    REQUIRE(b.sign_in("password", k_password).status == 303);
    b.get("/admin/payments");
    auto made = b.post("/admin/act", "_method=POST&_path=/v1/admin/merchant-profiles&_back=/admin/"
                                     "payments&name=Main+shop&brand_color=%23123abc&_done="
                                     "Merchant+profile+created.&_csrf=" +
                                         b.last_csrf);
    REQUIRE(made.status == 303);
    auto listed = c.server->get("/v1/admin/merchant-profiles", c.server->admin_key());
    REQUIRE(listed.body["profiles"].size() == 1);
    std::string profile = listed.body["profiles"][0]["id"];
    CHECK(listed.body["profiles"][0]["brand_color"] == "#123abc");

    // A wrong key changes nothing and says why.
    auto page = b.get("/admin/payments");
    CHECK(page.raw.find("Connect Zaprite") != std::string::npos);
    auto wrong = b.post("/admin/act", "_method=POST&_path=/v1/admin/zaprite/connect&_back=/admin/"
                                      "payments&api_key=nope&base_url=" +
                                          zaprite.url() + "&merchant_profile_id=" + profile +
                                          "&_csrf=" + b.last_csrf);
    CHECK(wrong.status >= 400);
    CHECK(wrong.raw.find("Nothing was changed") != std::string::npos);
    CHECK(c.count("SELECT count(*) FROM payment_providers") == 0);
    auto connected = b.post("/admin/act", "_method=POST&_path=/v1/admin/zaprite/connect&_back=/"
                                          "admin/payments&api_key=zaprite-standin-key&base_url=" +
                                              zaprite.url() + "&merchant_profile_id=" + profile +
                                              "&_done=Zaprite+connected.&_csrf=" + b.last_csrf);
    INFO(connected.raw);
    REQUIRE(connected.status == 303);
    CHECK(location(connected) == "/admin/payments?done=Zaprite connected.");
    page = b.get(location(connected));
    CHECK(page.raw.find("Zaprite connected.") != std::string::npos);
    CHECK(page.raw.find("lightning, onchain, card") != std::string::npos);
    // The key never reaches the page.
    CHECK(page.raw.find("zaprite-standin-key") == std::string::npos);

    // Edit: the form starts with the profile's values; a bad colour is refused, a good one kept.
    CHECK(page.raw.find("value=\"Main shop\"") != std::string::npos);
    CHECK(page.raw.find("value=\"#123abc\"") != std::string::npos);
    auto bad =
        b.post("/admin/act", "_method=PATCH&_path=/v1/admin/merchant-profiles/" + profile +
                                 "&_back=/admin/payments&brand_color:str=red&_csrf=" + b.last_csrf);
    CHECK(bad.status == 400);
    CHECK(bad.raw.find("brand_color") != std::string::npos);
    auto saved = b.post("/admin/act", "_method=PATCH&_path=/v1/admin/merchant-profiles/" + profile +
                                          "&_back=/admin/payments&name=Main+shop&legal_name:str="
                                          "Main+Ltd&brand_color:str=%23aa0000&_csrf=" +
                                          b.last_csrf);
    CHECK(saved.status == 303);
    auto one = c.server->get("/v1/admin/merchant-profiles/" + profile, c.server->admin_key());
    CHECK(one.body["legal_name"] == "Main Ltd");
    CHECK(one.body["brand_color"] == "#aa0000");

    // The rail table says who takes each rail.
    page = b.get("/admin/payments");
    CHECK(page.raw.find(">card</td>") != std::string::npos);
    std::string zaprite_provider = one.body["providers"][0]["id"];
    auto rail = b.post("/admin/act", "_method=PUT&_path=/v1/admin/merchant-profiles/" + profile +
                                         "/rail-preferences/card&_back=/admin/payments&payment_"
                                         "provider_id=" +
                                         zaprite_provider + "&_csrf=" + b.last_csrf);
    CHECK(rail.status == 303);
    one = c.server->get("/v1/admin/merchant-profiles/" + profile, c.server->admin_key());
    REQUIRE(one.body["rail_preferences"].size() == 1);
    CHECK(one.body["rail_preferences"][0]["rail"] == "card");

    // Settings: the default profile's brand colour; cleared with an empty field.
    REQUIRE(c.server
                ->post("/v1/admin/merchant-profiles/" + profile + "/set-default", "",
                       c.server->admin_key())
                .status == 200);
    auto settings = b.get("/admin/settings");
    CHECK(settings.raw.find("the colour #aa0000") != std::string::npos);
    auto cleared =
        b.post("/admin/act", "_method=PATCH&_path=/v1/admin/merchant-profiles/" + profile +
                                 "&_back=/admin/settings&brand_color:str=&_done=Brand+"
                                 "colour+saved.&_csrf=" +
                                 b.last_csrf);
    CHECK(cleared.status == 303);
    CHECK(b.get(location(cleared)).raw.find("the standard colour") != std::string::npos);
    // Zaprite saw one bad key: the wrong one above.
    CHECK(zaprite.problems() ==
          std::vector<std::string>{"GET /v1/orders: bad Authorization header"});
}

TEST_CASE(
    "console: a discount code's page shows its redemptions and edits it, and a license's page "
    "changes its tier through the change-tier route",
    "[e2e][console]") {
    Console c;
    make_catalog(c);
    const auto& admin = c.server->admin_key();
    auto code = c.server->post("/v1/admin/discount-codes",
                               json{{"code", "FREE"},
                                    {"kind", "free_license"},
                                    {"amount", 0},
                                    {"product_slug", "app"},
                                    {"description", "launch"}}
                                   .dump(),
                               admin);
    REQUIRE(code.status == 200);
    std::string code_id = code.body["id"];
    auto redeemed = test::http_request(c.server->port(), "POST", "/v1/redeem",
                                       json{{"code", "FREE"},
                                            {"product", "app"},
                                            {"policy_slug", "basic"},
                                            {"buyer_email", "b@x.test"}}
                                           .dump(),
                                       {{"Content-Type", "application/json"}});
    INFO(redeemed.raw);
    REQUIRE(redeemed.status == 200);

    Browser b(*c.server);
    REQUIRE(b.sign_in("password", k_password).status == 303);
    CHECK(b.get("/admin/codes").raw.find("href=\"/admin/codes/" + code_id + "\"") !=
          std::string::npos);
    auto page = b.get("/admin/codes/" + code_id);
    REQUIRE(page.status == 200);
    CHECK(page.raw.find("redeemed") != std::string::npos);
    CHECK(page.raw.find("value=\"launch\"") != std::string::npos);
    auto edited = b.post("/admin/act", "_method=PATCH&_path=/v1/admin/discount-codes/" + code_id +
                                           "&_back=/admin/codes/" + code_id +
                                           "&max_uses:int=5&description:str=spring&_done=Code+"
                                           "saved.&_csrf=" +
                                           b.last_csrf);
    CHECK(edited.status == 303);
    auto now = c.server->get("/v1/admin/discount-codes/" + code_id, admin);
    CHECK(now.body["code"]["max_uses"] == 5);
    CHECK(now.body["code"]["description"] == "spring");
    CHECK(b.get("/admin/codes/00000000-0000-4000-8000-000000000000").status == 404);

    // The redeemed license, from basic to pro, at once and free.
    auto licenses = c.server->get("/v1/admin/licenses", admin);
    REQUIRE(licenses.body["licenses"].size() == 1);
    std::string license = licenses.body["licenses"][0]["id"];
    auto detail = b.get("/admin/licenses/" + license);
    CHECK(detail.raw.find("Change tier") != std::string::npos);
    CHECK(detail.raw.find("<option value=\"pro\">") != std::string::npos);
    CHECK(detail.raw.find("<option value=\"basic\">") == std::string::npos);
    auto moved = b.post("/admin/act", "_method=POST&_path=/v1/admin/licenses/" + license +
                                          "/change-tier&_back=/admin/licenses/" + license +
                                          "&to_policy_slug=pro&skip_payment:bool=true&reason="
                                          "goodwill&_show=checkout_url&_done=Tier+changed.&_csrf=" +
                                          b.last_csrf);
    INFO(moved.raw);
    CHECK(moved.status == 303);
    CHECK(location(moved).ends_with("done=Tier changed."));
    auto after = c.server->get("/v1/admin/licenses/" + license, admin);
    CHECK(after.body["entitlements"] == json{"pro"});
    CHECK(c.count("SELECT count(*) FROM audit_log WHERE details LIKE '%goodwill%'") == 1);
}

TEST_CASE("console: the releases page lists what the gate serves and names the builds without a "
          "signature",
          "[e2e][console]") {
    test::TempDir releases;
    auto put = [&](const std::string& rel, const std::string& bytes) {
        auto path = releases / rel;
        std::filesystem::create_directories(path.parent_path());
        std::ofstream(path) << bytes;
    };
    put("app/1.2.0/app-linux-x86_64", "binary 1.2.0");
    put("app/1.2.0/app-linux-x86_64.minisig", "sig");
    put("app/1.10.0/app-linux-x86_64", "binary 1.10.0");
    put("stray/0.1.0/tool", "x");
    {
        Console none;
        Browser b(*none.server);
        REQUIRE(b.sign_in("password", k_password).status == 303);
        auto page = b.get("/admin/releases");
        CHECK(page.status == 200);
        CHECK(page.raw.find("serves no releases directory") != std::string::npos);
    }
    Console c("releases_dir = \"" + releases.path().string() + "\"\n");
    make_catalog(c);
    auto api = c.server->get("/v1/admin/releases", c.server->admin_key());
    REQUIRE(api.status == 200);
    REQUIRE(api.body["products"].size() == 2);
    CHECK(api.body["unsigned_builds"] == 2);
    const auto& app = api.body["products"][0];
    CHECK(app["product"] == "app");
    CHECK(app["in_catalog"] == true);
    CHECK(app["versions"][0]["version"] == "1.10.0"); // newest first, by semver
    CHECK(app["versions"][1]["builds"][0]["minisig"] == true);
    CHECK(app["versions"][0]["builds"][0]["signed"] == false);
    CHECK(api.body["products"][1]["in_catalog"] == false);
    CHECK(c.server->get("/v1/admin/releases?versions=0", c.server->admin_key()).status == 400);
    CHECK(c.server->get("/v1/admin/releases?versions=1", c.server->admin_key())
              .body["products"][0]["versions"]
              .size() == 1);

    Browser b(*c.server);
    REQUIRE(b.sign_in("api_key", c.api_key("read-only")).status == 303);
    auto page = b.get("/admin/releases");
    REQUIRE(page.status == 200);
    CHECK(page.raw.find("builds without a signature") != std::string::npos);
    CHECK(page.raw.find("no product in the catalog has this slug") != std::string::npos);
    CHECK(page.raw.find(">.minisig</td>") != std::string::npos);
    CHECK(page.raw.find(">none</td>") != std::string::npos);
}

TEST_CASE("console: a product's page edits the product, its entitlements catalog and each tier's "
          "terms through their PATCH routes",
          "[e2e][console]") {
    Console c;
    make_catalog(c);
    const auto& admin = c.server->admin_key();
    auto products = c.server->get("/v1/admin/products", admin);
    std::string product = products.body["products"][0]["id"];
    auto tiers = c.server->get("/v1/admin/policies?product_slug=app", admin);
    std::string pro;
    for (const auto& t : tiers.body["policies"])
        if (t["slug"] == "pro")
            pro = t["id"];
    REQUIRE_FALSE(pro.empty());

    Browser b(*c.server);
    REQUIRE(b.sign_in("password", k_password).status == 303);
    CHECK(b.get("/admin/products").raw.find("href=\"/admin/products/" + product + "\"") !=
          std::string::npos);
    auto page = b.get("/admin/products/" + product);
    REQUIRE(page.status == 200);
    CHECK(page.raw.find("Tier pro tier") != std::string::npos);
    CHECK(page.raw.find("value=\"App\"") != std::string::npos);

    // The catalog, one entitlement per line; a line without a slug changes nothing.
    auto bad =
        b.post("/admin/act",
               "_method=PATCH&_path=/v1/admin/products/" + product + "&_back=/admin/products/" +
                   product + "&entitlements_catalog:catalog=%7C+Name+only&_csrf=" + b.last_csrf);
    CHECK(bad.status == 400);
    CHECK(bad.raw.find("starts with an entitlement") != std::string::npos);
    auto saved = b.post(
        "/admin/act",
        "_method=PATCH&_path=/v1/admin/products/" + product + "&_back=/admin/products/" + product +
            "&name=App+2&entitlements_catalog:catalog=sync+%7C+Sync+%7C+Across+devices%2C+"
            "all%0D%0A%0D%0Aexport%0D%0A&_done=Product+saved.&_csrf=" +
            b.last_csrf);
    CHECK(saved.status == 303);
    auto now = c.server->get("/v1/admin/products", admin).body["products"][0];
    CHECK(now["name"] == "App 2");
    CHECK(now["entitlements_catalog"] ==
          json::parse(R"([{"slug":"sync","name":"Sync","description":"Across devices, all"},
                          {"slug":"export"}])"));
    page = b.get("/admin/products/" + product);
    CHECK(page.raw.find("sync | Sync | Across devices, all\nexport\n</textarea>") !=
          std::string::npos);
    // A text with a bar cannot round-trip through the one-line form: the form leaves it out.
    REQUIRE(test::http_request(
                c.server->port(), "PATCH", "/v1/admin/products/" + product,
                json{{"entitlements_catalog",
                      {{{"slug", "sync"}, {"name", "A | B"}}, {{"slug", "export"}}}}}
                    .dump(),
                {{"Authorization", "Bearer " + admin}, {"Content-Type", "application/json"}})
                .status == 200);
    page = b.get("/admin/products/" + product);
    CHECK(page.raw.find("entitlements_catalog:catalog") == std::string::npos);
    CHECK(page.raw.find("edit it through the API") != std::string::npos);

    // A tier: hidden entitlements, bullets, rank; then hidden from buyers and archived.
    auto tier = b.post("/admin/act", "_method=PATCH&_path=/v1/admin/policies/" + pro +
                                         "&_back=/admin/products/" + product +
                                         "&name=Pro&hidden_entitlements:list=export%2C+sync&"
                                         "marketing_bullets:list=Fast%2C+Friendly&tier_rank:int=5&"
                                         "highlighted:bool=false&highlighted:bool=true&_csrf=" +
                                         b.last_csrf);
    INFO(tier.raw);
    CHECK(tier.status == 303);
    auto hide = b.post("/admin/act", "_method=PATCH&_path=/v1/admin/policies/" + pro +
                                         "/public&_back=/admin/products/" + product +
                                         "&public:bool=false&_csrf=" + b.last_csrf);
    CHECK(hide.status == 303);
    auto edited = c.server->get("/v1/admin/policies?product_slug=app&include_inactive=true", admin);
    json p;
    for (const auto& t : edited.body["policies"])
        if (t["id"] == pro)
            p = t;
    REQUIRE(p.is_object());
    CHECK(p["name"] == "Pro");
    CHECK(p["hidden_entitlements"] == json{"export", "sync"});
    CHECK(p["marketing_bullets"] == json{"Fast", "Friendly"});
    CHECK(p["tier_rank"] == 5);
    CHECK(p["highlighted"] == true);
    CHECK(p["is_public"] == false);
    page = b.get("/admin/products/" + product);
    CHECK(page.raw.find("Show to buyers") != std::string::npos);
    CHECK(page.raw.find("value=\"export, sync\"") != std::string::npos);
    CHECK(b.get("/admin/products/00000000-0000-4000-8000-000000000000").status == 404);

    // Bullets with commas stay whole: one per line.
    auto bullets = b.post("/admin/act", "_method=PATCH&_path=/v1/admin/policies/" + pro +
                                            "&_back=/admin/products/" + product +
                                            "&marketing_bullets:lines=Up+to+3+machines%2C+forever%"
                                            "0D%0A%0D%0ASupport&_csrf=" +
                                            b.last_csrf);
    CHECK(bullets.status == 303);
    // The answer held in a variable: a range-for over a temporary's member would outlive it.
    auto with_bullets =
        c.server->get("/v1/admin/policies?product_slug=app&include_inactive=true", admin);
    for (const auto& t : with_bullets.body["policies"])
        if (t["id"] == pro)
            CHECK(t["marketing_bullets"] == json{"Up to 3 machines, forever", "Support"});
    CHECK(b.get("/admin/products/" + product)
              .raw.find("Up to 3 machines, forever\nSupport\n</textarea>") != std::string::npos);

    // A product priced in dollars is edited in cents of dollars: saving its name keeps its price.
    auto usd = c.server->post("/v1/admin/products",
                              json{{"slug", "usd-app"},
                                   {"name", "USD app"},
                                   {"price_currency", "USD"},
                                   {"price_value", 1250}}
                                  .dump(),
                              admin);
    REQUIRE(usd.status == 200);
    std::string usd_id = usd.body["id"];
    auto usd_page = b.get("/admin/products/" + usd_id);
    CHECK(usd_page.raw.find("$12.50") != std::string::npos);
    CHECK(usd_page.raw.find("name=\"price_sats:int\"") == std::string::npos);
    std::smatch form;
    REQUIRE(std::regex_search(usd_page.raw, form,
                              std::regex("name=\"price_value:int\" type=\"number\" "
                                         "value=\"([0-9]+)\"")));
    CHECK(form[1] == "1250");
    auto renamed = b.post("/admin/act", "_method=PATCH&_path=/v1/admin/products/" + usd_id +
                                            "&_back=/admin/products/" + usd_id +
                                            "&name=USD+app+2&price_currency=USD&price_value:int=" +
                                            form[1].str() + "&_csrf=" + b.last_csrf);
    CHECK(renamed.status == 303);
    auto after_rename = c.server->get("/v1/admin/products", admin);
    for (const auto& p : after_rename.body["products"])
        if (p["id"] == usd_id) {
            CHECK(p["name"] == "USD app 2");
            CHECK(p["price_currency"] == "USD");
            CHECK(p["price_value"] == 1250);
        }

    // A read-only key reads the page without a form.
    Browser r(*c.server);
    REQUIRE(r.sign_in("api_key", c.api_key("read-only")).status == 303);
    auto seen = r.get("/admin/products/" + product);
    CHECK(seen.status == 200);
    CHECK(seen.raw.find("action=\"/admin/act\"") == std::string::npos);
    CHECK(c.count("SELECT count(*) FROM audit_log WHERE action = 'product.update'") == 3);
}
