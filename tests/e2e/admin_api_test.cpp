// End-to-end: the admin API of the real keysat-serve. A role walk over every admin route, the
// catalog, machines, settings, discount codes, ledger import over HTTP, and kill -9 in the middle
// of issuing.

#include <catch2/catch.hpp>

#include <atomic>
#include <fstream>
#include <mutex>
#include <set>
#include <thread>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "keysat/crypto/hash.hpp"
#include "keysat/db/database.hpp"
#include "keysat/util/encoding.hpp"
#include "support/admin_routes.hpp"
#include "support/serve_in_process.hpp"
#include "support/server_process.hpp"
#include "support/support.hpp"

using namespace keysat;
using nlohmann::json;

namespace {

constexpr const char* k_absent_id = "00000000-0000-4000-8000-000000000000";

// The environment of the admin tests' server: trusted proxy on loopback, a releases directory
// so that the release gate's admin route is registered too, and webhooks allowed to loopback.
std::vector<std::string> admin_env(const test::TempDir& dir) {
    std::filesystem::create_directories(dir / "releases");
    return {"KEYSAT_TRUSTED_PROXIES=127.0.0.1",
            "KEYSAT_RELEASES_DIR=" + (dir / "releases").string(),
            "KEYSAT_WEBHOOK_ALLOW=127.0.0.1/32"}; // webhook endpoints on a closed local port
}

struct Admin {
    test::TempDir dir;
    test::ServerProcess server{dir / "data", {}, admin_env(dir)};
    std::string key = server.admin_key();

    test::HttpResult call(const std::string& method, const std::string& path,
                          const json& body = nullptr) {
        return server.request(method, path, body.is_null() ? "" : body.dump(),
                              {{"Authorization", "Bearer " + key}});
    }
    json ok(const std::string& method, const std::string& path, const json& body = nullptr) {
        auto r = call(method, path, body);
        INFO(method << " " << path << " -> " << r.raw);
        REQUIRE(r.status == 200);
        return r.body;
    }
    std::string error_of(const std::string& method, const std::string& path, const json& body,
                         int status) {
        auto r = call(method, path, body);
        INFO(method << " " << path << " -> " << r.raw);
        CHECK(r.status == status);
        CHECK(r.body["ok"] == false);
        return r.body.value("message", "");
    }
};

// The write areas each role grants, from the spec (independent of the server's own table).
bool role_allows(const std::string& role, const std::string& scope) {
    if (scope.empty())
        return false; // master only
    auto colon = scope.find(':');
    std::string area = scope.substr(0, colon), access = scope.substr(colon + 1);
    if (access == "read")
        return true;
    std::map<std::string, std::set<std::string>> writes = {
        {"read-only", {}},
        {"license-issuer", {"licenses"}},
        {"support", {"licenses", "subscriptions", "machines"}},
        {"merchant-onboard", {"products", "policies", "licenses"}},
        {"full-admin",
         {"products", "policies", "licenses", "machines", "subscriptions", "webhooks",
          "discount_codes", "audit", "settings", "payment_providers", "merchant_profiles"}}};
    return writes.at(role).count(area) > 0;
}

std::string concrete(const std::string& openapi_path) {
    std::string p = openapi_path;
    for (auto pos = p.find("{id}"); pos != std::string::npos; pos = p.find("{id}"))
        p.replace(pos, 4, k_absent_id);
    for (auto pos = p.find("{slug}"); pos != std::string::npos; pos = p.find("{slug}"))
        p.replace(pos, 6, "lightning"); // a rail
    return p;
}

} // namespace

