// Subscriptions walked through months with a clock the test moves: keysat-serve runs in this
// process (cli::Serving, built as the program builds it) on loopback, BTCPay is the stand-in,
// and at every step the license is checked where buyers meet it: /v1/validate, a machine
// heartbeat, a gated download with the key, and the stored expiry.

#include <catch2/catch.hpp>

#include <thread>

#include <nlohmann/json.hpp>

#include <fmt/format.h>

#include "keysat/api/app.hpp"
#include "keysat/crypto/signing.hpp"
#include "keysat/db/database.hpp"
#include "keysat/issuing/issue.hpp"
#include "keysat/license/lic1.hpp"
#include "keysat/service/subscriptions.hpp"
#include "keysat/util/date.hpp"
#include "keysat/util/uuid.hpp"
#include "support/btcpay_standin.hpp"
#include "support/serve_in_process.hpp"
#include "support/support.hpp"
#include "support/zaprite_standin.hpp"

using namespace keysat;
using nlohmann::json;

namespace {

constexpr std::int64_t k_day = 86400;
constexpr std::int64_t k_t0 = 1800000000; // 2027-01-15T08:00:00Z
const std::string k_key = "standin-api-key-0123456789";
const std::string k_store = "StandInStore";
const std::string k_secret = "standin-webhook-secret";

struct Shop {
    FixedClock clock{k_t0};
    test::TempDir dir;
    test::BtcpayStandin btcpay{k_key, k_store, k_secret};
    std::unique_ptr<test::InProcessServer> server;
    std::string admin;

    Shop() {
        std::filesystem::create_directories(dir / "releases/app/1.0.0");
        test::spit(dir / "releases/app/1.0.0/linux-x86_64", "the app's build");
        server = std::make_unique<test::InProcessServer>(
            dir / "data",
            fmt::format("releases_dir = \"{}\"\nbtcpay_url = \"{}\"\nbtcpay_api_key = \"{}\"\n"
                        "btcpay_store_id = \"{}\"\nbtcpay_webhook_secret = \"{}\"\n"
                        "webhook_allow = [\"127.0.0.1/32\"]\nvalidate_rate = 0\n"
                        "renewal_interval = 3600\n",
                        (dir / "releases").string(), btcpay.url(), k_key, k_store, k_secret),
            clock);
        admin = server->admin_key();
        btcpay.set_webhook_url(server->base() + "/v1/btcpay/webhook/btcpay");
        for (const auto& [path, body] : std::vector<std::pair<std::string, json>>{
                 {"/v1/admin/products", {{"slug", "app"}, {"name", "App"}, {"price_sats", 10000}}},
                 {"/v1/admin/policies",
                  {{"product_slug", "app"},
                   {"slug", "basic"},
                   {"name", "Basic"},
                   {"price_sats_override", 10000},
                   {"is_recurring", true},
                   {"renewal_period_days", 30},
                   {"trial_days", 14},
                   {"grace_period_days", 7},
                   {"max_machines", 2},
                   {"tier_rank", 1},
                   {"entitlements", json::array()}}},
                 {"/v1/admin/policies",
                  {{"product_slug", "app"},
                   {"slug", "pro"},
                   {"name", "Pro"},
                   {"price_sats_override", 25000},
                   {"is_recurring", true},
                   {"renewal_period_days", 30},
                   {"grace_period_days", 7},
                   {"max_machines", 5},
                   {"tier_rank", 2}}},
                 {"/v1/admin/webhook-endpoints", {{"url", "http://127.0.0.1:9/hook"}}}}) {
            auto r = server->post(path, body.dump(), admin);
            INFO(path << ": " << r.raw);
            REQUIRE(r.status == 200);
        }
    }

    // One pass of the renewal worker at the clock's time, through the server's own connection.
    service::RenewalReport pass() {
        auto db = server->app().database();
        REQUIRE(db);
        return service::renewal_pass(**db, *server->app().signer,
                                     api::checkout_with(server->app(), **db),
                                     api::auto_charge_with(server->app()), clock, 7 * k_day);
    }
    db::Database read() {
        auto db = db::Database::open(dir / "data/keysat.db", db::OpenMode::read_only);
        REQUIRE(db);
        return std::move(*db);
    }
    json subscription() {
        auto r = server->get("/v1/admin/subscriptions", admin);
        REQUIRE(r.status == 200);
        REQUIRE(r.body["subscriptions"].size() == 1);
        return server
            ->get("/v1/admin/subscriptions/" + r.body["subscriptions"][0]["id"].get<std::string>(),
                  admin)
            .body;
    }
    std::int64_t stored_expiry(const std::string& license_id) {
        auto db = read();
        return *db.query_int(
            fmt::format("SELECT expires_at FROM licenses WHERE id = '{}'", license_id));
    }
    std::int64_t events(const std::string& type) {
        auto db = read();
        return *db.query_int(
            fmt::format("SELECT count(*) FROM webhook_deliveries WHERE event_type = '{}'", type));
    }
    std::vector<json> renewal_invoices() {
        auto db = read();
        std::vector<json> out;
        auto rows =
            db.query_texts("SELECT json_object('id', id, 'status', status, 'provider', "
                           "provider_invoice_id, 'period_end', period_end, 'amount', amount) "
                           "FROM invoices WHERE purpose = 'renewal' ORDER BY created_at, id");
        REQUIRE(rows);
        for (const auto& text : *rows)
            out.push_back(json::parse(text));
        return out;
    }
    // What a buyer's software sees with `key` now: validate, heartbeat, download.
    struct Seen {
        bool valid = false;
        bool in_grace = false;
        std::string reason;
        bool heartbeat = false;
        int download = 0;
    };
    Seen seen(const std::string& key) {
        Seen s;
        auto v = server->post("/v1/validate", json{{"key", key}, {"fingerprint", "fp-1"}}.dump());
        REQUIRE(v.status == 200);
        s.valid = v.body.value("ok", false);
        s.in_grace = v.body.value("in_grace_period", false);
        s.reason = v.body.value("reason", "");
        auto h = server->post("/v1/machines/heartbeat",
                              json{{"key", key}, {"fingerprint", "fp-1"}}.dump());
        REQUIRE(h.status == 200);
        s.heartbeat = h.body.value("ok", false);
        s.download = server->get("/releases/app/1.0.0/linux-x86_64", key).status;
        return s;
    }
    std::string settle(const std::string& provider_invoice_id) {
        REQUIRE(btcpay.settle(provider_invoice_id) == 200);
        return provider_invoice_id;
    }
};

std::int64_t offline_expiry(const std::string& key) {
    auto decoded = license::decode_license_key(key);
    REQUIRE(decoded);
    return static_cast<std::int64_t>(decoded->payload.expires_at);
}

std::int64_t parse_time(const json& v) {
    return *parse_timestamp(v.get<std::string>());
}

} // namespace

