// The operator's console in a real headless Chromium (tests/browser/console.mjs through
// playwright-core): keysat-serve on loopback, a webhook receiver on loopback, a ledger signed
// offline by keysat-issue. Screenshots of every page at 1280 and 390 px land in
// build/browser-output/<test>/.

#include <catch2/catch.hpp>

#include <chrono>
#include <thread>

#include <nlohmann/json.hpp>

#include "keysat/crypto/password.hpp"
#include "keysat/db/database.hpp"
#include "support/browser.hpp"
#include "support/btcpay_standin.hpp"
#include "support/server_process.hpp"
#include "support/support.hpp"
#include "support/webhook_receiver.hpp"

using namespace keysat;
using nlohmann::json;

namespace {

const std::string k_password = "correct horse battery";

// Outbound requests (the webhook receiver, BTCPay's stand-in) may reach loopback.
std::vector<std::string> with_loopback(std::vector<std::string> env) {
    env.push_back("KEYSAT_WEBHOOK_ALLOW=127.0.0.1/32");
    return env;
}

struct Console {
    test::TempDir dir;
    test::ServerProcess server;
    std::string admin = server.admin_key();
    std::string base = "http://127.0.0.1:" + std::to_string(server.port());

    explicit Console(std::vector<std::string> env = {})
        : server(dir / "data", {}, with_loopback(std::move(env))) {
        REQUIRE(test::browser_missing().empty());
        auto hash = crypto::hash_password(k_password);
        REQUIRE(hash);
        auto db = db::Database::open(dir / "data/keysat.db", db::OpenMode::read_write);
        REQUIRE(db);
        auto q = db->prepare("INSERT INTO settings (key, value, updated_at) VALUES "
                             "('admin_password_hash', ?, 0)");
        REQUIRE(q);
        q->bind(1, *hash);
        REQUIRE(q->run());
    }

    json ok(const std::string& path, const json& body) {
        auto r = server.post(path, body.dump(), admin);
        INFO(path << ": " << r.raw);
        REQUIRE(r.status == 200);
        return r.body;
    }

    std::int64_t count(const std::string& sql) {
        auto db = db::Database::open(dir / "data/keysat.db", db::OpenMode::read_only);
        REQUIRE(db);
        auto n = db->query_int(sql);
        INFO(sql);
        REQUIRE(n);
        return *n;
    }