TEST_CASE("role walk: every admin route with every role and with bad credentials",
          "[e2e][serve][admin]") {
    Admin a;
    // The table covers exactly the admin routes the server documents (and so registers).
    auto doc = a.server.get("/v1/openapi.json").body;
    std::set<std::pair<std::string, std::string>> documented, tabled;
    for (const auto& [path, ops] : doc["paths"].items())
        if (path.starts_with("/v1/admin/"))
            for (const auto& [method, op] : ops.items())
                documented.emplace(method, path);
    for (const auto& r : test::admin_routes())
        tabled.emplace(r.method, r.path);
    CHECK(documented == tabled);
    // Path parameters are unique within each path, as OpenAPI requires.
    for (const auto& [path, ops] : doc["paths"].items())
        for (const auto& [method, op] : ops.items()) {
            std::set<std::string> names;
            for (const auto& p : op.value("parameters", json::array()))
                CHECK(names.insert(p["name"].get<std::string>()).second);
            INFO(path);
            CHECK(names.size() ==
                  static_cast<std::size_t>(std::count(path.begin(), path.end(), '{')));
        }
    CHECK(doc["paths"].contains("/releases/{slug}/{slug2}/{slug3}"));

    std::map<std::string, std::string> tokens;
    for (std::string role :
         {"read-only", "license-issuer", "support", "merchant-onboard", "full-admin"})
        tokens[role] = a.ok("POST", "/v1/admin/api-keys", {{"label", role}, {"role", role}})
                           .value("token", "");
    auto doomed = a.ok("POST", "/v1/admin/api-keys", {{"label", "old"}, {"role", "full-admin"}});
    a.ok("DELETE", "/v1/admin/api-keys/" + doomed["id"].get<std::string>());

    // Failed credentials are rate limited per client; each request here comes from its own
    // forwarded address so that the walk sees the auth answer, not the limiter's.
    int client = 0;
    auto send = [&](const test::AdminRoute& r, const std::map<std::string, std::string>& auth) {
        auto headers = auth;
        ++client;
        headers["X-Forwarded-For"] =
            "198.51." + std::to_string(client / 250) + "." + std::to_string(client % 250);
        std::string method = r.method;
        for (auto& c : method)
            c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        return a.server.request(method, concrete(r.path), method == "GET" ? "" : "{}", headers);
    };
    int checked = 0;
    for (const auto& r : test::admin_routes()) {
        INFO(r.method << " " << r.path);
        // No credential, or not a Bearer one: 401.
        CHECK(send(r, {}).status == 401);
        CHECK(send(r, {{"Authorization", "Basic dXNlcjpwYXNz"}}).status == 401);
        CHECK(send(r, {{"Authorization", "Bearer"}}).status == 401);
        // Unknown, malformed or revoked keys: 403.
        CHECK(send(r, {{"Authorization", "Bearer ks_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}})
                  .status == 403);
        CHECK(send(r, {{"Authorization", "Bearer not a key at all"}}).status == 403);
        CHECK(send(r, {{"Authorization", "Bearer " + doomed["token"].get<std::string>()}}).status ==
              403);
        // The master key passes every route's auth.
        auto master = send(r, {{"Authorization", "Bearer " + a.key}});
        CHECK(master.status != 401);
        CHECK(master.status != 403);
        CHECK(master.status != 500);
        for (const auto& [role, token] : tokens) {
            INFO("role " << role);
            auto res = send(r, {{"Authorization", "Bearer " + token}});
            if (role_allows(role, r.scope)) {
                // Past auth: the dummy request then fails on its content or absent ids.
                CHECK(res.status != 401);
                CHECK(res.status != 403);
                CHECK(res.status != 500);
            } else {
                CHECK(res.status == 403);
                CHECK(res.body["error"] == "forbidden");
            }
            ++checked;
        }
    }
    CHECK(checked == static_cast<int>(test::admin_routes().size() * 5));
}

TEST_CASE("admin catalog: products and policies through their whole life", "[e2e][serve][admin]") {
    Admin a;
    auto product = a.ok("POST", "/v1/admin/products",
                        {{"slug", "app"},
                         {"name", "App"},
                         {"price_sats", 50000},
                         {"entitlements_catalog", {{{"slug", "pro"}}, {{"slug", "sync"}}}}});
    std::string pid = product["id"];
    // Update: name and price change, the slug conflict is refused and changes nothing.
    a.ok("POST", "/v1/admin/products", {{"slug", "other"}, {"name", "Other"}, {"price_sats", 1}});
    auto updated =
        a.ok("PATCH", "/v1/admin/products/" + pid, {{"name", "App 2"}, {"price_sats", 60000}});
    CHECK(updated["name"] == "App 2");
    CHECK(updated["price_sats"] == 60000);
    CHECK(updated["slug"] == "app");
    a.error_of("PATCH", "/v1/admin/products/" + pid, {{"slug", "other"}}, 409);
    a.error_of("PATCH", "/v1/admin/products/" + pid, {{"price_value", 5}}, 400);
    a.error_of("PATCH", "/v1/admin/products/" + pid, {{"slug", "Bad Slug"}}, 400);
    a.error_of("PATCH", "/v1/admin/products/" + pid, {{"price_sats", -1}}, 400);
    a.error_of("PATCH", "/v1/admin/products/" + pid, json::array({1, 2}), 400);
    a.error_of("PATCH", "/v1/admin/products/" + std::string(k_absent_id), {{"name", "x"}}, 404);
    CHECK(a.server.get("/v1/products/app").body["name"] == "App 2");

    // Policies: created with Keysat's fields, listed, visible to buyers only when active,
    // public and not archived.
    auto policy = a.ok("POST", "/v1/admin/policies",
                       {{"product_slug", "app"},
                        {"slug", "pro"},
                        {"name", "Pro"},
                        {"duration_seconds", 365 * 86400},
                        {"grace_seconds", 7 * 86400},
                        {"max_machines", 3},
                        {"entitlements", {"pro", "sync"}},
                        {"marketing_bullets", {"Sync across 3 machines"}},
                        {"price_sats_override", 90000},
                        {"tier_rank", 2}});
    std::string pol = policy["id"];
    CHECK(policy["duration_seconds"] == 365 * 86400);
    CHECK(policy["grace_seconds"] == 7 * 86400);
    CHECK(policy["max_machines"] == 3);
    CHECK(policy["entitlements"] == json{"pro", "sync"});
    a.error_of("POST", "/v1/admin/policies",
               {{"product_slug", "app"}, {"slug", "pro"}, {"name", "Again"}}, 409);
    CHECK_THAT(
        a.error_of(
            "POST", "/v1/admin/policies",
            {{"product_slug", "app"}, {"slug", "x"}, {"name", "X"}, {"entitlements", {"teleport"}}},
            400),
        Catch::Contains("teleport"));
    CHECK_THAT(
        a.error_of(
            "POST", "/v1/admin/policies",
            {{"product_slug", "app"}, {"slug", "x"}, {"name", "X"}, {"duration_seconds", 1000}},
            400),
        Catch::Contains("duration_seconds"));
    a.error_of("POST", "/v1/admin/policies",
               {{"product_slug", "nope"}, {"slug", "x"}, {"name", "X"}}, 404);
    a.error_of("POST", "/v1/admin/policies",
               {{"product_slug", "app"}, {"slug", "x"}, {"name", "X"}, {"max_machines", "3"}}, 400);
    auto storefront = [&] {
        json slugs = json::array();
        auto listing = a.server.get("/v1/products/app/policies").body;
        for (const auto& p : listing["policies"])
            slugs.push_back(p["slug"]);
        return slugs;
    };
    CHECK(storefront() == json{"pro"});
    CHECK(a.server.get("/v1/products/app/policies").body["policies"][0]["price_sats"] == 90000);
    for (const char* flag : {"public", "active", "archived"}) {
        INFO(flag);
        bool hide = std::string(flag) == "archived";
        a.ok("PATCH", "/v1/admin/policies/" + pol + "/" + flag, {{flag, hide}});
        CHECK(storefront() == json::array());
        a.ok("PATCH", "/v1/admin/policies/" + pol + "/" + flag, {{flag, !hide}});
        CHECK(storefront() == json{"pro"});
    }
    a.error_of("PATCH", "/v1/admin/policies/" + pol + "/active", {{"active", "yes"}}, 400);
    auto patched = a.ok("PATCH", "/v1/admin/policies/" + pol,
                        {{"name", "Pro+"}, {"max_machines", 5}, {"recurring_period", "year"}});
    CHECK(patched["name"] == "Pro+");
    CHECK(patched["max_machines"] == 5);
    CHECK(patched["is_recurring"] == true);
    CHECK(patched["duration_seconds"] == 365 * 86400); // untouched
    a.error_of("PATCH", "/v1/admin/policies/" + pol, {{"product_slug", "other"}}, 400);
    auto listed = a.ok("GET", "/v1/admin/policies?product_slug=app");
    REQUIRE(listed["policies"].size() == 1);
    CHECK(listed["policies"][0]["name"] == "Pro+");
    a.error_of("GET", "/v1/admin/policies", nullptr, 400);

    // A license issued under the policy keeps policy and product from being deleted.
    auto lic =
        a.ok("POST", "/v1/admin/licenses", {{"product_slug", "app"}, {"policy_slug", "pro"}});
    CHECK(lic["max_machines"] == 5);
    a.error_of("DELETE", "/v1/admin/policies/" + pol, nullptr, 409);
    a.error_of("DELETE", "/v1/admin/products/" + pid, nullptr, 409);
    // Deactivation hides the product from buyers instead.
    a.ok("PATCH", "/v1/admin/products/" + pid + "/active", {{"active", false}});
    CHECK(a.server.get("/v1/products/app/policies").status == 404);
    bool listed_publicly = false;
    auto products = a.server.get("/v1/products").body;
    for (const auto& p : products["products"])
        listed_publicly = listed_publicly || p["slug"] == "app";
    CHECK_FALSE(listed_publicly);
    // An unreferenced policy and product can be deleted.
    auto spare = a.ok("POST", "/v1/admin/policies",
                      {{"product_slug", "other"}, {"slug", "s"}, {"name", "S"}});
    a.error_of("DELETE",
               "/v1/admin/products/" +
                   a.ok("GET", "/v1/admin/products")["products"][1]["id"].get<std::string>(),
               nullptr, 409);
    a.ok("DELETE", "/v1/admin/policies/" + spare["id"].get<std::string>());
    a.error_of("DELETE", "/v1/admin/policies/" + spare["id"].get<std::string>(), nullptr, 404);
    std::string other_id;
    auto all = a.ok("GET", "/v1/admin/products");
    for (const auto& p : all["products"])
        if (p["slug"] == "other")
            other_id = p["id"];
    a.ok("DELETE", "/v1/admin/products/" + other_id);
    CHECK(a.server.get("/v1/products/other").status == 404);
    // Each change wrote its audit row.
    std::string audit = a.call("GET", "/v1/admin/audit?limit=1000").raw;
    for (const char* action : {"product.update", "product.set_active", "product.delete",
                               "policy.create", "policy.update", "policy.set_public",
                               "policy.set_active", "policy.set_archived", "policy.delete"})
        CHECK_THAT(audit, Catch::Contains(action));
}

TEST_CASE("admin machines, license listing and the operator name", "[e2e][serve][admin]") {
    Admin a;
    a.ok("POST", "/v1/admin/products", {{"slug", "app"}, {"name", "App"}, {"price_sats", 1}});
    auto lic = a.ok("POST", "/v1/admin/licenses", {{"product_slug", "app"}, {"max_machines", 2}});
    std::string key = lic["license_key"], id = lic["license_id"];
    auto act =
        a.server.post("/v1/machines/activate",
                      json{{"key", key}, {"fingerprint", "fp-1"}, {"hostname", "h1"}}.dump());
    REQUIRE(act.body["ok"] == true);
    auto machines = a.ok("GET", "/v1/admin/machines?license_id=" + id)["machines"];
    REQUIRE(machines.size() == 1);
    CHECK(machines[0]["hostname"] == "h1");
    CHECK(machines[0]["active"] == true);
    std::string mid = machines[0]["id"];
    // Keysat's listing: every license's machines, with the product, buyer and license status.
    auto all = a.ok("GET", "/v1/admin/machines")["machines"];
    REQUIRE(all.size() == 1);
    CHECK(all[0]["product_slug"] == "app");
    CHECK(all[0]["license_status"] == "active");
    CHECK(all[0]["fingerprint_hash"].get<std::string>().size() == 64);
    CHECK(a.ok("GET", "/v1/admin/machines?product_slug=app")["machines"].size() == 1);
    CHECK(a.ok("GET",
               "/v1/admin/machines?product_id=00000000-0000-0000-0000-000000000000")["machines"]
              .empty());
    a.error_of("GET", "/v1/admin/machines?product_slug=nope", nullptr, 404);
    a.error_of("GET", "/v1/admin/machines?limit=ten", nullptr, 400);
    a.ok("POST", "/v1/admin/machines/" + mid + "/deactivate", {{"reason", "stolen laptop"}});
    a.error_of("POST", "/v1/admin/machines/" + mid + "/deactivate", nullptr, 404);
    auto hb =
        a.server.post("/v1/machines/heartbeat", json{{"key", key}, {"fingerprint", "fp-1"}}.dump());
    CHECK(hb.body["reason"] == "not_activated");
    // Deactivated machines are listed only when asked for.
    CHECK(a.ok("GET", "/v1/admin/machines?license_id=" + id)["machines"].empty());
    auto after =
        a.ok("GET", "/v1/admin/machines?include_inactive=true&license_id=" + id)["machines"];
    REQUIRE(after.size() == 1);
    CHECK(after[0]["active"] == false);
    CHECK(after[0]["deactivation_reason"] == "stolen laptop");

    // Listing by product and status.
    a.ok("POST", "/v1/admin/licenses", {{"product_slug", "app"}});
    CHECK(a.ok("GET", "/v1/admin/licenses?product_slug=app")["licenses"].size() == 2);
    // Keysat's filter is product_id.
    std::string product_id = lic["product_id"];
    CHECK(a.ok("GET", "/v1/admin/licenses?product_id=" + product_id)["licenses"].size() == 2);
    CHECK(a.ok("GET",
               "/v1/admin/licenses?product_id=00000000-0000-0000-0000-000000000000")["licenses"]
              .empty());
    a.ok("POST", "/v1/admin/licenses/" + id + "/revoke");
    auto revoked = a.ok("GET", "/v1/admin/licenses?status=revoked")["licenses"];
    REQUIRE(revoked.size() == 1);
    CHECK(revoked[0]["id"] == id);
    a.error_of("GET", "/v1/admin/licenses?status=weird", nullptr, 400);
    a.error_of("GET", "/v1/admin/licenses?limit=abc", nullptr, 400);
    CHECK(a.ok("GET", "/v1/admin/licenses?limit=1")["licenses"].size() == 1);
    CHECK(a.ok("GET", "/v1/admin/licenses?limit=-7")["licenses"].size() == 1); // clamped to 1
    a.error_of("GET", "/v1/admin/licenses?product_slug=nope", nullptr, 404);

    // The operator name is live: buyers see the new one at once.
    CHECK(a.server.get("/").body["operator"] == "Keysat");
    a.ok("POST", "/v1/admin/settings/operator-name", {{"operator_name", "Acme Software"}});
    CHECK(a.server.get("/").body["operator"] == "Acme Software");
    CHECK(a.ok("GET", "/v1/admin/settings/operator-name")["operator_name"] == "Acme Software");
    a.error_of("POST", "/v1/admin/settings/operator-name", {{"operator_name", ""}}, 400);
    std::string audit = a.call("GET", "/v1/admin/audit").raw;
    CHECK_THAT(audit, Catch::Contains("machine.deactivate"));
    CHECK_THAT(audit, Catch::Contains("settings.operator_name"));
}

TEST_CASE("admin discount codes: create, edit, disable, delete", "[e2e][serve][admin]") {
    Admin a;
    a.ok("POST", "/v1/admin/products", {{"slug", "app"}, {"name", "App"}, {"price_sats", 1000}});
    a.ok("POST", "/v1/admin/policies", {{"product_slug", "app"}, {"slug", "pro"}, {"name", "Pro"}});
    auto code = a.ok("POST", "/v1/admin/discount-codes",
                     {{"code", "launch-50"},
                      {"kind", "percent"},
                      {"amount", 5000},
                      {"max_uses", 100},
                      {"expires_at", "2099-01-01T00:00:00Z"},
                      {"product_slug", "app"},
                      {"policy_slugs", {"pro"}},
                      {"referrer_label", "twitter"},
                      {"description", "Launch week"}});
    std::string id = code["id"];
    CHECK(code["code"] == "LAUNCH-50");
    CHECK(code["amount"] == 5000);
    CHECK(code["expires_at"] == "2099-01-01T00:00:00Z");
    CHECK(code["applies_to_policy_ids"].size() == 1);
    CHECK(code["referrer_label"] == "twitter");
    a.error_of("POST", "/v1/admin/discount-codes",
               {{"code", "Launch-50"}, {"kind", "percent"}, {"amount", 1}}, 409);
    a.error_of("POST", "/v1/admin/discount-codes",
               {{"code", "X"}, {"kind", "percent"}, {"amount", 10001}}, 400);
    a.error_of("POST", "/v1/admin/discount-codes",
               {{"code", "a b"}, {"kind", "percent"}, {"amount", 1}}, 400);
    a.error_of("POST", "/v1/admin/discount-codes", {{"code", "X"}, {"kind", "bogo"}, {"amount", 1}},
               400);
    a.error_of("POST", "/v1/admin/discount-codes",
               {{"code", "NEG"}, {"kind", "fixed_sats"}, {"amount", -5}}, 400);
    a.error_of("POST", "/v1/admin/discount-codes",
               {{"code", std::string(65, 'A')}, {"kind", "percent"}, {"amount", 1}}, 400);
    a.error_of("POST", "/v1/admin/discount-codes",
               {{"code", "X"},
                {"kind", "fixed_sats"},
                {"amount", 1},
                {"expires_at", "2001-01-01T00:00:00Z"}},
               400);
    a.error_of("POST", "/v1/admin/discount-codes",
               {{"code", "X"}, {"kind", "fixed_sats"}, {"amount", 1}, {"expires_at", "tomorrow"}},
               400);
    a.error_of("POST", "/v1/admin/discount-codes",
               {{"code", "X"}, {"kind", "fixed_sats"}, {"amount", 1}, {"policy_slugs", {"pro"}}},
               400);
    a.error_of("POST", "/v1/admin/discount-codes",
               {{"code", "X"},
                {"kind", "fixed_sats"},
                {"amount", 1},
                {"product_slug", "app"},
                {"policy_slugs", {"nope"}}},
               404);
    auto free =
        a.ok("POST", "/v1/admin/discount-codes", {{"code", "FREE"}, {"kind", "free_license"}});
    CHECK(free["amount"] == 0);

    auto edited = a.ok("PATCH", "/v1/admin/discount-codes/" + id,
                       {{"amount", 2500}, {"max_uses", nullptr}, {"featured", true}});
    CHECK(edited["amount"] == 2500);
    CHECK(edited["max_uses"].is_null());
    CHECK(edited["featured"] == true);
    CHECK(edited["description"] == "Launch week"); // untouched
    a.error_of("PATCH", "/v1/admin/discount-codes/" + id, {{"kind", "fixed_sats"}}, 400);
    a.ok("PATCH", "/v1/admin/discount-codes/" + id + "/active", {{"active", false}});
    auto active = a.ok("GET", "/v1/admin/discount-codes")["codes"];
    CHECK(active.size() == 1); // FREE only
    CHECK(a.ok("GET", "/v1/admin/discount-codes?include_inactive=true")["codes"].size() == 2);
    auto one = a.ok("GET", "/v1/admin/discount-codes/" + id);
    CHECK(one["code"]["active"] == false);
    CHECK(one["redemptions"] == json::array());

    // A redeemed code cannot be deleted (its history stays); an unused one can.
    {
        auto db = db::Database::open(a.dir / "data/keysat.db", db::OpenMode::read_write);
        REQUIRE(db);
        REQUIRE(db->exec("INSERT INTO invoices (id, product_id, status, base_amount, amount, "
                         "currency, created_at, updated_at) VALUES "
                         "('11111111-1111-4111-8111-111111111111', (SELECT id FROM products), "
                         "'settled', 1000, 500, 'SAT', 1, 1); INSERT INTO discount_redemptions "
                         "(id, discount_code_id, invoice_id, status, created_at, updated_at) "
                         "VALUES ('22222222-2222-4222-8222-222222222222', '" +
                         id + "', '11111111-1111-4111-8111-111111111111', 'used', 1, 1)"));
    }
    CHECK(a.ok("GET", "/v1/admin/discount-codes/" + id)["redemptions"].size() == 1);
    a.error_of("DELETE", "/v1/admin/discount-codes/" + id, nullptr, 409);
    a.ok("DELETE", "/v1/admin/discount-codes/" + free["id"].get<std::string>());
    a.error_of("DELETE", "/v1/admin/discount-codes/" + free["id"].get<std::string>(), nullptr, 404);
    std::string audit = a.call("GET", "/v1/admin/audit").raw;
    for (const char* action : {"discount_code.create", "discount_code.update",
                               "discount_code.disable", "discount_code.delete"})
        CHECK_THAT(audit, Catch::Contains(action));
}

TEST_CASE("ledger import over HTTP: verified, all or nothing, idempotent", "[e2e][serve][admin]") {
    Admin a;
    auto product =
        a.ok("POST", "/v1/admin/products", {{"slug", "app"}, {"name", "App"}, {"price_sats", 1}});
    std::string pid = product["id"];
    // Keys signed offline with the server's own key, and with a stranger's key.
    auto ledger = a.dir / "ledger.jsonl";
    for (int i = 0; i < 3; ++i)
        REQUIRE(test::run({test::issue_bin(), "license", "-s",
                           (a.dir / "data/signing.key").string(), "--product", pid, "--email",
                           "b" + std::to_string(i) + "@example.com", "--ledger", ledger.string()})
                    .exit_code == 0);
    REQUIRE(test::run(
                {test::issue_bin(), "keygen", "-o", (a.dir / "stranger").string(), "--unencrypted"})
                .exit_code == 0);
    auto strange = a.dir / "strange.jsonl";
    REQUIRE(test::run({test::issue_bin(), "license", "-s", (a.dir / "stranger.key").string(),
                       "--product", pid, "--ledger", strange.string()})
                .exit_code == 0);
    std::string good = test::slurp(ledger), bad = test::slurp(strange);

    // One untrusted record: nothing imported, the line named.
    auto refused = a.server.request("POST", "/v1/admin/licenses/import", good + bad,
                                    {{"Authorization", "Bearer " + a.key}});
    CHECK(refused.status == 400);
    REQUIRE(refused.body["problems"].size() == 1);
    CHECK(refused.body["problems"][0]["line"] == 4);
    CHECK(a.ok("GET", "/v1/admin/licenses")["licenses"].empty());
    // The good ones.
    auto done = a.server.request("POST", "/v1/admin/licenses/import", good,
                                 {{"Authorization", "Bearer " + a.key}});
    INFO(done.raw);
    REQUIRE(done.status == 200);
    CHECK(done.body["inserted"] == 3);
    auto again = a.server.request("POST", "/v1/admin/licenses/import", good,
                                  {{"Authorization", "Bearer " + a.key}});
    CHECK(again.body["inserted"] == 0);
    CHECK(again.body["unchanged"] == 3);
    // Imported keys validate at once.
    auto first = json::parse(good.substr(0, good.find('\n')));
    std::string key = first.contains("license_key") ? first["license_key"] : first["key"];
    CHECK(a.server.post("/v1/validate", json{{"key", key}}.dump()).body["ok"] == true);
    // keep_going imports the good lines of a mixed ledger.
    auto mixed = a.server.request("POST", "/v1/admin/licenses/import?keep_going=true",
                                  bad + "not json\n", {{"Authorization", "Bearer " + a.key}});
    CHECK(mixed.status == 200);
    CHECK(mixed.body["problems"].size() == 2);
    CHECK_THAT(a.call("GET", "/v1/admin/audit").raw, Catch::Contains("license.import"));
}

TEST_CASE("kill -9 while licenses are being issued leaves no half-written license",
          "[e2e][serve][admin][slow]") {
    Admin a;
    a.ok("POST", "/v1/admin/products", {{"slug", "app"}, {"name", "App"}, {"price_sats", 1}});
    a.ok("POST", "/v1/admin/webhook-endpoints", {{"url", "http://127.0.0.1:9/hook"}});
    std::atomic<bool> stop{false};
    std::mutex mu;
    std::set<std::string> acknowledged;
    std::vector<std::thread> writers;
    for (int t = 0; t < 4; ++t)
        writers.emplace_back([&] {
            while (!stop) {
                try {
                    auto r = a.server.request(
                        "POST", "/v1/admin/licenses",
                        json{{"product_slug", "app"}, {"buyer_email", "k@example.com"}}.dump(),
                        {{"Authorization", "Bearer " + a.key}});
                    if (r.status == 200) {
                        std::lock_guard lock(mu);
                        acknowledged.insert(r.body["license_id"].get<std::string>());
                    }
                } catch (const std::exception&) {
                    return; // the server is gone
                }
            }
        });
    // Let the writers get going, then kill the server mid-write.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
        {
            std::lock_guard lock(mu);
            if (acknowledged.size() >= 200)
                break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    a.server.kill_hard();
    stop = true;
    for (auto& w : writers)
        w.join();
    REQUIRE(acknowledged.size() >= 50);

    // Integrity holds, and every license is whole: key, audit row and webhook delivery together.
    auto verify =
        test::run({test::migrate_bin(), "verify", "--db", (a.dir / "data/keysat.db").string()});
    CHECK(verify.exit_code == 0);
    auto db = db::Database::open(a.dir / "data/keysat.db", db::OpenMode::read_only);
    REQUIRE(db);
    auto ids = db->query_texts("SELECT id FROM licenses ORDER BY id");
    REQUIRE(ids);
    for (const auto& id : acknowledged) // nothing acknowledged was lost
        CHECK(std::binary_search(ids->begin(), ids->end(), id));
    CHECK(*db->query_int("SELECT count(*) FROM licenses l WHERE NOT EXISTS (SELECT 1 FROM "
                         "audit_log WHERE action = 'license.issue' AND target = l.id)") == 0);
    CHECK(*db->query_int("SELECT count(*) FROM audit_log a WHERE action = 'license.issue' AND NOT "
                         "EXISTS (SELECT 1 FROM licenses WHERE id = a.target)") == 0);
    CHECK(*db->query_int("SELECT count(*) FROM licenses l WHERE NOT EXISTS (SELECT 1 FROM "
                         "webhook_deliveries WHERE event_type = 'license.issued' AND "
                         "json_extract(body, '$.data.license_id') = l.id)") == 0);
    // Every stored key verifies with the server's public key.
    auto keys = db->query_texts("SELECT license_key FROM licenses");
    REQUIRE(keys);
    auto pub = test::run({test::issue_bin(), "pubkey", "--format", "hex", "-s",
                          (a.dir / "data/signing.key").string()});
    REQUIRE(pub.exit_code == 0);
    std::size_t sampled = 0;
    for (std::size_t i = 0; i < keys->size();
         i += std::max<std::size_t>(1, keys->size() / 20), ++sampled)
        CHECK(test::run({test::verify_bin(), "license", "-p", pub.out.substr(0, pub.out.find('\n')),
                         (*keys)[i]})
                  .exit_code == 0);
    CHECK(sampled > 0);
    // And the server starts again on it.
    test::ServerProcess again(a.dir / "data");
    CHECK(again.get("/healthz").status == 200);
}

TEST_CASE("stored policy entitlements that are not strings, and API-key last use to the minute",
          "[e2e][serve][admin]") {
    Admin a;
    a.ok("POST", "/v1/admin/products", {{"slug", "app"}, {"name", "App"}, {"price_sats", 1}});
    a.ok("POST", "/v1/admin/policies", {{"product_slug", "app"}, {"slug", "pro"}, {"name", "Pro"}});
    {
        auto db = db::Database::open(a.dir / "data/keysat.db", db::OpenMode::read_write);
        REQUIRE(db);
        REQUIRE(db->exec("UPDATE policies SET entitlements = '[1, \"sync\", null]'"));
    }
    auto lic =
        a.ok("POST", "/v1/admin/licenses", {{"product_slug", "app"}, {"policy_slug", "pro"}});
    CHECK(lic["entitlements"] == json{"sync"});

    auto reader = a.ok("POST", "/v1/admin/api-keys", {{"label", "r"}, {"role", "read-only"}});
    std::string token = reader["token"];
    auto last_used = [&] {
        auto keys = a.ok("GET", "/v1/admin/api-keys")["api_keys"];
        for (const auto& k : keys)
            if (k["id"] == reader["id"])
                return k["last_used_at"];
        return json();
    };
    CHECK(last_used().is_null());
    REQUIRE(a.server.get("/v1/admin/products", token).status == 200);
    auto first = last_used();
    CHECK(first.is_string());
    std::this_thread::sleep_for(std::chrono::milliseconds(1100));
    REQUIRE(a.server.get("/v1/admin/products", token).status == 200);
    CHECK(last_used() == first); // not written again within the minute
}

TEST_CASE("audit filters: action, actor and time", "[e2e][serve][admin]") {
    Admin a;
    a.ok("POST", "/v1/admin/products", {{"slug", "app"}, {"name", "App"}, {"price_sats", 1}});
    auto support = a.ok("POST", "/v1/admin/api-keys", {{"label", "s"}, {"role", "full-admin"}});
    std::string token = support["token"];
    auto r = a.server.request("POST", "/v1/admin/products",
                              json{{"slug", "b"}, {"name", "B"}, {"price_sats", 1}}.dump(),
                              {{"Authorization", "Bearer " + token}});
    REQUIRE(r.status == 200);
    auto entries = [&](const std::string& query) {
        return a.ok("GET", "/v1/admin/audit" + query)["entries"];
    };
    CHECK(entries("?action=product.create").size() == 2);
    auto all = entries("");
    std::string key_hash;
    for (const auto& e : all)
        if (e["action"] == "product.create" && e["actor_kind"] == "api_key") {
            key_hash = e["actor_hash"];
            CHECK(e["actor_id"] == support["id"]); // the key's id, not a hash of it
        }
    REQUIRE(key_hash.size() == 64);
    // Not the plain SHA-256 of the credential (which anyone with audit:read could test guesses
    // against, and which api_keys stores): an HMAC under the server's secret.
    CHECK(key_hash != hex_encode(crypto::sha256(as_bytes(token))));
    auto by_key = entries("?actor_hash=" + key_hash);
    REQUIRE(by_key.size() == 1);
    CHECK(by_key[0]["target_id"] == r.body["id"]);
    auto by_id = entries("?actor_id=" + support["id"].get<std::string>());
    REQUIRE(by_id.size() == 1);
    CHECK(by_id[0]["actor_hash"] == key_hash);
    for (const auto& e : entries("?actor_id=master")) {
        CHECK(e["actor_kind"] == "master");
        CHECK(e["actor_hash"] != hex_encode(crypto::sha256(as_bytes(a.key))));
    }
    CHECK(entries("?actor_id=master").size() + 1 == all.size());
    CHECK(entries("?since=2000-01-01T00:00:00Z").size() == all.size());
    CHECK(entries("?until=2000-01-01T00:00:00Z").empty());
    CHECK(entries("?since=2999-01-01").empty());
    a.error_of("GET", "/v1/admin/audit?since=yesterday", nullptr, 400);
}

TEST_CASE("more keep-alive clients than worker threads: nobody starves", "[e2e][serve]") {
    test::TempDir dir;
    // Two workers, a keep-alive timeout longer than the test, 32 clients holding connections
    // open. A server that gives each connection a thread for its life (cpp-httplib's model)
    // answers two clients and lets the others wait for the idle timeout: this fails there.
    test::ServerProcess server(dir / "data", {},
                               {"KEYSAT_THREADS=2", "KEYSAT_KEEP_ALIVE_TIMEOUT=60"});
    constexpr int k_clients = 32;
    std::atomic<int> answered{0}, failed{0}, done{0};
    std::vector<std::thread> clients;
    auto start = std::chrono::steady_clock::now();
    for (int c = 0; c < k_clients; ++c)
        clients.emplace_back([&] {
            // One persistent connection per client, idle for a while between requests.
            httplib::Client client("127.0.0.1", server.port());
            client.set_keep_alive(true);
            client.set_read_timeout(10, 0);
            for (int i = 0; i < 3; ++i) {
                auto r = client.Get("/healthz");
                (r && r->status == 200 ? answered : failed)++;
                std::this_thread::sleep_for(std::chrono::milliseconds(200));
            }
            // Keep the connection open until every client is done.
            ++done;
            while (done < k_clients &&
                   std::chrono::steady_clock::now() - start < std::chrono::seconds(25))
                std::this_thread::sleep_for(std::chrono::milliseconds(20));
        });
    for (auto& t : clients)
        t.join();
    CHECK(failed == 0);
    CHECK(answered == 3 * k_clients);
    // Three requests 200 ms apart take about 0.6 s; the margin is for a loaded machine.
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(10));
}

TEST_CASE("audit HMACs use a server secret kept in the data directory across restarts",
          "[e2e][serve][admin][security]") {
    test::TempDir dir;
    const std::string key = "ksm_" + std::string(40, 'm');
    auto actor_hash_of_new_product = [&](const std::string& slug) {
        test::ServerProcess server(dir / "data", {}, {"KEYSAT_ADMIN_API_KEY=" + key});
        REQUIRE(server
                    .post("/v1/admin/products",
                          json{{"slug", slug}, {"name", "A"}, {"price_sats", 1}}.dump(), key)
                    .status == 200);
        auto entries = server.get("/v1/admin/audit?action=product.create", key).body["entries"];
        REQUIRE_FALSE(entries.empty());
        CHECK(entries[0]["target_id"].is_string());
        CHECK(entries[0]["actor_id"] == "master");
        return entries[0]["actor_hash"].get<std::string>();
    };
    auto first = actor_hash_of_new_product("a");
    auto secret_file = dir / "data/server.secret";
    REQUIRE(std::filesystem::exists(secret_file));
    const auto owner_rw = std::filesystem::perms::owner_read | std::filesystem::perms::owner_write;
    CHECK((std::filesystem::status(secret_file).permissions() & std::filesystem::perms::all) ==
          owner_rw);
    CHECK(first == actor_hash_of_new_product("b")); // same secret, same HMAC
    CHECK(first != hex_encode(crypto::sha256(as_bytes(key))));
    auto secret = test::slurp(secret_file);
    secret.pop_back();
    CHECK(first == hex_encode(crypto::hmac_sha256(*hex_decode(secret), as_bytes(key))));
    // A damaged secret stops the server with a message naming the file.
    test::spit(secret_file, "not hex\n");
    CHECK_THROWS_WITH(test::ServerProcess(dir / "data", {}, {"KEYSAT_ADMIN_API_KEY=" + key}),
                      Catch::Contains("server.secret: not 64 hex digits"));
}

TEST_CASE("backup download: a consistent copy of the database, for the master key only, while "
          "others write",
          "[e2e][serve][admin][backup]") {
    Admin a;
    a.ok("POST", "/v1/admin/products", {{"slug", "app"}, {"name", "App"}, {"price_sats", 1000}});
    std::vector<std::string> before;
    for (int i = 0; i < 5; ++i)
        before.push_back(
            a.ok("POST", "/v1/admin/licenses", {{"product_slug", "app"}})["license_key"]);

    // Two clients issue licenses while the copy is taken and sent.
    std::atomic<bool> stop{false};
    std::atomic<int> issued{0};
    std::vector<std::thread> writers;
    for (int w = 0; w < 2; ++w)
        writers.emplace_back([&] {
            while (!stop)
                if (a.call("POST", "/v1/admin/licenses", {{"product_slug", "app"}}).status == 200)
                    ++issued;
        });
    while (issued < 5)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    auto r = a.server.request("GET", "/v1/admin/backup", "",
                              {{"Authorization", "Bearer " + a.key}, {"Range", "bytes=0-99"}});
    stop = true;
    for (auto& t : writers)
        t.join();
    REQUIRE(r.status == 200);
    CHECK(r.headers["Content-Type"] == "application/vnd.sqlite3");
    CHECK(r.headers["Cache-Control"] == "no-store");
    // Made for this answer: sent whole, whatever the Range, with nothing to revalidate.
    CHECK(r.headers["Accept-Ranges"] == "none");
    CHECK(r.headers.count("ETag") == 0);
    CHECK(r.raw.size() > 100);
    CHECK(r.headers["Content-Disposition"].starts_with("attachment; filename=\"keysat-"));
    CHECK(r.raw.starts_with(std::string("SQLite format 3\0", 16)));

    // The copy is a whole database with every license issued before it; nothing is left beside
    // the live one.
    auto copy = a.dir / "copy.db";
    std::ofstream(copy, std::ios::binary) << r.raw;
    auto verify = test::run({test::migrate_bin(), "verify", "--db", copy.string()});
    INFO(verify.err);
    CHECK(verify.exit_code == 0);
    auto db = db::Database::open(copy, db::OpenMode::read_only);
    REQUIRE(db);
    auto has = db->prepare("SELECT COUNT(*) FROM licenses WHERE license_key = ?");
    REQUIRE(has);
    for (const auto& key : before) {
        has->bind(1, key);
        REQUIRE(has->step().value_or(false));
        CHECK(has->column_int(0) == 1);
        has->reset();
    }
    INFO(issued << " licenses issued while the copy was taken");
    for (const auto& entry : std::filesystem::directory_iterator(a.dir / "data"))
        CHECK_FALSE(entry.path().filename().string().starts_with(".keysat-backup-"));

    // The download is audited; scoped keys, even full-admin ones, get 403.
    auto audit = a.ok("GET", "/v1/admin/audit?action=backup.download")["entries"];
    REQUIRE(audit.size() == 1);
    CHECK(audit[0]["actor_id"] == "master");
    CHECK(audit[0]["details"]["bytes"] == static_cast<std::int64_t>(r.raw.size()));
    auto token = a.ok("POST", "/v1/admin/api-keys", {{"label", "f"}, {"role", "full-admin"}})
                     .value("token", "");
    auto scoped =
        a.server.request("GET", "/v1/admin/backup", "", {{"Authorization", "Bearer " + token}});
    CHECK(scoped.status == 403);
    CHECK(a.server.request("GET", "/v1/admin/backup", "", {}).status == 401);
    // A HEAD makes no copy and no audit row.
    CHECK(a.server.request("HEAD", "/v1/admin/backup", "", {{"Authorization", "Bearer " + a.key}})
              .status == 405);
    CHECK(a.ok("GET", "/v1/admin/audit?action=backup.download")["entries"].size() == 1);
}

TEST_CASE("backup link: one download, without the admin key, never logged",
          "[e2e][serve][admin][backup]") {
    Admin a;
    auto link = a.ok("POST", "/v1/admin/backup/link");
    std::string path = link["path"];
    REQUIRE(path.starts_with("/v1/backup/"));
    CHECK(path.size() == std::string("/v1/backup/").size() + 43);
    CHECK(link["url"].get<std::string>().ends_with(path));
    CHECK(!link["expires_at"].get<std::string>().empty());
    // No credential needed; the copy verifies.
    auto r = a.server.request("GET", path, "", {});
    REQUIRE(r.status == 200);
    CHECK(r.headers["Content-Type"] == "application/vnd.sqlite3");
    auto copy = a.dir / "copy.db";
    std::ofstream(copy, std::ios::binary) << r.raw;
    CHECK(test::run({test::migrate_bin(), "verify", "--db", copy.string()}).exit_code == 0);
    // Once only; a made-up token, a HEAD or a malformed one get nothing.
    CHECK(a.server.request("GET", path, "", {}).status == 404);
    auto other = a.ok("POST", "/v1/admin/backup/link")["path"].get<std::string>();
    CHECK(a.server.request("HEAD", other, "", {}).status == 404); // makes no copy, keeps the link
    CHECK(a.server.request("GET", other, "", {}).status == 200);
    CHECK(a.server.request("GET", "/v1/backup/" + std::string(43, 'A'), "", {}).status == 404);
    CHECK(a.server.request("GET", "/v1/backup/short", "", {}).status == 404);
    // Scoped keys cannot make links; the token never reaches the request log.
    auto token = a.ok("POST", "/v1/admin/api-keys", {{"label", "f"}, {"role", "full-admin"}})
                     .value("token", "");
    CHECK(
        a.server
            .request("POST", "/v1/admin/backup/link", "{}", {{"Authorization", "Bearer " + token}})
            .status == 403);
    CHECK(a.server.log_contains("GET /v1/backup/<token> 200"));
    CHECK_FALSE(a.server.log_contains(path.substr(11)));
    auto made = a.ok("GET", "/v1/admin/audit?action=backup.link")["entries"];
    CHECK(made.size() == 2);
    auto downloads = a.ok("GET", "/v1/admin/audit?action=backup.download")["entries"];
    REQUIRE(downloads.size() == 2);
    CHECK(downloads[0]["actor_id"] == "master");
    CHECK(downloads[1]["actor_id"] == "master");
}

TEST_CASE("backup link: it stops working 10 minutes after it is made", "[e2e][serve][backup]") {
    FixedClock clock{1'800'000'000};
    test::TempDir dir;
    test::InProcessServer server(dir / "data", "", clock);
    auto make = [&] {
        auto r = server.post("/v1/admin/backup/link", "{}", server.admin_key());
        REQUIRE(r.status == 200);
        return r.body;
    };
    auto link = make();
    CHECK(link["expires_at"] == "2027-01-15T08:10:00Z");
    clock.set(1'800'000'000 + 599);
    CHECK(server.get(link["path"]).status == 200); // within the 10 minutes
    auto late = make();
    clock.set(1'800'000'599 + 600);
    CHECK(server.get(late["path"]).status == 404); // at the 10 minutes, and after
    CHECK(server.get(late["path"]).status == 404);
}