TEST_CASE("a subscription walked through trial, renewals, grace, lapse, re-subscription and "
          "cancellation: every check follows it at once",
          "[e2e][subscriptions]") {
    Shop shop;
    auto& server = *shop.server;
    // The buy page shows the recurring price and the trial.
    auto page = server.get("/buy/app");
    CHECK(page.raw.find("14-day free trial") != std::string::npos);
    CHECK(page.raw.find("renews every month") != std::string::npos);
    CHECK(page.raw.find("/ month") != std::string::npos);

    // Day 0: the trial starts at no charge and the license runs to its end.
    auto bought = server.post(
        "/v1/purchase",
        json{{"product", "app"}, {"policy_slug", "basic"}, {"buyer_email", "buyer@example.com"}}
            .dump());
    INFO(bought.raw);
    REQUIRE(bought.status == 200);
    CHECK(bought.body["amount_sats"] == 0);
    const std::string key0 = bought.body["license_key"];
    const std::string license_id = bought.body["license_id"];
    std::int64_t trial_end = k_t0 + 14 * k_day;
    CHECK(shop.stored_expiry(license_id) == trial_end);
    CHECK(offline_expiry(key0) == trial_end);
    auto sub = shop.subscription();
    CHECK(sub["status"] == "trialing");
    CHECK(parse_time(sub["next_renewal_at"]) == trial_end);
    CHECK(shop.events("subscription.created") == 1);
    REQUIRE(
        server.post("/v1/machines/activate", json{{"key", key0}, {"fingerprint", "fp-1"}}.dump())
            .body["ok"] == true);
    auto s = shop.seen(key0);
    CHECK(s.valid);
    CHECK(s.heartbeat);
    CHECK(s.download == 200);
    // A typed code has nothing to take off a free trial.
    CHECK(server
              .post("/v1/purchase",
                    json{{"product", "app"}, {"policy_slug", "basic"}, {"code", "ANY"}}.dump())
              .status == 400);

    // Nothing is due until 7 days before the trial ends.
    shop.clock.set(trial_end - 7 * k_day - 1);
    shop.pass();
    CHECK(shop.renewal_invoices().empty());
    shop.clock.set(trial_end - 7 * k_day);
    shop.pass();
    auto invoices = shop.renewal_invoices();
    REQUIRE(invoices.size() == 1);
    CHECK(invoices[0]["amount"] == 10000);
    CHECK(invoices[0]["period_end"] == trial_end);
    CHECK(shop.events("subscription.renewal_pending") == 1);
    {
        auto db = shop.read();
        auto body =
            json::parse((*db.query_texts("SELECT body FROM webhook_deliveries WHERE "
                                         "event_type = 'subscription.renewal_pending'"))[0]);
        CHECK(body["data"]["checkout_url"].get<std::string>().find(
                  invoices[0]["provider"].get<std::string>()) != std::string::npos);
        CHECK(body["data"]["is_first_paid_cycle"] == true);
        CHECK(body["data"]["amount_sats"] == 10000);
    }
    shop.pass(); // a second pass opens nothing more
    CHECK(shop.renewal_invoices().size() == 1);

    // Paid early (4 days before the end): the new period starts at the old end.
    shop.clock.set(trial_end - 4 * k_day);
    shop.settle(invoices[0]["provider"]);
    std::int64_t end1 = trial_end + 30 * k_day;
    sub = shop.subscription();
    CHECK(sub["status"] == "active");
    CHECK(parse_time(sub["current_period_end"]) == end1);
    CHECK(shop.stored_expiry(license_id) == end1);
    auto poll = server.get("/v1/purchase/" + invoices[0]["id"].get<std::string>());
    REQUIRE(poll.body["status"] == "settled");
    const std::string key1 = poll.body["license_key"];
    CHECK(key1 != key0);
    CHECK(poll.body["license_id"] == license_id); // the same license, a fresh key
    CHECK(offline_expiry(key1) == end1);
    CHECK(offline_expiry(key0) == trial_end); // the older key keeps its own expiry offline
    CHECK(shop.events("subscription.renewed") == 1);
    // Recovery with the renewal invoice gives the new key too.
    auto recovered =
        server.post("/v1/recover",
                    json{{"invoice_id", invoices[0]["id"]}, {"email", "BUYER@example.com"}}.dump());
    CHECK(recovered.body["license_key"] == key1);
    // Online, the old key sees the renewed license.
    shop.clock.set(trial_end + k_day);
    CHECK(shop.seen(key0).valid);
    CHECK(shop.seen(key1).valid);

    // The next period is not paid: past due at its end, still working through the grace.
    shop.clock.set(end1 - 7 * k_day);
    shop.pass();
    invoices = shop.renewal_invoices();
    REQUIRE(invoices.size() == 2);
    CHECK(invoices[1]["period_end"] == end1);
    shop.clock.set(end1 - 1);
    shop.pass();
    CHECK(shop.subscription()["status"] == "active");
    shop.clock.set(end1);
    shop.pass();
    CHECK(shop.subscription()["status"] == "past_due");
    CHECK(shop.events("subscription.past_due") == 1);
    s = shop.seen(key1);
    CHECK(s.valid);
    CHECK(s.in_grace);
    CHECK(s.heartbeat);
    CHECK(s.download == 200);

    // Paid late, inside the grace: the period still starts at the old end (no free days).
    shop.clock.set(end1 + 3 * k_day);
    shop.settle(invoices[1]["provider"]);
    std::int64_t end2 = end1 + 30 * k_day;
    CHECK(shop.subscription()["status"] == "active");
    CHECK(shop.stored_expiry(license_id) == end2);
    s = shop.seen(key1);
    CHECK(s.valid);
    CHECK_FALSE(s.in_grace);

    // Unpaid again: past due, then lapsed when the grace ends; every check sees it at once.
    shop.clock.set(end2 - 7 * k_day);
    shop.pass();
    REQUIRE(shop.renewal_invoices().size() == 3);
    shop.clock.set(end2 + 7 * k_day - 1);
    shop.pass();
    CHECK(shop.subscription()["status"] == "past_due");
    CHECK(shop.seen(key1).valid); // the grace's last second
    shop.clock.set(end2 + 7 * k_day);
    s = shop.seen(key1); // before the worker's pass: the license row already says so
    CHECK_FALSE(s.valid);
    CHECK(s.reason == "expired");
    CHECK_FALSE(s.heartbeat);
    CHECK(s.download == 403);
    shop.pass();
    CHECK(shop.subscription()["status"] == "lapsed");
    CHECK(shop.events("subscription.lapsed") == 1);
    CHECK(shop.stored_expiry(license_id) == end2);

    // Re-subscribing after the lapse: the buyer pays the open renewal; the license keeps its id
    // and a new period starts now.
    std::int64_t back = end2 + 10 * k_day;
    shop.clock.set(back);
    auto renew = server.post("/v1/subscriptions/renew", json{{"license_key", key1}}.dump());
    INFO(renew.raw);
    REQUIRE(renew.status == 200);
    CHECK(renew.body["invoice_id"] == shop.renewal_invoices()[2]["id"]); // the open one
    shop.settle(shop.renewal_invoices()[2]["provider"]);
    std::int64_t end3 = back + 30 * k_day;
    CHECK(shop.subscription()["status"] == "active");
    CHECK(shop.stored_expiry(license_id) == end3);
    auto key2 = server.get("/v1/purchase/" + renew.body["invoice_id"].get<std::string>())
                    .body["license_key"]
                    .get<std::string>();
    CHECK(offline_expiry(key2) == end3);
    s = shop.seen(key2);
    CHECK(s.valid);
    CHECK(s.heartbeat);
    CHECK(s.download == 200);
    CHECK(shop.renewal_invoices().size() == 3);

    // The buyer cancels: it runs to the paid end, no renewal is billed, no grace follows.
    auto cancel = server.post("/v1/subscriptions/cancel",
                              json{{"license_key", key2}, {"reason", "too expensive"}}.dump());
    INFO(cancel.raw);
    REQUIRE(cancel.status == 200);
    CHECK(cancel.body["status"] == "cancelled");
    CHECK(parse_time(cancel.body["ends_at"]) == end3);
    CHECK(server.post("/v1/subscriptions/cancel", json{{"license_key", key2}}.dump())
              .body["already"] == "cancelled");
    CHECK(shop.events("subscription.cancelled") == 1);
    shop.clock.set(end3 - 7 * k_day);
    shop.pass();
    CHECK(shop.renewal_invoices().size() == 3);
    shop.clock.set(end3 - 1);
    CHECK(shop.seen(key2).valid);
    shop.clock.set(end3);
    s = shop.seen(key2);
    CHECK_FALSE(s.valid);
    CHECK_FALSE(s.heartbeat);
    CHECK(s.download == 403);
    shop.pass();
    CHECK(shop.subscription()["status"] == "cancelled");
}

