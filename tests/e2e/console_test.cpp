// The operator's console over HTTP on loopback (keysat-serve in process, with a clock the test
// moves): sign-in with the password or a scoped key, sessions stored hashed, CSRF and origin
// checks on every form, idle and absolute expiry, sign-out ending the session server-side, the
// brute-force limit, and forms that become admin API calls with the same scope checks and audit.

#include <chrono>
#include <regex>
#include <thread>

#include <catch2/catch.hpp>

#include "keysat/api/console.hpp"
#include "keysat/crypto/hash.hpp"
#include "keysat/crypto/password.hpp"
#include "keysat/db/database.hpp"
#include "keysat/util/encoding.hpp"
#include "support/console_client.hpp"
#include "support/serve_in_process.hpp"
#include "support/support.hpp"

using namespace keysat;
using namespace keysat::test::console;
using nlohmann::json;

TEST_CASE("console: sign-in with the password gives an HttpOnly SameSite=Strict session stored "
          "only as its hash, and sign-out ends it on the server",
          "[e2e][console]") {
    Console c;
    Browser b(*c.server);
    // Pages need a session.
    auto before = b.get("/admin/licenses");
    CHECK(before.status == 303);
    CHECK(location(before) == "/admin/login");
    auto form = b.get("/admin/login");
    CHECK(form.status == 200);
    CHECK(form.raw.find("name=\"password\"") != std::string::npos);
    CHECK(form.headers["Content-Security-Policy"].find("script-src 'self'") != std::string::npos);
    CHECK(form.headers["Cache-Control"] == "no-store");

    auto wrong = b.sign_in("password", "wrong horse battery");
    CHECK(wrong.status == 401);
    CHECK(b.cookie.empty());
    auto in = b.sign_in("password", k_password);
    REQUIRE(in.status == 303);
    CHECK(location(in) == "/admin/");
    std::string set = in.headers["Set-Cookie"];
    CHECK(set.find("; Path=/admin; HttpOnly; SameSite=Strict") != std::string::npos);
    CHECK(set.find("Secure") == std::string::npos); // the public URL is http here
    REQUIRE(b.cookie.size() == std::string("keysat_console=").size() + 43);
    std::string token = b.cookie.substr(std::string("keysat_console=").size());
    // Stored as its SHA-256 only; audited both ways without the token.
    CHECK(c.count("SELECT count(*) FROM console_sessions") == 1);
    CHECK(c.count("SELECT count(*) FROM console_sessions WHERE id_sha256 = '" +
                  hex_encode(crypto::sha256(as_bytes(token))) + "'") == 1);
    CHECK(c.count("SELECT count(*) FROM audit_log WHERE action = 'console.sign_in' AND "
                  "actor_kind = 'master'") == 1);
    CHECK(c.count("SELECT count(*) FROM audit_log WHERE action = 'console.sign_in_failed'") == 1);
    CHECK(c.count("SELECT count(*) FROM audit_log WHERE details LIKE '%" + token +
                  "%' OR "
                  "actor_hmac LIKE '%" +
                  token + "%'") == 0);

    auto dash = b.get("/admin/");
    CHECK(dash.status == 200);
    CHECK(dash.raw.find("Signed in as operator") != std::string::npos);
    CHECK(dash.raw.find("href=\"/admin/api-keys\"") != std::string::npos);

    // Sign-out needs the form token too; then the stolen cookie is worth nothing.
    std::string stolen = b.cookie;
    CHECK(b.post("/admin/logout", "_csrf=wrong").status == 403);
    CHECK(c.count("SELECT count(*) FROM console_sessions") == 1);
    auto out = b.post("/admin/logout", "_csrf=" + b.last_csrf);
    CHECK(out.status == 303);
    CHECK(out.headers["Set-Cookie"].find("Max-Age=0") != std::string::npos);
    CHECK(b.cookie.empty());
    CHECK(c.count("SELECT count(*) FROM console_sessions") == 0);
    Browser thief(*c.server);
    thief.cookie = stolen;
    CHECK(thief.get("/admin/").status == 303);
    CHECK(c.count("SELECT count(*) FROM audit_log WHERE action = 'console.sign_out'") == 1);
}

