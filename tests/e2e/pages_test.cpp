// The buyer's pages over HTTP, without a browser: headers (CSP with a fresh nonce), the forms that
// work without JavaScript (buy, recover), errors as pages, and hostile strings escaped in the
// HTML itself. tests/browser/shop_test.cpp drives the same pages in Chromium.

#include <catch2/catch.hpp>

#include <regex>

#include <nlohmann/json.hpp>

#include "support/server_process.hpp"
#include "support/support.hpp"

using namespace keysat;
using nlohmann::json;

namespace {

struct Pages {
    test::TempDir dir;
    test::ServerProcess server{dir / "data"};
    std::string admin = server.admin_key();

    void ok(const std::string& path, const json& body) {
        auto r = server.post(path, body.dump(), admin);
        INFO(path << ": " << r.raw);
        REQUIRE(r.status == 200);
    }
    Pages() {
        ok("/v1/admin/products", {{"slug", "app"},
                                  {"name", "App <b>\"x\"</b>"},
                                  {"description", "<script>alert(1)</script>"},
                                  {"price_sats", 50000}});
        ok("/v1/admin/policies", {{"product_slug", "app"},
                                  {"slug", "pro"},
                                  {"name", "Pro' onmouseover='alert(2)"},
                                  {"price_sats_override", 80000}});
        ok("/v1/admin/policies",
           {{"product_slug", "app"},
            {"slug", "lite"},
            {"name", "Lite"},
            {"price_sats_override", 1000},
            {"metadata", {{"marketing_bullets", {"</li></ul><img src=x onerror=alert(3)>"}}}}});
        ok("/v1/admin/discount-codes", {{"code", "GIFT"}, {"kind", "free_license"}, {"amount", 0}});
    }
    test::HttpResult form(const std::string& path, const std::string& body) {
        return server.request("POST", path, body,
                              {{"Content-Type", "application/x-www-form-urlencoded"}});
    }
};

std::string header(const test::HttpResult& r, const std::string& name) {
    for (const auto& [k, v] : r.headers)
        if (std::equal(k.begin(), k.end(), name.begin(), name.end(),
                       [](char a, char b) { return std::tolower(a) == std::tolower(b); }))
            return v;
    return "";
}

// Nothing a seller or buyer typed may arrive in the HTML as markup.
void check_no_markup_from_input(const std::string& html) {
    for (const char* raw : {"<script>alert", "<img", "onmouseover='", "<b>\"x\"", "</li></ul><img"})
        CHECK(html.find(raw) == std::string::npos);
}

} // namespace

TEST_CASE("pages: a strict Content-Security-Policy with a fresh nonce, and no caching of keys",
          "[e2e][pages][security]") {
    Pages p;
    auto a = p.server.get("/buy/app");
    auto b = p.server.get("/buy/app");
    REQUIRE(a.status == 200);
    CHECK(header(a, "Content-Type") == "text/html; charset=utf-8");
    std::string csp = header(a, "Content-Security-Policy");
    INFO(csp);
    CHECK(csp.find("default-src 'none'") != std::string::npos);
    CHECK(csp.find("script-src 'self';") != std::string::npos);
    CHECK(csp.find("frame-ancestors 'none'") != std::string::npos);
    CHECK(csp.find("base-uri 'none'") != std::string::npos);
    CHECK(csp.find("unsafe-inline") == std::string::npos);
    std::smatch m;
    REQUIRE(std::regex_search(csp, m, std::regex("'nonce-([A-Za-z0-9+/=]{24})'")));
    CHECK(a.raw.find("<style nonce=\"" + m[1].str() + "\">") != std::string::npos);
    CHECK(header(b, "Content-Security-Policy") != csp); // a new nonce every time
    CHECK(header(a, "X-Content-Type-Options") == "nosniff");
    CHECK(header(a, "Referrer-Policy") == "no-referrer");
    // No inline script anywhere: only the data block and scripts from /assets/.
    std::regex script("<script([^>]*)>");
    for (auto it = std::sregex_iterator(a.raw.begin(), a.raw.end(), script);
         it != std::sregex_iterator(); ++it) {
        std::string attrs = (*it)[1];
        INFO(attrs);
        CHECK((attrs == " type=\"application/json\" id=\"buy-data\"" ||
               attrs.find(" src=\"/assets/") == 0));
    }
    auto css = p.server.get("/assets/keysat.css");
    CHECK(css.status == 200);
    CHECK(header(css, "Content-Type") == "text/css; charset=utf-8");
    auto js = p.server.get("/assets/buy.js");
    CHECK(header(js, "Content-Type") == "text/javascript; charset=utf-8");
    CHECK(p.server.get("/assets/buyXjs").status == 404);
}

TEST_CASE("pages: hostile product, tier and bullet text is escaped in the HTML",
          "[e2e][pages][security]") {
    Pages p;
    auto r = p.server.get("/buy/app");
    REQUIRE(r.status == 200);
    check_no_markup_from_input(r.raw);
    CHECK(r.raw.find("<h1>App &lt;b&gt;&quot;x&quot;&lt;/b&gt;</h1>") != std::string::npos);
    CHECK(r.raw.find("Pro&#39; onmouseover=&#39;alert(2)") != std::string::npos);
    CHECK(r.raw.find("&lt;/li&gt;&lt;/ul&gt;&lt;img src=x onerror=alert(3)&gt;") !=
          std::string::npos);
    // The data block for the script holds no '<' at all.
    auto start = r.raw.find("id=\"buy-data\">");
    REQUIRE(start != std::string::npos);
    auto end = r.raw.find("</script>", start);
    std::string block = r.raw.substr(start + 14, end - start - 14);
    CHECK(block.find('<') == std::string::npos);
    CHECK(json::parse(block)["product"] == "app");
}