TEST_CASE("tier changes: prorated quotes to the day, codes, a paid upgrade, a downgrade at the "
          "next renewal, and the admin's changes",
          "[e2e][subscriptions]") {
    Shop shop;
    auto& server = *shop.server;
    REQUIRE(server
                .post("/v1/admin/discount-codes",
                      json{{"code", "TENOFF"}, {"kind", "percent"}, {"amount", 1000}}.dump(),
                      shop.admin)
                .status == 200);
    // Pro without a trial: the purchase is paid, the plan is active for 30 days.
    auto bought = server.post(
        "/v1/purchase",
        json{{"product", "app"}, {"policy_slug", "pro"}, {"buyer_email", "buyer@example.com"}}
            .dump());
    REQUIRE(bought.status == 200);
    CHECK(bought.body["amount_sats"] == 25000);
    shop.settle(bought.body["btcpay_invoice_id"]);
    auto poll = server.get("/v1/purchase/" + bought.body["invoice_id"].get<std::string>());
    REQUIRE(poll.body["status"] == "settled");
    std::string key = poll.body["license_key"];
    std::string license_id = poll.body["license_id"];
    std::int64_t end = k_t0 + 30 * k_day;
    CHECK(shop.stored_expiry(license_id) == end);
    CHECK(shop.subscription()["status"] == "active");

    auto quote = [&](const std::string& slug, const std::string& code = "") {
        json body = {{"license_key", key}, {"target_policy_slug", slug}};
        if (!code.empty())
            body["code"] = code;
        auto r = server.post("/v1/upgrade-quote", body.dump());
        INFO(r.raw);
        return r;
    };
    // Pro to Basic is a downgrade: nothing to pay, at the period's end.
    auto down = quote("basic");
    REQUIRE(down.status == 200);
    CHECK(down.body["direction"] == "downgrade");
    CHECK(down.body["proration_charge_value"] == 0);
    CHECK(parse_time(down.body["effective_at"]) == end);
    CHECK(down.body["next_renewal_charge"] == 10000);
    CHECK(down.body["next_renewal_period_days"] == 30);
    // The same tier, an unknown tier, a forged key.
    CHECK(quote("pro").status == 400);
    CHECK(quote("max").status == 404);
    auto forged = key;
    forged[forged.size() - 3] = forged[forged.size() - 3] == 'A' ? 'B' : 'A';
    CHECK(server
              .post("/v1/upgrade-quote",
                    json{{"license_key", forged}, {"target_policy_slug", "basic"}}.dump())
              .status == 401);

    // Hostile input: an oversized key, garbage, a traversing or oversized tier, a body that is
    // not an object, a key of the right shape signed by nobody we trust.
    // (One route of each rate-limit bucket: quotes, and changes, which allow 10 at once.)
    for (const auto& path : {"/v1/upgrade-quote", "/v1/subscriptions/renew"}) {
        INFO(path);
        CHECK(server
                  .post(path,
                        json{{"license_key", std::string(5000, 'A')}, {"target_policy_slug", "pro"}}
                            .dump())
                  .status == 400);
        CHECK(
            server
                .post(path,
                      json{{"license_key", "LIC1-<script>"}, {"target_policy_slug", "pro"}}.dump())
                .status == 401);
        CHECK(server.post(path, "[1,2,3]").status == 400);
        CHECK(server.post(path, std::string(10000, '[')).status == 400);
        CHECK(server.post(path, json{{"target_policy_slug", "pro"}}.dump()).status == 400);
    }
    CHECK(quote("../pro").status == 404);
    CHECK(quote(std::string(65, 'p')).status == 400);
    {
        // A well-formed key from another signer: the same 401, nothing about the license.
        auto other = crypto::SecretKey::generate();
        issuing::LicenseRequest lr;
        lr.product_id = *Uuid::parse(license_id); // any UUID
        lr.license_id = *Uuid::parse(license_id);
        lr.issued_at = k_t0;
        auto foreign = issuing::issue_license(other, lr);
        REQUIRE(foreign);
        auto r = server.post("/v1/subscriptions/cancel", json{{"license_key", *foreign}}.dump());
        CHECK(r.status == 401);
        CHECK(shop.subscription()["status"] == "active");
    }

    // Schedule the downgrade; the renewal bills Basic and the tier changes when it is paid.
    auto scheduled = server.post(
        "/v1/upgrade", json{{"license_key", key}, {"target_policy_slug", "basic"}}.dump());
    INFO(scheduled.raw);
    REQUIRE(scheduled.status == 200);
    CHECK(scheduled.body["scheduled"] == true);
    CHECK(scheduled.body["applied"] == false);
    CHECK(scheduled.body["checkout_url"].is_null());
    CHECK(shop.subscription()["pending_policy_id"].is_string());
    shop.clock.set(end - 7 * k_day);
    shop.pass();
    auto invoices = shop.renewal_invoices();
    REQUIRE(invoices.size() == 1);
    CHECK(invoices[0]["amount"] == 10000);
    // Still Pro until the renewal is paid, and after it is paid early: the paid Pro period runs
    // to its end; the new period, at Basic's price, begins as Basic.
    CHECK(server.post("/v1/validate", json{{"key", key}}.dump()).body["max_machines"] == 5);
    shop.settle(invoices[0]["provider"]);
    std::int64_t end2 = end + 30 * k_day;
    CHECK(shop.stored_expiry(license_id) == end2);
    CHECK(server.post("/v1/validate", json{{"key", key}}.dump()).body["max_machines"] == 5);
    CHECK(shop.subscription()["pending_policy_id"].is_string());
    shop.clock.set(end - 1);
    CHECK(shop.pass().downgraded == 0);
    CHECK(shop.events("license.tier_changed") == 0);
    shop.clock.set(end);
    CHECK(shop.pass().downgraded == 1);
    auto sub = shop.subscription();
    CHECK(sub["listed_value"] == 10000);
    CHECK(sub["pending_policy_id"].is_null());
    REQUIRE(sub["tier_changes"].size() == 1);
    CHECK(sub["tier_changes"][0]["status"] == "applied");
    CHECK(shop.events("license.tier_changed") == 1);
    CHECK(shop.stored_expiry(license_id) == end2);
    CHECK(server.post("/v1/validate", json{{"key", key}}.dump()).body["max_machines"] == 2);
    CHECK(shop.pass().downgraded == 0); // once
    // The key the buyer gets now (recovery, the renewal's poll) carries Basic's terms.
    key = server.get("/v1/purchase/" + invoices[0]["id"].get<std::string>())
              .body["license_key"]
              .get<std::string>();
    CHECK(server.post("/v1/validate", json{{"key", key}}.dump()).body["max_machines"] == 2);

    // Basic to Pro with 15 days left exactly: (25000 - 10000) x 15 / 30 = 7500; one second
    // less still counts 15 started days; one second more counts 16: 8000.
    shop.clock.set(end2 - 15 * k_day);
    auto up = quote("pro");
    REQUIRE(up.status == 200);
    CHECK(up.body["direction"] == "upgrade");
    CHECK(up.body["proration_charge_value"] == 7500);
    CHECK(up.body["effective_at"] == "immediate");
    shop.clock.set(end2 - 15 * k_day + 1);
    CHECK(quote("pro").body["proration_charge_value"] == 7500);
    shop.clock.set(end2 - 15 * k_day - 1);
    CHECK(quote("pro").body["proration_charge_value"] == 8000);
    // The period's last second counts one day: 15000 / 30 = 500; a code takes 10 % off.
    shop.clock.set(end2 - 1);
    CHECK(quote("pro").body["proration_charge_value"] == 500);
    CHECK(quote("pro", "TENOFF").body["proration_charge_value"] == 450);
    CHECK(quote("pro", "NOSUCH").status == 400);

    // The paid upgrade, 15 days before the end, with the code: 6750 through BTCPay.
    shop.clock.set(end2 - 15 * k_day);
    auto started = server.post(
        "/v1/upgrade",
        json{{"license_key", key}, {"target_policy_slug", "pro"}, {"code", "tenoff"}}.dump());
    INFO(started.raw);
    REQUIRE(started.status == 200);
    CHECK(started.body["applied"] == false);
    CHECK(started.body["amount_sats"] == 6750);
    CHECK(started.body["proration_charge_value"] == 6750);
    std::string upgrade_invoice = started.body["invoice_id"];
    REQUIRE(started.body["checkout_url"].is_string());
    // Not paid yet: still Basic, and the poll has no key.
    CHECK(server.post("/v1/validate", json{{"key", key}}.dump()).body["max_machines"] == 2);
    CHECK(server.get("/v1/purchase/" + upgrade_invoice).body["license_key"].is_null());
    shop.settle(started.body["provider_invoice_id"]);
    auto upgraded = server.get("/v1/purchase/" + upgrade_invoice);
    REQUIRE(upgraded.body["status"] == "settled");
    std::string pro_key = upgraded.body["license_key"];
    CHECK(upgraded.body["license_id"] == license_id);
    CHECK(pro_key != key);
    CHECK(server.post("/v1/validate", json{{"key", pro_key}}.dump()).body["max_machines"] == 5);
    CHECK(shop.stored_expiry(license_id) == end2); // the period is unchanged
    sub = shop.subscription();
    CHECK(sub["listed_value"] == 25000); // the next renewal bills Pro
    CHECK(shop.events("license.tier_changed") == 2);
    // Settling again (a repeated webhook) changes nothing.
    shop.settle(started.body["provider_invoice_id"]);
    CHECK(shop.events("license.tier_changed") == 2);

    // The admin: back to Basic without payment, then cancel, resume and extend, all audited.
    auto admin_change = server.post(
        "/v1/admin/licenses/" + license_id + "/change-tier",
        json{{"to_policy_slug", "basic"}, {"skip_payment", true}, {"reason", "support"}}.dump(),
        shop.admin);
    INFO(admin_change.raw);
    REQUIRE(admin_change.status == 200);
    CHECK(admin_change.body["applied"] == true);
    std::string basic_key = admin_change.body["license_key"];
    CHECK(server.post("/v1/validate", json{{"key", basic_key}}.dump()).body["max_machines"] == 2);
    std::string sub_id = sub["id"];
    auto cancelled = server.post("/v1/admin/subscriptions/" + sub_id + "/cancel",
                                 json{{"reason", "chargeback"}}.dump(), shop.admin);
    REQUIRE(cancelled.status == 200);
    CHECK(cancelled.body["status"] == "cancelled");
    auto resumed = server.post("/v1/admin/subscriptions/" + sub_id + "/resume", "", shop.admin);
    REQUIRE(resumed.status == 200);
    CHECK(resumed.body["status"] == "active");
    auto extended = server.post("/v1/admin/subscriptions/" + sub_id + "/extend",
                                json{{"days", 10}}.dump(), shop.admin);
    REQUIRE(extended.status == 200);
    CHECK(shop.stored_expiry(license_id) == end2 + 10 * k_day);
    CHECK(server
              .post("/v1/admin/subscriptions/" + sub_id + "/extend", json{{"days", 0}}.dump(),
                    shop.admin)
              .status == 400);
    {
        auto db = shop.read();
        CHECK(*db.query_texts("SELECT action FROM audit_log WHERE action LIKE 'subscription.%' "
                              "AND actor_kind = 'master' ORDER BY id") ==
              std::vector<std::string>{"subscription.cancel", "subscription.resume",
                                       "subscription.extend"});
        CHECK(*db.query_int("SELECT count(*) FROM audit_log WHERE action = "
                            "'license.change_tier' AND actor_kind = 'master'") == 1);
    }
    auto listed = server.get("/v1/admin/subscriptions?status=active", shop.admin);
    CHECK(listed.body["subscriptions"].size() == 1);
    CHECK(server.get("/v1/admin/subscriptions?status=paused", shop.admin).status == 400);
    CHECK(server.get("/v1/admin/subscriptions?status=lapsed", shop.admin)
              .body["subscriptions"]
              .empty());
}