TEST_CASE("console: a form without the session's token, from another site or without an origin "
          "changes nothing",
          "[e2e][console]") {
    Console c;
    Browser b(*c.server);
    REQUIRE(b.sign_in("password", k_password).status == 303);
    REQUIRE(b.get("/admin/products").status == 200);
    const std::string product = "name=App&slug=app&price_sats:int=1000";
    CHECK(b.act("POST", "/v1/admin/products", product, std::string()).status == 403);
    CHECK(b.act("POST", "/v1/admin/products", product, std::string("forged")).status == 403);
    CHECK(b.act("POST", "/v1/admin/products", product, std::string(43, 'A')).status == 403);
    b.origin = "https://evil.example";
    CHECK(b.act("POST", "/v1/admin/products", product).status == 403);
    b.origin = "null";
    CHECK(b.act("POST", "/v1/admin/products", product).status == 403);
    b.origin = "";
    CHECK(b.act("POST", "/v1/admin/products", product).status == 403);
    // A cross-site sign-in form is refused too (login CSRF).
    CHECK(b.post("/admin/login", "password=x").status == 403);
    CHECK(c.count("SELECT count(*) FROM products") == 0);
    // The same post from the console's own page goes through the admin route, audited as the
    // operator of this session.
    b.origin = c.server->base();
    auto made = b.act("POST", "/v1/admin/products", product + "&_done=Product+created.");
    CHECK(made.status == 303);
    CHECK(location(made) == "/admin/products?done=Product created.");
    CHECK(c.count("SELECT count(*) FROM products WHERE slug = 'app' AND price_amount = 1000") == 1);
    CHECK(c.count("SELECT count(*) FROM audit_log WHERE action = 'product.create' AND "
                  "actor_kind = 'master'") == 1);
    // A refusal by the route shows its message and changes nothing.
    auto dup = b.act("POST", "/v1/admin/products", product);
    CHECK(dup.status == 409);
    CHECK(dup.raw.find("Nothing was changed") != std::string::npos);
    // Only admin routes, only change methods, typed fields checked.
    CHECK(b.act("POST", "/v1/validate", "key=x").status == 400);
    CHECK(b.act("GET", "/v1/admin/products", "").status == 400);
    CHECK(b.act("POST", "/v1/admin/../v1/validate", "").status == 400);
    CHECK(b.act("POST", "/v1/admin/products", "name=B&slug=b&price_sats:int=ten").status == 400);
    CHECK(c.count("SELECT count(*) FROM products") == 1);
}

TEST_CASE("console: a session ends after 30 idle minutes or 12 hours, and a new password ends "
          "every password session",
          "[e2e][console]") {
    Console c;
    Browser b(*c.server);
    REQUIRE(b.sign_in("password", k_password).status == 303);
    // Each request within 30 minutes keeps it alive, up to 12 hours in all.
    for (int i = 1; i <= 24; ++i) {
        c.clock.set(k_t0 + i * 29 * 60);
        REQUIRE(b.get("/admin/").status == 200);
    }
    c.clock.set(k_t0 + 12 * 3600);
    CHECK(b.get("/admin/").status == 303);
    CHECK(c.count("SELECT count(*) FROM console_sessions") == 0);

    REQUIRE(b.sign_in("password", k_password).status == 303);
    CHECK(b.get("/admin/").status == 200);
    c.clock.set(k_t0 + 12 * 3600 + 30 * 60);
    CHECK(b.get("/admin/").status == 303);

    // keysat-serve --set-admin-password with a new password: the old sessions end.
    c.clock.set(k_t0 + 13 * 3600);
    REQUIRE(b.sign_in("password", k_password).status == 303);
    REQUIRE(b.get("/admin/").status == 200);
    test::spit(c.dir / "password", "another good password\n");
    auto set =
        test::run({KEYSAT_SERVE_BIN, "--data-dir", (c.dir / "data").string(),
                   "--set-admin-password", "--password-file", (c.dir / "password").string()});
    INFO(set.err);
    REQUIRE(set.exit_code == 0);
    CHECK(b.get("/admin/").status == 303);
    CHECK(b.sign_in("password", k_password).status == 401);
    CHECK(b.sign_in("password", "another good password").status == 303);
}