    // Polls `sql` until it counts `n` (up to `seconds`); says whether it did.
    bool wait_count(const std::string& sql, std::int64_t n, int seconds = 20) {
        for (int i = 0; i < seconds * 20; ++i) {
            if (count(sql) == n)
                return true;
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        return false;
    }

    json run(const std::string& scenario, const std::string& test_name, const json& args) {
        auto out = test::browser_output_dir(test_name);
        auto r = test::run_browser_script("console.mjs", {scenario, out.string(), args.dump()},
                                          std::chrono::seconds(150));
        INFO("console.mjs " << scenario << " exit " << r.exit_code << "\nstderr:\n"
                            << r.err << "\nserver log:\n"
                            << server.log());
        REQUIRE(r.exit_code == 0);
        json result = json::parse(r.out, nullptr, false);
        REQUIRE(result.is_object());
        return result;
    }
};

} // namespace

TEST_CASE("the operator signs in, builds a product with two tiers and a code, issues and revokes "
          "a comp key, retries a dead delivery, imports a ledger and signs out, in Chromium",
          "[browser][console]") {
    Console c;
    // A delivery that gave up: the receiver refuses the first attempt, then the queue is told
    // the endpoint is dead for this one (as after the last retry).
    test::WebhookReceiver receiver(1);
    auto other = c.ok("/v1/admin/products",
                      {{"slug", "offline"}, {"name", "Offline app"}, {"price_sats", 1}});
    c.ok("/v1/admin/webhook-endpoints", {{"url", receiver.url()}});
    c.ok("/v1/admin/licenses", {{"product_slug", "offline"}}); // one event: license.issued
    REQUIRE(receiver.wait_for(1));
    // The receiver answering is not the server recording the failure: that write comes after,
    // and would set `dead = 0` over ours (seen under the sanitizers). Wait for the attempt.
    REQUIRE(c.wait_count("SELECT count(*) FROM webhook_deliveries WHERE attempts = 1", 1));
    {
        auto db = db::Database::open(c.dir / "data/keysat.db", db::OpenMode::read_write);
        REQUIRE(db);
        REQUIRE(db->exec("UPDATE webhook_deliveries SET dead = 1, next_attempt_at = NULL WHERE "
                         "delivered_at IS NULL"));
    }
    REQUIRE(c.count("SELECT count(*) FROM webhook_deliveries WHERE dead = 1") == 1);
    // Two keys signed offline with the server's key, as keysat-issue writes them.
    auto ledger = c.dir / "ledger.jsonl";
    for (int i = 0; i < 2; ++i)
        REQUIRE(
            test::run({test::issue_bin(), "license", "-s", (c.dir / "data/signing.key").string(),
                       "--product", other["id"].get<std::string>(), "--email",
                       "offline" + std::to_string(i) + "@example.com", "--ledger", ledger.string()})
                .exit_code == 0);

    auto r = c.run("operator", "console-operator",
                   {{"base", c.base}, {"password", k_password}, {"ledger", ledger.string()}});
    INFO(r.dump(2));
    CHECK(r["redirected_to"] == "/admin/login");
    CHECK(r["focused"] == "password");
    CHECK(r["after_sign_in"] == "Dashboard");
    CHECK(r["product_notice"] == "Product created.");
    CHECK(r["tier_notice"] == "Tier created.");
    CHECK(r["tiers"] == json::array({"Basic", "Pro"}));
    CHECK(r["product_page"] == "Product Notes");
    CHECK(r["axe_product"] == json::array());
    CHECK(r["code_notice"] == "Code created.");
    CHECK(r["codes"] == json::array({"LAUNCH"}));
    CHECK(r["shown_url"] == "/admin/shown");
    std::string key = r["key"];
    CHECK(key.starts_with("LIC1-"));
    CHECK(r["after_reload"].get<std::string>().find("shown once") != std::string::npos);
    CHECK(r["validate_before"]["ok"] == true);
    CHECK(r["revoke_notice"] == "License revoked.");
    CHECK(r["status_after"] == "revoked");
    CHECK(r["validate_after"]["ok"] == false);
    CHECK(r["validate_after"]["reason"] == "revoked");
    CHECK(r["failed_before"] == 1);
    CHECK(r["retry_notice"] == "Delivery queued again.");
    CHECK(r["import_summary"] == json::array({"records", "2", "inserted", "2", "unchanged", "0"}));
    CHECK(r["after_sign_out"] == "/admin/login");
    // axe-core finds nothing on any page at either width.
    CHECK(r["axe"] == json::object());
    // The retried delivery arrives; every change is in the audit log as the operator's.
    CHECK(receiver.wait_for(2, 30));
    CHECK(c.count("SELECT count(*) FROM products WHERE slug = 'notes'") == 1);
    CHECK(c.count("SELECT count(*) FROM discount_codes WHERE code = 'LAUNCH'") == 1);
    CHECK(c.count("SELECT count(*) FROM licenses WHERE buyer_email LIKE 'offline%'") == 2);
    for (const char* action : {"console.sign_in", "product.create", "policy.create",
                               "discount_code.create", "license.issue", "license.revoke",
                               "webhook_delivery.retry", "license.import", "console.sign_out"}) {
        INFO(action);
        CHECK(c.count(std::string("SELECT count(*) FROM audit_log WHERE actor_kind = 'master' "
                                  "AND action = '") +
                      action + "'") >= 1);
    }
    CHECK(c.count("SELECT count(*) FROM console_sessions") == 0);
}

TEST_CASE("a read-only key's console shows no write control, and a forged form is refused, in "
          "Chromium",
          "[browser][console]") {
    Console c;
    c.ok("/v1/admin/products", {{"slug", "app"}, {"name", "App"}, {"price_sats", 5}});
    auto key = c.ok("/v1/admin/api-keys", {{"label", "viewer"}, {"role", "read-only"}});
    auto r = c.run("readonly", "console-readonly", {{"base", c.base}, {"key", key["token"]}});
    INFO(r.dump(2));
    for (const auto& [path, seen] : r["pages"].items()) {
        INFO(path);
        CHECK(seen["write_forms"] == 0);
        CHECK(seen["nav_has_api_keys"] == 0);
        CHECK(seen["status"] == (path == "/admin/api-keys" ? 403 : 200));
    }
    CHECK(r["forged"].get<std::string>().find("lacks the scope products:write") !=
          std::string::npos);
    CHECK(r["axe"] == json::object());
    CHECK(c.count("SELECT count(*) FROM products") == 1);
}

TEST_CASE("the operator connects BTCPay from the payments page in one click: BTCPay's consent "
          "page, Authorize, and the store is listed, in Chromium",
          "[browser][console]") {
    test::BtcpayStandin btcpay{"unused-static-key", "StandInStore", "unused-secret"};
    Console c({"BTCPAY_URL=" + btcpay.url()});
    auto r = c.run("payments", "console-payments",
                   {{"base", c.base}, {"password", k_password}, {"btcpay", btcpay.url()}});
    INFO(r.dump(2));
    CHECK(r["consent_path"] == "/api-keys/authorize");
    CHECK(r["connected"].get<std::string>().find("Stand-in Store") != std::string::npos);
    CHECK(r["providers"] == json::array({"BTCPay — Stand-in Store"}));
    CHECK(r["axe"] == json::array());
    CHECK(btcpay.problems().empty());
    CHECK(c.count("SELECT count(*) FROM audit_log WHERE action = 'payment_provider.connect' AND "
                  "actor_kind = 'master'") == 1);
}