TEST_CASE("a renewal invoice a stopped pass left without its checkout is finished later, once",
          "[e2e][subscriptions]") {
    Shop shop;
    auto& server = *shop.server;
    auto bought = server.post(
        "/v1/purchase",
        json{{"product", "app"}, {"policy_slug", "pro"}, {"buyer_email", "buyer@example.com"}}
            .dump());
    REQUIRE(bought.status == 200);
    shop.settle(bought.body["btcpay_invoice_id"]);
    std::int64_t end = k_t0 + 30 * k_day;
    // A worker stopped right after recording the invoice: no checkout yet.
    shop.clock.set(end - 7 * k_day);
    std::string sub_id = shop.subscription()["id"];
    {
        auto db = server.app().database();
        REQUIRE(db);
        auto opened = service::open_renewal(**db, *server.app().signer, sub_id, shop.clock.now());
        REQUIRE(opened);
        CHECK(opened->created);
    }
    std::size_t at_btcpay = shop.btcpay.invoices().size();
    // Another pass at once leaves it alone (the first might still be working on it) and opens no
    // second invoice for the period.
    shop.pass();
    auto invoices = shop.renewal_invoices();
    REQUIRE(invoices.size() == 1);
    CHECK(invoices[0]["provider"].is_null());
    CHECK(shop.btcpay.invoices().size() == at_btcpay);
    // Five minutes later a pass takes it over and asks BTCPay once.
    shop.clock.set(end - 7 * k_day + 301);
    auto report = shop.pass();
    CHECK(report.retried == 1);
    invoices = shop.renewal_invoices();
    REQUIRE(invoices.size() == 1);
    CHECK(invoices[0]["provider"].is_string());
    CHECK(shop.btcpay.invoices().size() == at_btcpay + 1);
    CHECK(shop.events("subscription.renewal_pending") == 1);
    shop.pass();
    CHECK(shop.btcpay.invoices().size() == at_btcpay + 1);
}