TEST_CASE("console: sign-ins are limited per address, 5 then one every 3 minutes, and each "
          "failure is audited",
          "[e2e][console]") {
    Console c;
    Browser b(*c.server);
    for (int i = 0; i < 5; ++i)
        CHECK(b.sign_in("password", "guess " + std::to_string(i)).status == 401);
    auto limited = b.sign_in("password", k_password); // even the right one, until time passes
    CHECK(limited.status == 429);
    CHECK(limited.headers["Retry-After"] == "180");
    CHECK(c.count("SELECT count(*) FROM audit_log WHERE action = 'console.sign_in_failed'") == 5);
    c.clock.set(k_t0 + 181);
    CHECK(b.sign_in("password", k_password).status == 303);
    CHECK(b.sign_in("password", "guess 6").status == 429);
}

TEST_CASE("console: a read-only key sees no write control, and a forged write is refused by the "
          "route's own scope check",
          "[e2e][console]") {
    Console c;
    std::string read_only = c.api_key("read-only");
    std::string issuer = c.api_key("license-issuer");
    REQUIRE(c.server
                ->post("/v1/admin/products",
                       json{{"slug", "app"}, {"name", "App"}, {"price_sats", 5}}.dump(),
                       c.server->admin_key())
                .status == 200);
    Browser b(*c.server);
    CHECK(b.sign_in("api_key", "ks_not_a_real_key").status == 401);
    REQUIRE(b.sign_in("api_key", read_only).status == 303);
    CHECK(c.count("SELECT count(*) FROM console_sessions WHERE actor_kind = 'api_key'") == 1);
    for (const char* page :
         {"/admin/", "/admin/products", "/admin/codes", "/admin/licenses", "/admin/machines",
          "/admin/subscriptions", "/admin/webhooks", "/admin/audit"}) {
        INFO(page);
        auto r = b.get(page);
        CHECK(r.status == 200);
        CHECK(r.raw.find("action=\"/admin/act\"") == std::string::npos);
        CHECK(r.raw.find("(read-only)") != std::string::npos);
    }
    auto keys = b.get("/admin/api-keys");
    CHECK(keys.status == 403);
    CHECK(keys.raw.find("href=\"/admin/api-keys\"") == std::string::npos);
    // A hand-made form with the session's own token: the admin route's scope check refuses it.
    auto forged = b.act("POST", "/v1/admin/products", "name=B&slug=b&price_sats:int=1");
    CHECK(forged.status == 403);
    CHECK(forged.raw.find("lacks the scope products:write") != std::string::npos);
    auto key_forged = b.act("POST", "/v1/admin/api-keys", "label=x&role=full-admin");
    CHECK(key_forged.status == 403);
    CHECK(c.count("SELECT count(*) FROM products") == 1);
    CHECK(c.count("SELECT count(*) FROM api_keys") == 2);

    // A license-issuer key may issue: the key is shown once, the audit names the key.
    Browser issuing(*c.server);
    REQUIRE(issuing.sign_in("api_key", issuer).status == 303);
    auto page = issuing.get("/admin/licenses");
    CHECK(page.raw.find("Issue a complimentary license") != std::string::npos);
    CHECK(issuing.get("/admin/products").raw.find("action=\"/admin/act\"") == std::string::npos);
    auto issued = issuing.act("POST", "/v1/admin/licenses",
                              "product_slug=app&_show=license_key&_title=Issued");
    CHECK(issued.status == 303);
    auto shown = issuing.get("/admin/shown");
    CHECK(shown.raw.find("LIC1") != std::string::npos);
    CHECK(shown.headers["Cache-Control"] == "no-store");
    CHECK(c.count("SELECT count(*) FROM audit_log WHERE action = 'license.issue' AND "
                  "actor_kind = 'api_key'") == 1);

    // Revoking the key ends its console session at the next request.
    auto listed = c.server->get("/v1/admin/api-keys", c.server->admin_key());
    std::string id;
    for (const auto& k : listed.body["api_keys"])
        if (k["role"] == "license-issuer")
            id = k["id"];
    REQUIRE_FALSE(id.empty());
    REQUIRE(test::http_request(c.server->port(), "DELETE", "/v1/admin/api-keys/" + id, "",
                               {{"Authorization", "Bearer " + c.server->admin_key()}})
                .status == 200);
    CHECK(issuing.get("/admin/licenses").status == 303);
}