TEST_CASE("pages: the buy form works without JavaScript, and its errors come back as the page",
          "[e2e][pages][purchase]") {
    Pages p;
    auto free = p.form("/buy/app", "policy_slug=pro&buyer_email=a%40b.c&code=gift");
    INFO(free.raw);
    REQUIRE(free.status == 303);
    std::string location = header(free, "Location");
    REQUIRE(location.rfind("/thank-you?invoice_id=", 0) == 0);
    auto thanks = p.server.get(location);
    CHECK(thanks.status == 200);
    CHECK(header(thanks, "Cache-Control") == "no-store");
    std::smatch key;
    REQUIRE(std::regex_search(
        thanks.raw, key,
        std::regex("<textarea id=\"license-key\"[^>]*>(LIC1-[A-Z0-9-]+)</textarea>")));
    auto poll = p.server.get("/v1/purchase/" + location.substr(22));
    CHECK(poll.body["license_key"] == key[1].str());

    // A code that does not exist: the page again, with the message and what was typed, escaped.
    auto bad = p.form("/buy/app", "policy_slug=lite&buyer_email=a%40b.c&code=%22%3E%3Cscript%3Ex");
    CHECK(bad.status == 400);
    CHECK(bad.raw.find("role=\"alert\">bad request: unknown discount code") != std::string::npos);
    CHECK(bad.raw.find("value=\"&quot;&gt;&lt;script&gt;x\"") != std::string::npos);
    CHECK(bad.raw.find("value=\"lite\" checked") != std::string::npos);
    check_no_markup_from_input(bad.raw);

    // A paid tier with no payment provider connected: refused, nothing sold.
    auto paid = p.form("/buy/app", "policy_slug=pro");
    CHECK(paid.status != 303);
    CHECK(paid.raw.find("role=\"alert\"") != std::string::npos);

    // Bytes that are not UTF-8 are a bad code, not a server error.
    auto bytes = p.form("/buy/app", "policy_slug=lite&code=%FF%FE");
    CHECK(bytes.status == 400);
    CHECK(bytes.raw.find("role=\"alert\"") != std::string::npos);

    CHECK(p.server.get("/buy/nothing-here").status == 404);
    CHECK(p.server.get("/buy/nothing-here").raw.find("<h1>Product not found</h1>") !=
          std::string::npos);
}

TEST_CASE("pages: thank-you and recover refuse malformed invoice ids, and recovery works as a form",
          "[e2e][pages][recover]") {
    Pages p;
    for (const char* id : {"", "x", "%3Cscript%3E", "00000000-0000-0000-0000-000000000000"}) {
        INFO(id);
        auto r = p.server.get(std::string("/thank-you?invoice_id=") + id);
        CHECK(r.status == 404);
        CHECK(r.raw.find("<h1>Purchase not found</h1>") != std::string::npos);
        CHECK(r.raw.find("<script>") == std::string::npos);
    }
    auto prefill = p.server.get("/recover?invoice_id=%22%3E%3Cimg%20src%3Dx%3E");
    CHECK(prefill.status == 200);
    CHECK(prefill.raw.find("value=\"&quot;&gt;&lt;img src=x&gt;\"") != std::string::npos);

    auto bought = p.server.post("/v1/purchase", json{{"product", "app"},
                                                     {"policy_slug", "pro"},
                                                     {"code", "GIFT"},
                                                     {"buyer_email", "Buyer@Example.com"}}
                                                    .dump());
    REQUIRE(bought.status == 200);
    std::string invoice = bought.body["invoice_id"];
    auto found = p.form("/recover", "invoice_id=" + invoice + "&email=buyer%40example.COM");
    CHECK(found.status == 200);
    CHECK(found.raw.find(bought.body["license_key"].get<std::string>()) != std::string::npos);
    CHECK(header(found, "Cache-Control") == "no-store");
    auto wrong = p.form("/recover", "invoice_id=" + invoice + "&email=other%40example.com");
    CHECK(wrong.status == 404);
    CHECK(wrong.raw.find("No settled purchase matches") != std::string::npos);
    CHECK(wrong.raw.find("LIC1-") == std::string::npos);
}

TEST_CASE("pages: a buy page kept for speed shows a change as soon as it is committed",
          "[e2e][pages]") {
    Pages p;
    auto before = p.server.get("/buy/app");
    REQUIRE(before.status == 200);
    CHECK(before.raw.find("80,000 sats") != std::string::npos);
    auto list = p.server.get("/v1/admin/policies?product_slug=app", p.admin);
    std::string pro_id;
    for (const auto& pol : list.body["policies"])
        if (pol["slug"] == "pro")
            pro_id = pol["id"];
    REQUIRE(!pro_id.empty());
    auto changed = p.server.request(
        "PATCH", "/v1/admin/policies/" + pro_id, json{{"price_sats_override", 90000}}.dump(),
        {{"Authorization", "Bearer " + p.admin}, {"Content-Type", "application/json"}});
    REQUIRE(changed.status == 200);
    auto after = p.server.get("/buy/app");
    CHECK(after.raw.find("90,000 sats") != std::string::npos);
    CHECK(after.raw.find("80,000 sats") == std::string::npos);
    // Each answer has its own nonce, cached page or not.
    CHECK(p.server.get("/buy/app").raw != after.raw);
}