TEST_CASE("two keysat-serve processes on one database, one killed and restarted mid-way, open one "
          "renewal invoice per subscription period",
          "[e2e][subscriptions]") {
    test::TempDir dir;
    test::BtcpayStandin btcpay{k_key, k_store, k_secret};
    const std::string admin = "ksm_two_workers_admin_key_0123456789abcdef";
    // A lead of 60 days makes every 30-day plan due at once: both workers race for each one.
    std::vector<std::string> env = {
        "BTCPAY_URL=" + btcpay.url(),        "BTCPAY_API_KEY=" + k_key,
        "BTCPAY_STORE_ID=" + k_store,        "BTCPAY_WEBHOOK_SECRET=" + k_secret,
        "KEYSAT_WEBHOOK_ALLOW=127.0.0.1/32", "KEYSAT_ADMIN_API_KEY=" + admin,
        "KEYSAT_RENEWAL_INTERVAL=1",         "KEYSAT_RENEWAL_LEAD_DAYS=60"};
    auto a = std::make_unique<test::ServerProcess>(dir / "data", std::vector<std::string>{}, env);
    test::ServerProcess b(dir / "data", {}, env);
    btcpay.set_webhook_url("http://127.0.0.1:" + std::to_string(b.port()) +
                           "/v1/btcpay/webhook/btcpay");
    REQUIRE(a->post("/v1/admin/products",
                    json{{"slug", "app"}, {"name", "App"}, {"price_sats", 10000}}.dump(), admin)
                .status == 200);
    REQUIRE(a->post("/v1/admin/policies",
                    json{{"product_slug", "app"},
                         {"slug", "monthly"},
                         {"name", "Monthly"},
                         {"is_recurring", true},
                         {"renewal_period_days", 30}}
                        .dump(),
                    admin)
                .status == 200);
    REQUIRE(
        b.post("/v1/admin/webhook-endpoints", json{{"url", "http://127.0.0.1:9/h"}}.dump(), admin)
            .status == 200);
    constexpr int k_plans = 12;
    for (int i = 0; i < k_plans; ++i) {
        auto& via = i % 2 == 0 ? *a : b;
        auto bought = via.post("/v1/purchase", json{{"product", "app"},
                                                    {"policy_slug", "monthly"},
                                                    {"buyer_email", fmt::format("b{}@x.test", i)}}
                                                   .dump());
        REQUIRE(bought.status == 200);
        REQUIRE(btcpay.settle(bought.body["btcpay_invoice_id"]) == 200);
        if (i == k_plans / 2) { // one process dies mid-way and comes back
            a->kill_hard();
            a = std::make_unique<test::ServerProcess>(dir / "data", std::vector<std::string>{},
                                                      env);
        }
    }
    auto db = db::Database::open(dir / "data/keysat.db", db::OpenMode::read_only);
    REQUIRE(db);
    auto count = [&](const std::string& sql) { return *db->query_int(sql); };
    auto wait_for_checkouts = [&] {
        for (int i = 0; i < 200 && count("SELECT count(*) FROM invoices WHERE purpose = "
                                         "'renewal' AND provider_invoice_id IS NOT NULL") < k_plans;
             ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
    };
    wait_for_checkouts();
    // A kill that lands between recording a renewal invoice and asking BTCPay leaves that one
    // invoice without its checkout, and a pass takes it over once it is five minutes untouched.
    // Rather than wait, age it by five minutes; the living workers must then finish it, once.
    auto stuck = count("SELECT count(*) FROM invoices WHERE purpose = 'renewal' AND "
                       "provider_invoice_id IS NULL");
    CHECK(stuck <= 1);
    if (stuck > 0) {
        auto rw = db::Database::open(dir / "data/keysat.db", db::OpenMode::read_write);
        REQUIRE(rw);
        REQUIRE(rw->exec("UPDATE invoices SET updated_at = updated_at - 301 WHERE purpose = "
                         "'renewal' AND provider_invoice_id IS NULL"));
        wait_for_checkouts();
    }
    std::this_thread::sleep_for(std::chrono::seconds(3)); // more passes by both
    CHECK(count("SELECT count(*) FROM subscriptions") == k_plans);
    CHECK(count("SELECT count(*) FROM invoices WHERE purpose = 'renewal'") == k_plans);
    CHECK(count("SELECT count(DISTINCT license_id || period_end) FROM invoices WHERE purpose = "
                "'renewal'") == k_plans);
    CHECK(count("SELECT count(*) FROM invoices WHERE purpose = 'renewal' AND "
                "provider_invoice_id IS NOT NULL") == k_plans);
    // BTCPay saw each renewal once: the purchases plus one invoice per plan.
    CHECK(btcpay.invoices().size() == 2 * k_plans);
    CHECK(count("SELECT count(*) FROM webhook_deliveries WHERE event_type = "
                "'subscription.renewal_pending'") == k_plans);
    CHECK(btcpay.problems().empty());
}

TEST_CASE("Zaprite renewals charge the card the buyer saved: a 2xx that is not a payment, or a "
          "failed charge, falls back to the checkout link",
          "[e2e][subscriptions][zaprite]") {
    FixedClock clock{k_t0};
    test::TempDir dir;
    const std::string zkey = "zpr_standin_key_0123456789";
    test::ZapriteStandin zaprite{zkey};
    test::InProcessServer server(dir / "data",
                                 "webhook_allow = [\"127.0.0.1/32\"]\nvalidate_rate = 0\n"
                                 "renewal_interval = 3600\n",
                                 clock);
    const std::string admin = server.admin_key();
    auto ok = [&](const std::string& path, const json& body) {
        auto r = server.post(path, body.dump(), admin);
        INFO(path << ": " << r.raw);
        REQUIRE(r.status == 200);
        return r.body;
    };
    std::string hook = ok("/v1/admin/zaprite/connect",
                          {{"api_key", zkey}, {"base_url", zaprite.url()}})["webhook_url"];
    ok("/v1/admin/products", {{"slug", "app"}, {"name", "App"}, {"price_sats", 10000}});
    ok("/v1/admin/policies", {{"product_slug", "app"},
                              {"slug", "monthly"},
                              {"name", "Monthly"},
                              {"renewal_period_days", 30},
                              {"grace_period_days", 7}});
    ok("/v1/admin/webhook-endpoints", {{"url", "http://127.0.0.1:9/hook"}});
    auto pass = [&] {
        auto db = server.app().database();
        REQUIRE(db);
        return service::renewal_pass(**db, *server.app().signer,
                                     api::checkout_with(server.app(), **db),
                                     api::auto_charge_with(server.app()), clock, 7 * k_day);
    };
    auto read = [&] {
        auto db = db::Database::open(dir / "data/keysat.db", db::OpenMode::read_only);
        REQUIRE(db);
        return std::move(*db);
    };
    auto events = [&](const std::string& type) {
        return *read().query_int(
            fmt::format("SELECT count(*) FROM webhook_deliveries WHERE event_type = '{}'", type));
    };
    auto period_end = [&] {
        return *read().query_int("SELECT current_period_end FROM subscriptions");
    };
    auto notify = [&](const std::string& order) {
        REQUIRE(zaprite.send(hook, {{"event", "order.change"}, {"data", {{"id", order}}}}) == 200);
    };
    auto newest_order = [&] {
        std::string newest;
        for (const auto& [id, order] : zaprite.orders())
            newest = std::max(newest, id);
        return newest;
    };

    // The first payment offers to keep the card: a contact, then an order that allows saving.
    auto bought = server.post(
        "/v1/purchase",
        json{{"product", "app"}, {"policy_slug", "monthly"}, {"buyer_email", "card@example.com"}}
            .dump());
    REQUIRE(bought.status == 200);
    std::string first = bought.body["btcpay_invoice_id"];
    auto order = zaprite.orders().at(first);
    CHECK(order["allowSavePaymentProfile"] == true);
    CHECK(order["contactId"].is_string());
    zaprite.pay(first, true);
    notify(first);
    std::string profile =
        (*read().query_texts("SELECT zaprite_payment_profile_id FROM subscriptions"))[0];
    CHECK(profile.starts_with("zpp_standin"));
    std::int64_t end = k_t0 + 30 * k_day;
    CHECK(period_end() == end);

    // The renewal is charged to the saved card; its payment settles it as any other.
    clock.set(end - 7 * k_day);
    auto report = pass();
    CHECK(report.charged == 1);
    REQUIRE(zaprite.charges().size() == 1);
    CHECK(zaprite.charges()[0]["paymentProfileId"] == profile);
    std::string renewal = newest_order();
    CHECK(zaprite.charges()[0]["orderId"] == renewal);
    CHECK(zaprite.orders().at(renewal).contains("allowSavePaymentProfile") == false);
    CHECK(events("subscription.auto_charge_initiated") == 1);
    CHECK(events("subscription.renewal_pending") == 0);
    notify(renewal);
    std::int64_t end2 = end + 30 * k_day;
    CHECK(period_end() == end2);

    // A charge answered 2xx with a status that is not a payment is no renewal: the link goes out.
    zaprite.set_charge_answer("PENDING");
    clock.set(end2 - 7 * k_day);
    report = pass();
    CHECK(report.charged == 0);
    CHECK(zaprite.charges().size() == 2);
    CHECK(events("subscription.auto_charge_initiated") == 1);
    CHECK(events("subscription.renewal_pending") == 1);
    CHECK(events("subscription.auto_charge_failed") == 0);
    CHECK(period_end() == end2);
    notify(newest_order()); // Zaprite says PENDING: nothing changes
    CHECK(period_end() == end2);
    // The buyer pays the link by hand.
    zaprite.pay(newest_order(), false);
    notify(newest_order());
    std::int64_t end3 = end2 + 30 * k_day;
    CHECK(period_end() == end3);

    // A charge call that fails is announced, and the link still goes out.
    zaprite.set_charge_answer("PAID", 402);
    clock.set(end3 - 7 * k_day);
    report = pass();
    CHECK(report.charged == 0);
    CHECK(events("subscription.auto_charge_failed") == 1);
    CHECK(events("subscription.renewal_pending") == 2);
    CHECK(period_end() == end3);
    CHECK(zaprite.problems().empty());
}

TEST_CASE("tier changes cannot be had for less than they cost: a trial to a lifetime tier, a "
          "hidden tier, paying years ahead, an upgrade paid after the plan moved",
          "[e2e][subscriptions]") {
    Shop shop;
    auto& server = *shop.server;
    for (const json& body : {json{{"product_slug", "app"},
                                  {"slug", "lifetime"},
                                  {"name", "Lifetime"},
                                  {"price_sats_override", 50000},
                                  {"tier_rank", 3}},
                             json{{"product_slug", "app"},
                                  {"slug", "staff"},
                                  {"name", "Staff"},
                                  {"price_sats_override", 0},
                                  {"is_public", false},
                                  {"tier_rank", 4}}})
        REQUIRE(server.post("/v1/admin/policies", body.dump(), shop.admin).status == 200);
    auto bought = server.post(
        "/v1/purchase",
        json{{"product", "app"}, {"policy_slug", "basic"}, {"buyer_email", "buyer@example.com"}}
            .dump());
    REQUIRE(bought.status == 200);
    std::string key = bought.body["license_key"];
    std::string license_id = bought.body["license_id"];
    auto quote = [&](const std::string& slug) {
        return server.post("/v1/upgrade-quote",
                           json{{"license_key", key}, {"target_policy_slug", slug}}.dump());
    };
    // A trial has paid nothing: a lifetime tier costs its whole price, not nothing.
    auto lifetime = quote("lifetime");
    REQUIRE(lifetime.status == 200);
    CHECK(lifetime.body["proration_charge_value"] == 50000);
    // A hidden tier is not for buyers, however it ranks or costs.
    CHECK(quote("staff").status == 400);
    CHECK(
        server
            .post("/v1/upgrade", json{{"license_key", key}, {"target_policy_slug", "staff"}}.dump())
            .status == 400);
    CHECK(server.post("/v1/validate", json{{"key", key}}.dump()).body["max_machines"] == 2);

    // Paying ahead: the trial's renewal now, then no further than one period ahead.
    auto renew = server.post("/v1/subscriptions/renew", json{{"license_key", key}}.dump());
    REQUIRE(renew.status == 200);
    shop.settle(renew.body["provider_invoice_id"]);
    std::int64_t end1 = k_t0 + 14 * k_day + 30 * k_day;
    CHECK(shop.stored_expiry(license_id) == end1);
    auto again = server.post("/v1/subscriptions/renew", json{{"license_key", key}}.dump());
    CHECK(again.status == 409);

    // An upgrade priced for this period (44 days left: 44 x 15,000 / 30 = 22,000)...
    auto up = server.post("/v1/upgrade",
                          json{{"license_key", key}, {"target_policy_slug", "pro"}}.dump());
    INFO(up.raw);
    REQUIRE(up.status == 200);
    CHECK(up.body["proration_charge_value"] == 22000);
    // ... is voided when paid after the plan renewed into the next period at Basic's price.
    shop.clock.set(end1 - 7 * k_day);
    shop.pass();
    auto invoices = shop.renewal_invoices();
    REQUIRE(invoices.size() == 2);
    shop.settle(invoices[1]["provider"]);
    CHECK(shop.stored_expiry(license_id) == end1 + 30 * k_day);
    shop.settle(up.body["provider_invoice_id"]);
    CHECK(server.get("/v1/purchase/" + up.body["invoice_id"].get<std::string>()).body["status"] ==
          "settled");
    CHECK(shop.events("license.tier_change_voided") == 1);
    CHECK(shop.events("license.tier_changed") == 0);
    CHECK(server.post("/v1/validate", json{{"key", key}}.dump()).body["max_machines"] == 2);
    auto changes = shop.subscription()["tier_changes"];
    REQUIRE(changes.size() == 1);
    CHECK(changes[0]["status"] == "cancelled");
    CHECK(shop.subscription()["saved_payment_method"] == false);

    // The default merchant profile counts the running plan of its products.
    auto profile =
        server.post("/v1/admin/merchant-profiles", json{{"name", "Acme"}}.dump(), shop.admin);
    REQUIRE(profile.status == 200);
    std::string profile_id = profile.body["id"];
    REQUIRE(
        server.post("/v1/admin/merchant-profiles/" + profile_id + "/set-default", "", shop.admin)
            .status == 200);
    CHECK(server.get("/v1/admin/merchant-profiles/" + profile_id, shop.admin)
              .body["active_subscription_count"] == 1);
}