TEST_CASE("console: hostile strings from the database render as text on every page",
          "[e2e][console]") {
    Console c;
    const std::string evil = "<script>alert(1)</script>\"'><img src=x onerror=alert(2)>";
    const auto& admin = c.server->admin_key();
    REQUIRE(
        c.server
            ->post("/v1/admin/products",
                   json{{"slug", "app"}, {"name", evil}, {"price_sats", 5}, {"description", evil}}
                       .dump(),
                   admin)
            .status == 200);
    REQUIRE(c.server
                ->post("/v1/admin/policies",
                       json{{"product_slug", "app"},
                            {"slug", "pro"},
                            {"name", evil},
                            {"entitlements", {"a"}},
                            {"marketing_bullets", {evil}}}
                           .dump(),
                       admin)
                .status == 200);
    auto code = c.server->post(
        "/v1/admin/discount-codes",
        json{{"code", "EVIL"}, {"kind", "percent"}, {"amount", 1000}, {"description", evil}}.dump(),
        admin);
    REQUIRE(code.status == 200);
    REQUIRE(c.server
                ->post("/v1/admin/merchant-profiles",
                       json{{"name", evil}, {"legal_name", evil}}.dump(), admin)
                .status == 200);
    {
        // An invoice as a Keysat import may bring it: the buyer's e-mail never checked.
        auto db = db::Database::open(c.server->app().db_path, db::OpenMode::read_write);
        REQUIRE(db);
        auto q =
            db->prepare("INSERT INTO invoices (id, product_id, status, base_amount, amount, "
                        "currency, buyer_email, "
                        "created_at, updated_at) SELECT 'inv-evil', id, 'new', 5, 5, 'SAT', ?, 1, "
                        "1 "
                        "FROM products");
        REQUIRE(q);
        q->bind(1, evil);
        REQUIRE(q->run());
    }
    REQUIRE(c.server
                ->post("/v1/admin/licenses",
                       json{{"product_slug", "app"}, {"buyer_email", "a@x.test"}}.dump(), admin)
                .status == 200);
    Browser b(*c.server);
    b.cookie.clear();
    REQUIRE(b.post("/admin/login", "password=" + Browser::html_form(k_password)).status == 303);
    // The operator's own name is shown in the header.
    REQUIRE(c.server->post("/v1/admin/settings/operator-name", json{{"name", evil}}.dump(), admin)
                .status == 200);
    auto listed = c.server->get("/v1/admin/licenses", admin);
    REQUIRE(listed.body["licenses"].size() == 1);
    std::string license_id = listed.body["licenses"][0]["id"];
    std::string product_id = listed.body["licenses"][0]["product_id"];
    for (auto [path, _] : api::console_pages()) {
        // A page of one row: this license's.
        if (auto group = path.find('('); group != std::string::npos) {
            std::string prefix = path.substr(0, group);
            path = prefix + (prefix == "/admin/codes/"      ? code.body["id"].get<std::string>()
                             : prefix == "/admin/products/" ? product_id
                                                            : license_id);
        }
        INFO(path);
        auto r = b.get(path);
        CHECK(r.status == 200);
        CHECK(r.raw.find("<script") == std::string::npos);
        CHECK(r.raw.find("<img") == std::string::npos);
    }
    CHECK(b.get("/admin/products").raw.find("&lt;script&gt;alert(1)&lt;/script&gt;") !=
          std::string::npos);
    CHECK(b.get("/admin/audit").raw.find("&lt;script&gt;") != std::string::npos);
    CHECK(b.get("/admin/invoices").raw.find("&lt;script&gt;") != std::string::npos);
    CHECK(b.get("/admin/payments").raw.find("&lt;script&gt;") != std::string::npos);
}

TEST_CASE("console: the browser's own form posts pass (Origin null only when same-origin), a "
          "rebound domain does not, and ?done= shows only the console's own messages",
          "[e2e][console]") {
    Console c;
    Browser b(*c.server);
    auto form = b.get("/admin/login");
    // With no-referrer a browser would send "Origin: null" on the console's own posts.
    CHECK(form.headers["Referrer-Policy"] == "same-origin");
    b.origin = "null";
    CHECK(b.sign_in("password", k_password).status == 403);
    b.extra["Sec-Fetch-Site"] = "same-origin";
    CHECK(b.sign_in("password", k_password).status == 303);
    b.extra["Sec-Fetch-Site"] = "cross-site";
    b.origin = c.server->base();
    CHECK(b.act("POST", "/v1/admin/products", "name=A&slug=a&price_sats:int=1").status == 403);
    b.extra.erase("Sec-Fetch-Site");
    // DNS rebinding: a page of evil.example, rebound to this server, posts with its own origin
    // and Host. That Host is not ours (not an address, .local, .onion or the public URL's host).
    Browser rebound(*c.server);
    rebound.extra["Host"] = "evil.example";
    rebound.origin = "http://evil.example";
    CHECK(rebound.sign_in("password", k_password).status == 403);
    // The same server reached by a .local name is ours.
    Browser lan(*c.server);
    lan.extra["Host"] = "keysat.local";
    lan.origin = "http://keysat.local";
    CHECK(lan.sign_in("password", k_password).status == 303);
    // A link cannot put its own words on the console.
    auto faked = b.get("/admin/?done=Session+expired.+Sign+in+at+https://evil.example");
    CHECK(faked.status == 200);
    CHECK(faked.raw.find("evil.example") == std::string::npos);
    CHECK(b.get("/admin/?done=Product%20created.").raw.find("Product created.") !=
          std::string::npos);
    // Two session cookies (one planted by a sibling site): neither counts.
    Browser twice(*c.server);
    twice.cookie = b.cookie + "; " + b.cookie;
    CHECK(twice.get("/admin/").status == 303);
    CHECK(b.get("/admin/").status == 200);
}

TEST_CASE("console: with an https public URL the session cookie is __Host- prefixed and Secure",
          "[e2e][console]") {
    Console c("public_url = \"https://shop.example\"\n");
    Browser b(*c.server);
    b.origin = "https://shop.example";
    auto in = b.sign_in("password", k_password);
    REQUIRE(in.status == 303);
    std::string set = in.headers["Set-Cookie"];
    CHECK(set.starts_with("__Host-keysat_console="));
    CHECK(set.find("; Path=/; HttpOnly; SameSite=Strict") != std::string::npos);
    CHECK(set.find("; Secure") != std::string::npos);
    CHECK(b.get("/admin/").status == 200);
    // The plain name is not read when the prefixed one is the cookie.
    Browser plain(*c.server);
    plain.cookie = "keysat_console=" + b.cookie.substr(b.cookie.find('=') + 1);
    CHECK(plain.get("/admin/").status == 303);
}

TEST_CASE("console: a secret the API shows once is shown once, after a redirect, so a reload "
          "makes nothing twice",
          "[e2e][console]") {
    Console c;
    REQUIRE(c.server
                ->post("/v1/admin/products",
                       json{{"slug", "app"}, {"name", "App"}, {"price_sats", 5}}.dump(),
                       c.server->admin_key())
                .status == 200);
    Browser b(*c.server);
    REQUIRE(b.sign_in("password", k_password).status == 303);
    REQUIRE(b.get("/admin/licenses").status == 200);
    auto issued = b.act("POST", "/v1/admin/licenses",
                        "product_slug=app&_show=license_key&_title=License+issued");
    CHECK(issued.status == 303);
    CHECK(location(issued) == "/admin/shown");
    auto shown = b.get("/admin/shown");
    CHECK(shown.status == 200);
    CHECK(shown.raw.find("LIC1-") != std::string::npos);
    CHECK(shown.raw.find("<title>License issued") != std::string::npos);
    CHECK(shown.headers["Cache-Control"] == "no-store");
    auto again = b.get("/admin/shown");
    CHECK(again.status == 404);
    CHECK(again.raw.find("LIC1-") == std::string::npos);
    CHECK(c.count("SELECT count(*) FROM licenses") == 1);
    // Another session never sees it.
    REQUIRE(b.act("POST", "/v1/admin/licenses", "product_slug=app&_show=license_key").status ==
            303);
    Browser other(*c.server);
    REQUIRE(other.sign_in("password", k_password).status == 303);
    CHECK(other.get("/admin/shown").status == 404);
    CHECK(b.get("/admin/shown").status == 200);
}

TEST_CASE("console: key sign-ins have their own allowance and never use up the password's",
          "[e2e][console]") {
    Console c;
    std::string key = c.api_key("read-only");
    Browser b(*c.server);
    for (int i = 0; i < 8; ++i)
        CHECK(b.sign_in("api_key", "ks_wrong_" + std::to_string(i)).status == 401);
    CHECK(b.sign_in("api_key", key).status == 303);
    CHECK(b.sign_in("password", k_password).status == 303);
}

TEST_CASE("console: the dashboard's figures come from GET /v1/admin/dashboard and are drawn as "
          "SVG charts with their numbers",
          "[e2e][console]") {
    Console c;
    const auto& admin = c.server->admin_key();
    REQUIRE(c.server
                ->post("/v1/admin/products",
                       json{{"slug", "app"}, {"name", "App"}, {"price_sats", 5}}.dump(), admin)
                .status == 200);
    for (int i = 0; i < 3; ++i)
        REQUIRE(c.server->post("/v1/admin/licenses", json{{"product_slug", "app"}}.dump(), admin)
                    .status == 200);
    CHECK(c.server->get("/v1/admin/dashboard?days=8", admin).status == 400);
    auto d = c.server->get("/v1/admin/dashboard?days=7", admin);
    REQUIRE(d.status == 200);
    CHECK(d.body["days"] == 7);
    REQUIRE(d.body["licenses_issued"].size() == 1);
    CHECK(d.body["licenses_issued"][0]["count"] == 3);
    CHECK(d.body["licenses_issued"][0]["date"] == d.body["to"]);
    CHECK(d.body["active_machines"] == 0);
    CHECK(d.body["open_invoices"] == 0);
    CHECK(d.body["revenue"].empty());

    Browser b(*c.server);
    REQUIRE(b.sign_in("password", k_password).status == 303);
    auto page = b.get("/admin/?days=7");
    CHECK(page.status == 200);
    CHECK(page.raw.find("<svg viewBox=") != std::string::npos);
    CHECK(page.raw.find("role=\"img\" aria-label=\"Licenses issued per day: 3 licenses in 7 "
                        "days, at most 3 a day\"") != std::string::npos);
    CHECK(page.raw.find("<span class=\"n\">3</span> <a href=\"/admin/licenses\">licenses "
                        "issued</a>") != std::string::npos);
}

TEST_CASE("console: a license's page shows its terms, machines, newest validations and audit "
          "trail, and a key finds it",
          "[e2e][console]") {
    Console c;
    const auto& admin = c.server->admin_key();
    REQUIRE(c.server
                ->post("/v1/admin/products",
                       json{{"slug", "app"}, {"name", "App"}, {"price_sats", 5}}.dump(), admin)
                .status == 200);
    auto issued =
        c.server->post("/v1/admin/licenses",
                       json{{"product_slug", "app"}, {"buyer_email", "x@y.test"}}.dump(), admin);
    REQUIRE(issued.status == 200);
    std::string id = issued.body["license_id"], key = issued.body["license_key"];
    auto other = c.server->post("/v1/admin/licenses", json{{"product_slug", "app"}}.dump(), admin);
    REQUIRE(other.status == 200);
    REQUIRE(
        c.server->post("/v1/validate", json{{"key", key}, {"fingerprint", "m-1"}}.dump()).status ==
        200);
    REQUIRE(test::http_request(c.server->port(), "POST", "/v1/admin/licenses/" + id + "/suspend",
                               "{}", {{"Authorization", "Bearer " + admin}})
                .status == 200);
    // The validation log is written in the background: wait for the row.
    test::HttpResult detail;
    for (int i = 0; i < 100; ++i) {
        detail = c.server->get("/v1/admin/licenses/" + id, admin);
        if (detail.status == 200 && !detail.body["validations"].empty())
            break;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    REQUIRE(detail.status == 200);
    CHECK(detail.body["id"] == id);
    CHECK(detail.body["status"] == "suspended");
    REQUIRE(detail.body["validations"].size() == 1);
    CHECK(detail.body["validations"][0]["result"] == "ok");
    CHECK(c.server->get("/v1/admin/licenses/00000000-0000-4000-8000-000000000000", admin).status ==
          404);
    // The audit trail of one row; a key finds its license, and only the one stored.
    auto trail = c.server->get("/v1/admin/audit?target_id=" + id, admin);
    REQUIRE(trail.body["entries"].size() == 2);
    CHECK(trail.body["entries"][0]["action"] == "license.suspend");
    CHECK(trail.body["entries"][1]["action"] == "license.issue");
    auto by_key = c.server->get("/v1/admin/licenses/search?key=" + key, admin);
    REQUIRE(by_key.body["licenses"].size() == 1);
    CHECK(by_key.body["licenses"][0]["id"] == id);
    CHECK(c.server->get("/v1/admin/licenses/search?key=LIC1-NOT-A-KEY", admin)
              .body["licenses"]
              .empty());
    std::string forged = key;
    forged.back() = forged.back() == 'A' ? 'B' : 'A'; // names the same id, not the stored key
    CHECK(c.server->get("/v1/admin/licenses/search?key=" + forged, admin).body["licenses"].empty());

    Browser b(*c.server);
    REQUIRE(b.sign_in("password", k_password).status == 303);
    auto page = b.get("/admin/licenses/" + id);
    CHECK(page.status == 200);
    CHECK(page.raw.find("<dd>suspended</dd>") != std::string::npos);
    CHECK(page.raw.find("license.suspend") != std::string::npos);
    CHECK(page.raw.find(">Unsuspend</button>") != std::string::npos);
    CHECK(page.raw.find("m-1") == std::string::npos); // fingerprints are shown only hashed
    auto found = b.get("/admin/licenses?q=" + key);
    CHECK(found.raw.find("href=\"/admin/licenses/" + id + "\"") != std::string::npos);
    CHECK(found.raw.find(other.body["license_id"].get<std::string>()) == std::string::npos);
    CHECK(b.get("/admin/licenses/00000000-0000-4000-8000-000000000000").status == 404);
}

TEST_CASE("console: settings change the operator name through its route, and the operator alone "
          "gets a backup link, shown once",
          "[e2e][console]") {
    Console c;
    Browser b(*c.server);
    REQUIRE(b.sign_in("password", k_password).status == 303);
    auto page = b.get("/admin/settings");
    CHECK(page.status == 200);
    CHECK(page.raw.find("Make a download link") != std::string::npos);
    auto saved = b.act("POST", "/v1/admin/settings/operator-name",
                       "name=Ada%27s+Apps&_done=Operator+name+saved.");
    CHECK(saved.status == 303);
    CHECK(c.server->get("/v1/admin/settings/operator-name", c.server->admin_key())
              .body["operator_name"] == "Ada's Apps");
    CHECK(b.get("/admin/settings").raw.find("<strong>Ada&#39;s Apps</strong>") !=
          std::string::npos);
    auto link = b.act("POST", "/v1/admin/backup/link", "_show=url&_title=Backup+download+link");
    REQUIRE(link.status == 303);
    auto shown = b.get("/admin/shown");
    CHECK(shown.raw.find(c.server->base() + "/v1/backup/") != std::string::npos);
    // A key may read the settings, but neither gets a backup link nor changes the name.
    std::string key = c.api_key("read-only");
    Browser viewer(*c.server);
    REQUIRE(viewer.sign_in("api_key", key).status == 303);
    auto seen = viewer.get("/admin/settings");
    CHECK(seen.status == 200);
    CHECK(seen.raw.find("Make a download link") == std::string::npos);
    CHECK(seen.raw.find("action=\"/admin/act\"") == std::string::npos);
    CHECK(viewer.act("POST", "/v1/admin/backup/link", "_show=url").status == 403);
}

TEST_CASE("console: malformed multipart forms change nothing, and a well-formed one uploads",
          "[e2e][console]") {
    Console c;
    Browser b(*c.server);
    REQUIRE(b.sign_in("password", k_password).status == 303);
    REQUIRE(b.get("/admin/licenses").status == 200);
    auto post = [&](const std::string& type, const std::string& body) {
        return test::http_request(
            c.server->port(), "POST", "/admin/act", body,
            {{"Cookie", b.cookie}, {"Origin", c.server->base()}, {"Content-Type", type}});
    };
    auto part = [](const std::string& boundary, const std::string& name, const std::string& value) {
        return "--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + name +
               "\"\r\n\r\n" + value + "\r\n";
    };
    const std::string bd = "XyZ123";
    std::string fields = part(bd, "_csrf", b.last_csrf) + part(bd, "_method", "POST") +
                         part(bd, "_path", "/v1/admin/products") + part(bd, "name", "App") +
                         part(bd, "slug", "app") + part(bd, "price_sats:int", "5");
    const std::string type = "multipart/form-data; boundary=" + bd;
    // No closing delimiter, a boundary that is not the body's, none at all, one too long, a part
    // without a name, a part without its blank line, a part without headers, no parts: none is
    // read as a form (so no token).
    for (const auto& [t, body] : std::vector<std::pair<std::string, std::string>>{
             {type, fields},
             {"multipart/form-data; boundary=Other", fields + "--" + bd + "--\r\n"},
             {"multipart/form-data", fields + "--" + bd + "--\r\n"},
             {"multipart/form-data; boundary=" + std::string(71, 'b'), fields + "--" + bd + "--"},
             {type, fields + "--" + bd + "\r\nContent-Disposition: form-data\r\n\r\nx\r\n--" + bd +
                        "--\r\n"},
             {type, "--" + bd + "\r\nContent-Disposition: form-data; name=\"_csrf\"" + "\r\n" +
                        b.last_csrf + "\r\n--" + bd + "--\r\n"},
             {type, "--" + bd + "\r\n\r\n" + b.last_csrf + "\r\n" + fields + "--" + bd + "--\r\n"},
             {type, "--" + bd + "--\r\n"},
             {type, ""}}) {
        INFO(t << "\n" << body);
        CHECK(post(t, body).status == 403);
    }
    CHECK(c.count("SELECT count(*) FROM products") == 0);
    // The same fields, closed properly: the product is made.
    auto made = post(type, fields + "--" + bd + "--\r\n");
    CHECK(made.status == 303);
    CHECK(c.count("SELECT count(*) FROM products WHERE slug = 'app'") == 1);
}
