// Switching from Keysat: `keysat-migrate import-keysat` on Keysat 0.2.x databases made by the
// fixture generator (schema versions 16 and 25), then the real keysat-serve on the result.

#include <catch2/catch.hpp>

#include <chrono>
#include <csignal>
#include <thread>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "import/keysat_fixture.hpp"
#include "keysat/crypto/hash.hpp"
#include "keysat/db/database.hpp"
#include "keysat/util/clock.hpp"
#include "keysat/util/encoding.hpp"
#include "support/btcpay_standin.hpp"
#include "support/server_process.hpp"
#include "support/support.hpp"
#include "support/webhook_receiver.hpp"
#include "support/zaprite_standin.hpp"

using namespace keysat;
using nlohmann::json;

namespace {

const std::string k_key = "standin-api-key-0123456789";
const std::string k_store = "StandInStore";
const std::string k_secret = "standin-webhook-secret";
const std::string k_zaprite_key = "zaprite-standin-key";

// Every row of every table of a database, in order: equal digests, equal contents.
std::string digest(const std::filesystem::path& path) {
    auto db = db::Database::open(path, db::OpenMode::read_only);
    REQUIRE(db);
    auto tables = db->query_texts("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY "
                                  "name");
    REQUIRE(tables);
    std::string all;
    for (const auto& t : *tables) {
        auto cols = db->query_texts("SELECT 'quote(' || name || ')' FROM pragma_table_info('" + t +
                                    "') ORDER BY cid");
        REQUIRE(cols);
        std::string list;
        for (const auto& c : *cols)
            list += (list.empty() ? "" : " || ',' || ") + c;
        // Ordered by the row's text: WITHOUT ROWID tables (validation_daily) have no rowid.
        auto rows = db->query_texts("SELECT " + list + " FROM \"" + t + "\" ORDER BY 1");
        REQUIRE(rows);
        all += t + "\n";
        for (const auto& r : *rows)
            all += r + "\n";
    }
    return hex_encode(crypto::sha256(as_bytes(all)));
}

std::int64_t count(const std::filesystem::path& path, const std::string& sql) {
    auto db = db::Database::open(path, db::OpenMode::read_only);
    REQUIRE(db);
    auto n = db->query_int(sql);
    REQUIRE(n);
    return *n;
}

std::string server_base(const test::ServerProcess& server) {
    return "http://127.0.0.1:" + std::to_string(server.port());
}

test::RunResult import(const std::vector<std::string>& more) {
    std::vector<std::string> argv = {test::migrate_bin(), "import-keysat"};
    argv.insert(argv.end(), more.begin(), more.end());
    return test::run(argv);
}

// A BTCPay invoice the stand-in knows, for the fixture's pending invoice.
std::string standin_invoice(test::BtcpayStandin& btcpay) {
    httplib::Client client(btcpay.url());
    auto r = client.Post("/api/v1/stores/" + k_store + "/invoices",
                         {{"Authorization", "token " + k_key}},
                         R"({"amount":"0.0005","currency":"BTC"})", "application/json");
    REQUIRE(r);
    REQUIRE(r->status == 200);
    return json::parse(r->body)["id"];
}

// A Zaprite order the stand-in knows, for the fixture's pending dollar invoice.
std::string standin_order(test::ZapriteStandin& zaprite) {
    httplib::Client client(zaprite.url());
    auto r = client.Post("/v1/orders", {{"Authorization", "Bearer " + k_zaprite_key}},
                         R"({"amount":2500,"currency":"USD"})", "application/json");
    REQUIRE(r);
    REQUIRE(r->status == 200);
    return json::parse(r->body)["id"];
}

void check_licenses(const test::KeysatFixture& f, const test::ServerProcess& server,
                    const std::filesystem::path& db) {
    for (const auto& [id, expected] : f.licenses) {
        INFO("license " << id);
        // The key text we hold is the one Keysat gave the buyer, byte for byte.
        auto d = db::Database::open(db, db::OpenMode::read_only);
        REQUIRE(d);
        auto stored = d->query_texts("SELECT license_key FROM licenses WHERE id = '" + id + "'");
        REQUIRE(stored);
        REQUIRE(stored->size() == 1);
        CHECK(stored->front() == expected.key);
        auto r = server.post("/v1/validate", json{{"key", expected.key}}.dump());
        INFO(r.raw);
        REQUIRE(r.status == 200);
        if (expected.reason.empty()) {
            CHECK(r.body["ok"] == true);
            CHECK(r.body["license_id"] == id);
        } else {
            CHECK(r.body["ok"] == false);
            CHECK(r.body["reason"] == expected.reason);
        }
    }
}

// What each role may do: read licenses always; write products only as merchant-onboard or
// full-admin; an unauthorized write is 403, an authorized one with an empty body is 400.
void check_roles(const test::KeysatFixture& f, const test::ServerProcess& server) {
    for (const auto& [role, token] : f.tokens) {
        INFO("role " << role);
        auto read = server.get("/v1/admin/licenses", token);
        CHECK(read.status == (role == "revoked" ? 403 : 200));
        auto write = server.post("/v1/admin/products", "{}", token);
        bool may = role == "merchant-onboard" || role == "full-admin";
        CHECK(write.status == (may ? 400 : 403));
    }
}

struct Switched {
    explicit Switched(int version) {
        pending_remote = standin_invoice(btcpay);
        pending_order = standin_order(zaprite);
        test::KeysatFixtureOptions o;
        o.version = version;
        o.now = SystemClock().now();
        o.btcpay_url = btcpay.url();
        o.btcpay_api_key = k_key;
        o.btcpay_store_id = k_store;
        o.btcpay_webhook_secret = k_secret;
        o.pending_btcpay_invoice_id = pending_remote;
        o.zaprite_url = zaprite.url();
        o.zaprite_api_key = k_zaprite_key;
        o.pending_zaprite_order_id = pending_order;
        o.webhook_url = receiver.url();
        fixture = test::make_keysat_fixture(dir / "keysat.db", o);
        auto r = import({"--from", (dir / "keysat.db").string(), "--db", db.string()});
        INFO(r.out << r.err);
        REQUIRE(r.exit_code == 0);
        report = r.out + r.err;
    }
    test::BtcpayStandin btcpay{k_key, k_store, k_secret};
    test::ZapriteStandin zaprite{k_zaprite_key};
    test::WebhookReceiver receiver;
    test::TempDir dir;
    std::filesystem::path db = dir / "data" / "keysat.db";
    std::string pending_remote, pending_order;
    test::KeysatFixture fixture;
    std::string report;
};

} // namespace

TEST_CASE("import-keysat: a version 25 database switches with every key, secret and id intact",
          "[e2e][import]") {
    Switched s(25);
    INFO(s.report);
    CHECK(s.report.find("licenses                   13") != std::string::npos);
    CHECK(s.report.find("machines                   3") != std::string::npos);
    CHECK(s.report.find("not carried: validation_log (1 row(s))") != std::string::npos);
    CHECK(s.report.find("with SMTP settings lose them") != std::string::npos);
    // The key file is written like the one keysat-serve generates.
    auto key_file = s.dir / "data" / "signing.key";
    REQUIRE(std::filesystem::exists(key_file));
    auto perms = std::filesystem::status(key_file).permissions() & std::filesystem::perms::all;
    CHECK(perms == (std::filesystem::perms::owner_read | std::filesystem::perms::owner_write));
    auto verify = test::run({test::migrate_bin(), "verify", "--db", s.db.string()});
    INFO(verify.out << verify.err);
    CHECK(verify.exit_code == 0);

    // The support key's extra scope (Keysat's migration 24) is kept beside its role's.
    CHECK(count(s.db, "SELECT count(*) FROM api_keys WHERE name = 'support key' AND scopes LIKE "
                      "'%payment_providers:write%' AND scopes LIKE '%machines:write%'") == 1);

    // A rerun changes nothing.
    auto before = digest(s.db);
    auto again = import({"--from", (s.dir / "keysat.db").string(), "--db", s.db.string()});
    INFO(again.err);
    CHECK(again.exit_code == 0);
    CHECK(again.err.find("nothing to do") != std::string::npos);
    CHECK(digest(s.db) == before);

    test::ServerProcess server(s.dir / "data", {}, {"KEYSAT_WEBHOOK_ALLOW=127.0.0.1/32"});
    check_licenses(s.fixture, server, s.db);
    check_roles(s.fixture, server);

    // Recovery gives the buyer the key Keysat gave them.
    std::string perpetual = s.fixture.ids.at("license:perpetual");
    auto recovered =
        server.post("/v1/recover", json{{"invoice_id", s.fixture.ids.at("invoice:lifetime")},
                                        {"email", "buyer@example.com"}}
                                       .dump());
    INFO(recovered.raw);
    REQUIRE(recovered.status == 200);
    CHECK(recovered.body["license_key"] == s.fixture.licenses.at(perpetual).key);

    // The imported machines count against the seat limit: two active of three.
    auto seat = server.post("/v1/validate", json{{"key", s.fixture.licenses.at(perpetual).key},
                                                 {"fingerprint", "fixture-machine-0"}}
                                                .dump());
    CHECK(seat.body["ok"] == true);

    // BTCPay posts, signed with the imported secret, to the imported provider's route.
    s.btcpay.set_webhook_url(server_base(server) + "/v1/btcpay/webhook/" +
                             s.fixture.btcpay_provider_id);
    CHECK(s.btcpay.settle(s.pending_remote) == 200);
    auto poll = server.get("/v1/purchase/" + s.fixture.ids.at("invoice:pending"));
    INFO(poll.raw);
    CHECK(poll.body["status"] == "settled");
    REQUIRE(poll.body["license_key"].is_string());
    auto fresh = server.post("/v1/validate", json{{"key", poll.body["license_key"]}}.dump());
    CHECK(fresh.body["ok"] == true);
    CHECK(s.btcpay.problems().empty());

    // Zaprite posts to Keysat's /v1/zaprite/webhook/<id>, without a secret; the order is read
    // back from Zaprite before anything changes, and a secret in the path is refused there.
    std::string zaprite_hook =
        server_base(server) + "/v1/zaprite/webhook/" + s.fixture.zaprite_provider_id;
    s.zaprite.set_status(s.pending_order, "PAID");
    CHECK(s.zaprite.send(zaprite_hook + "/AAAA", {{"orderId", s.pending_order}}) == 401);
    CHECK(server.get("/v1/purchase/" + s.fixture.ids.at("invoice:usd_pending")).body["status"] ==
          "pending");
    CHECK(s.zaprite.send(zaprite_hook, {{"orderId", s.pending_order}}) == 200);
    auto paid = server.get("/v1/purchase/" + s.fixture.ids.at("invoice:usd_pending"));
    INFO(paid.raw);
    CHECK(paid.body["status"] == "settled");
    CHECK(s.zaprite.problems().empty());
    // A Zaprite account with a secret is not reachable on Keysat's route, nor is an imported
    // one on the route with a secret.
    {
        auto d = db::Database::open(s.db, db::OpenMode::read_write);
        REQUIRE(d);
        REQUIRE(d->exec("UPDATE payment_providers SET webhook_secret = 'S3cret' WHERE id = '" +
                        s.fixture.zaprite_provider_id + "'"));
    }
    CHECK(s.zaprite.send(zaprite_hook, {{"orderId", s.pending_order}}) == 401);
    CHECK(s.zaprite.send(zaprite_hook + "/S3cret", {{"orderId", s.pending_order}}) == 200);
    // A BTCPay provider's id is not a Zaprite one.
    CHECK(
        s.zaprite.send(server_base(server) + "/v1/zaprite/webhook/" + s.fixture.btcpay_provider_id,
                       {{"orderId", s.pending_order}}) == 404);

    // The integrator's endpoint: the retrying delivery is sent again with its bytes, and the
    // new license's event, both signed with the secret the integrator already holds.
    bool saw_retry = false, saw_new = false;
    for (int tries = 0; tries < 500 && !(saw_retry && saw_new); ++tries) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        for (const auto& r : s.receiver.received()) {
            auto expected =
                crypto::hmac_sha256(as_bytes(s.fixture.endpoint_secret), as_bytes(r.body));
            CHECK(r.signature == "sha256=" + hex_encode(expected));
            auto body = json::parse(r.body, nullptr, false);
            if (body.contains("data") && body["data"].value("license_id", "") == perpetual)
                saw_retry = true;
            if (r.event == "license.issued" &&
                r.body.find(s.fixture.ids.at("invoice:pending")) != std::string::npos)
                saw_new = true;
        }
    }
    CHECK(saw_retry);
    CHECK(saw_new);
    // The dead delivery stays dead; the delivered one is not sent again.
    CHECK(count(s.db, "SELECT count(*) FROM webhook_deliveries WHERE dead = 1") == 1);
}

TEST_CASE("import-keysat: a version 16 database keeps its single BTCPay store on Keysat's route",
          "[e2e][import]") {
    Switched s(16);
    INFO(s.report);
    test::ServerProcess server(s.dir / "data", {}, {"KEYSAT_WEBHOOK_ALLOW=127.0.0.1/32"});
    check_licenses(s.fixture, server, s.db);
    check_roles(s.fixture, server);
    CHECK(s.fixture.tokens.count("merchant-onboard") == 0); // that role came with version 23
    // Before merchant profiles BTCPay posted to /v1/btcpay/webhook; it still can.
    s.btcpay.set_webhook_url(server_base(server) + "/v1/btcpay/webhook");
    CHECK(s.btcpay.settle(s.pending_remote) == 200);
    auto poll = server.get("/v1/purchase/" + s.fixture.ids.at("invoice:pending"));
    INFO(poll.raw);
    CHECK(poll.body["status"] == "settled");
    // Zaprite posted to /v1/zaprite/webhook before profiles; an order that is not ours there
    // changes nothing and is answered as BTCPay's other events are.
    CHECK(s.zaprite.send(server_base(server) + "/v1/zaprite/webhook", {{"orderId", "zo_other"}}) ==
          200);
    // Invoices and plans name the provider Keysat was using (its active_payment_provider).
    CHECK(count(s.db, "SELECT count(*) FROM invoices WHERE provider_id = 'btcpay'") ==
          count(s.db, "SELECT count(*) FROM invoices"));
    CHECK(count(s.db, "SELECT count(*) FROM payment_providers WHERE id = 'zaprite' AND "
                      "webhook_secret IS NULL") == 1);
    auto verify = test::run({test::migrate_bin(), "verify", "--db", s.db.string()});
    CHECK(verify.exit_code == 0);
}

TEST_CASE("import-keysat: mapped as Keysat meant it", "[import]") {
    test::TempDir dir;
    test::KeysatFixtureOptions o;
    o.now = SystemClock().now();
    auto f = test::make_keysat_fixture(dir / "keysat.db", o);
    auto db = dir / "ours.db";
    auto r = import({"--from", (dir / "keysat.db").string(), "--db", db.string()});
    INFO(r.out << r.err);
    REQUIRE(r.exit_code == 0);
    auto is = [&](const std::string& sql) { return count(db, sql) == 1; };
    // Prices in their currency's smallest unit; Keysat's catalog and profile link.
    CHECK(is("SELECT count(*) FROM products WHERE slug = 'fixture-app' AND price_amount = 50000 "
             "AND currency = 'SAT' AND json_array_length(entitlements) = 3 AND "
             "merchant_profile_id IS NOT NULL"));
    CHECK(is("SELECT count(*) FROM products WHERE slug = 'usd-app' AND price_amount = 2500 AND "
             "currency = 'USD'"));
    // Tier terms in days, the buy page's words out of metadata, archive state.
    CHECK(is("SELECT count(*) FROM policies WHERE slug = 'annual' AND duration_days = 365 AND "
             "grace_days = 7 AND max_machines = 1"));
    CHECK(is("SELECT count(*) FROM policies WHERE slug = 'lifetime' AND duration_days IS NULL "
             "AND price_override = 90000 AND tier_rank = 3 AND hidden_entitlements = '[\"beta\"]' "
             "AND marketing_bullets = '[\"Forever yours\",\"Three machines\"]' AND description = "
             "'Pay once' AND highlighted = 1 AND marketing_bullets_position = 'below'"));
    CHECK(is("SELECT count(*) FROM policies WHERE slug = 'pro-monthly' AND renewal_period_days = "
             "30 AND recurring_period = 'month' AND grace_period_days = 7"));
    CHECK(is("SELECT count(*) FROM policies WHERE slug = 'old' AND archived = 1 AND archived_at "
             "IS NOT NULL"));
    CHECK(is("SELECT count(*) FROM policies WHERE slug = 'trial' AND is_trial = 1 AND trial_days "
             "= 14 AND public = 0"));
    // Licenses keep their ids, states and reasons; trial flags; emails.
    CHECK(is("SELECT count(*) FROM licenses WHERE status = 'revoked' AND revocation_reason = "
             "'chargeback'"));
    CHECK(is("SELECT count(*) FROM licenses WHERE status = 'suspended' AND suspension_reason = "
             "'unpaid support'"));
    CHECK(is("SELECT count(*) FROM licenses WHERE id = '" + f.ids.at("license:trial") +
             "' AND is_trial = 1"));
    // Machines: two active, one deactivated with its reason.
    CHECK(count(db, "SELECT count(*) FROM machines WHERE deactivated_at IS NULL") == 2);
    CHECK(is("SELECT count(*) FROM machines WHERE deactivation_reason = 'replaced'"));
    // Invoices: states, currencies, the code's discount, purposes.
    CHECK(is("SELECT count(*) FROM invoices WHERE id = '" + f.ids.at("invoice:pending") +
             "' AND status = 'new' AND provider_invoice_id = 'btcpay-pending-1'"));
    CHECK(is("SELECT count(*) FROM invoices WHERE id = '" + f.ids.at("invoice:lifetime") +
             "' AND base_amount = 90000 AND discount_amount = 18000 AND amount = 72000 AND "
             "discount_code_id = '" +
             f.ids.at("code:LAUNCH20") + "' AND settled_at IS NOT NULL"));
    CHECK(is("SELECT count(*) FROM invoices WHERE id = '" + f.ids.at("invoice:usd") +
             "' AND amount = 2500 AND currency = 'USD'"));
    CHECK(is("SELECT count(*) FROM invoices WHERE id = '" + f.ids.at("invoice:renewal") +
             "' AND purpose = 'renewal' AND license_id = '" + f.ids.at("license:sub-active") +
             "' AND period_end IS NOT NULL"));
    CHECK(is("SELECT count(*) FROM invoices WHERE id = '" + f.ids.at("invoice:upgrade") +
             "' AND purpose = 'upgrade' AND license_id = '" + f.ids.at("license:sub-active") +
             "'"));
    // Codes of the four kinds, their scope and redemptions.
    CHECK(count(db, "SELECT count(DISTINCT kind) FROM discount_codes") == 4);
    CHECK(is("SELECT count(*) FROM discount_codes WHERE code = 'LAUNCH20' AND value = 2000 AND "
             "uses = 1 AND max_uses = 100 AND featured = 1 AND product_ids = '[\"" +
             f.ids.at("product") + "\"]'"));
    CHECK(is("SELECT count(*) FROM discount_codes WHERE code = 'FIVEBUCKS' AND currency = 'USD' "
             "AND policy_ids = '[\"" +
             f.ids.at("policy:usd-lifetime") + "\"]'"));
    CHECK(count(db, "SELECT count(*) FROM discount_redemptions WHERE status = 'used'") == 2);
    CHECK(is("SELECT count(*) FROM discount_redemptions WHERE status = 'reserved'"));
    CHECK(is("SELECT count(*) FROM discount_redemptions WHERE status = 'released'"));
    // Plans: each state, the period ending when Keysat would renew, the saved card.
    CHECK(count(db, "SELECT count(DISTINCT status) FROM subscriptions") == 4);
    CHECK(is("SELECT count(*) FROM subscriptions s JOIN licenses l ON l.id = s.license_id WHERE "
             "s.id = '" +
             f.ids.at("subscription:active") +
             "' AND s.current_period_end = l.expires_at AND s.zaprite_payment_profile_id = 'pp-1' "
             "AND s.provider_id IS NOT NULL"));
    CHECK(is("SELECT count(*) FROM subscriptions WHERE status = 'cancelled' AND "
             "cancellation_reason = 'too expensive' AND cancelled_at IS NOT NULL"));
    CHECK(is("SELECT count(*) FROM subscriptions WHERE status = 'lapsed' AND lapsed_at IS NOT "
             "NULL"));
    CHECK(is("SELECT count(*) FROM subscriptions WHERE status = 'past_due' AND "
             "consecutive_failures = 2"));
    CHECK(is("SELECT count(*) FROM tier_changes WHERE direction = 'upgrade' AND actor = 'buyer' "
             "AND proration_charge_value = 6000 AND status = 'applied'"));
    // Profiles (Keysat's 32-hex id kept), providers with their secrets, rail choices.
    CHECK(is("SELECT count(*) FROM merchant_profiles WHERE id = '" +
             fmt::format("{:032x}", 0xa11ce) +
             "' AND is_default = 1 AND support_email = "
             "'help@seller.example'"));
    CHECK(is("SELECT count(*) FROM payment_providers WHERE id = '" + f.btcpay_provider_id +
             "' AND webhook_secret = '" + k_secret.substr(0, 0) + "whsec-fixture'"));
    CHECK(count(db, "SELECT count(*) FROM merchant_rail_preferences") == 2);
    // Webhooks: '*' is every event; deliveries keep their bytes; one dead.
    CHECK(is("SELECT count(*) FROM webhook_endpoints WHERE id = '" + f.ids.at("endpoint") +
             "' AND events = '[]' AND secret = '" + f.endpoint_secret + "'"));
    CHECK(is("SELECT count(*) FROM webhook_endpoints WHERE events = "
             "'[\"license.issued\",\"license.revoked\"]' AND active = 0"));
    CHECK(is("SELECT count(*) FROM webhook_deliveries WHERE id = '" + f.ids.at("delivery:dead") +
             "' AND dead = 1 AND attempts = 8"));
    CHECK(is("SELECT count(*) FROM webhook_deliveries WHERE id = '" +
             f.ids.at("delivery:retrying") + "' AND dead = 0 AND delivered_at IS NULL"));
    // Keys: hashes and revocation; audit rows; the operator's name; the import's own row.
    CHECK(count(db, "SELECT count(*) FROM api_keys") == 6);
    CHECK(is("SELECT count(*) FROM api_keys WHERE revoked_at IS NOT NULL AND key_sha256 = '" +
             hex_encode(crypto::sha256(as_bytes(f.tokens.at("revoked")))) + "'"));
    CHECK(count(db, "SELECT count(*) FROM audit_log WHERE action LIKE 'license.%'") == 3);
    // Audit rows name the actor as ours do (the scoped key by its id), without the plain hash.
    CHECK(count(db, "SELECT count(*) FROM audit_log WHERE actor_kind = 'api_key' AND actor_id IS "
                    "NULL") == 0);
    CHECK(count(db, "SELECT count(*) FROM audit_log WHERE actor_kind = 'master' AND actor_id = "
                    "'master'") == 1);
    CHECK(count(db, "SELECT count(*) FROM audit_log WHERE actor_sha256 IS NOT NULL") == 0);
    CHECK(is("SELECT count(*) FROM audit_log WHERE action = 'keysat.imported'"));
    CHECK(is("SELECT count(*) FROM settings WHERE key = 'operator_name' AND value = 'Fixture "
             "Seller'"));
    CHECK(count(db, "SELECT count(*) FROM settings WHERE key = 'web_ui_password_hash'") == 0);
}

TEST_CASE("import-keysat: --dry-run reports and changes nothing", "[import]") {
    test::TempDir dir;
    test::KeysatFixtureOptions o;
    o.now = SystemClock().now();
    test::make_keysat_fixture(dir / "keysat.db", o);
    // The source's bytes, not only its rows: it is attached read-only.
    auto source_before = test::slurp(dir / "keysat.db");
    auto db = dir / "data" / "keysat.db";
    auto r = import({"--from", (dir / "keysat.db").string(), "--db", db.string(), "--dry-run"});
    INFO(r.out << r.err);
    CHECK(r.exit_code == 0);
    CHECK(r.out.find("licenses                   13") != std::string::npos);
    CHECK(r.err.find("nothing changed") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(db));
    CHECK_FALSE(std::filesystem::exists(dir / "data" / "signing.key"));
    CHECK(test::slurp(dir / "keysat.db") == source_before);

    // On an existing empty database too.
    REQUIRE(test::run({test::migrate_bin(), "up", "--db", db.string()}).exit_code == 0);
    auto empty = digest(db);
    auto again = import({"--from", (dir / "keysat.db").string(), "--db", db.string(), "--dry-run"});
    CHECK(again.exit_code == 0);
    CHECK(digest(db) == empty);
    CHECK_FALSE(std::filesystem::exists(dir / "data" / "signing.key"));
}

TEST_CASE("import-keysat: refuses what it cannot import whole, changing nothing", "[import]") {
    test::TempDir dir;
    test::KeysatFixtureOptions o;
    o.now = SystemClock().now();
    auto f = test::make_keysat_fixture(dir / "keysat.db", o);
    auto source = (dir / "keysat.db").string();

    SECTION("a database that is not Keysat's") {
        auto ours = dir / "ours.db";
        REQUIRE(test::run({test::migrate_bin(), "up", "--db", ours.string()}).exit_code == 0);
        auto r = import({"--from", ours.string(), "--db", (dir / "t.db").string()});
        CHECK(r.exit_code == 2);
        CHECK(r.err.find("not a Keysat database") != std::string::npos);
        test::spit(dir / "junk.db", "hello");
        auto junk = import({"--from", (dir / "junk.db").string(), "--db", (dir / "t.db").string()});
        CHECK(junk.exit_code == 2);
        CHECK_FALSE(std::filesystem::exists(dir / "t.db"));
    }
    SECTION("a newer Keysat schema") {
        {
            auto k = db::Database::open(dir / "keysat.db", db::OpenMode::read_write);
            REQUIRE(k);
            REQUIRE(k->exec("INSERT INTO _sqlx_migrations VALUES (26, 'future', "
                            "CURRENT_TIMESTAMP, 1, x'00', 1)"));
        }
        auto r = import({"--from", source, "--db", (dir / "t.db").string()});
        CHECK(r.exit_code == 2);
        CHECK(r.err.find("version 26") != std::string::npos);
        CHECK(r.err.find("knows versions 16 to 25") != std::string::npos);
        CHECK_FALSE(std::filesystem::exists(dir / "t.db"));
    }
    SECTION("a target that holds other data") {
        auto t = dir / "t.db";
        REQUIRE(test::run({test::migrate_bin(), "up", "--db", t.string()}).exit_code == 0);
        {
            auto d = db::Database::open(t, db::OpenMode::read_write);
            REQUIRE(d);
            REQUIRE(d->exec("INSERT INTO products (id, slug, name, created_at, updated_at) VALUES "
                            "('p', 'mine', 'Mine', 1, 1)"));
        }
        auto before = digest(t);
        auto r = import({"--from", source, "--db", t.string()});
        CHECK(r.exit_code == 2);
        CHECK(r.err.find("already holds other data (1 products)") != std::string::npos);
        CHECK(digest(t) == before);
        CHECK_FALSE(std::filesystem::exists(dir / "signing.key"));
    }
    SECTION("an import of another Keysat database") {
        auto t = dir / "t.db";
        REQUIRE(import({"--from", source, "--db", t.string()}).exit_code == 0);
        auto before = digest(t);
        test::make_keysat_fixture(dir / "other.db", o);
        auto r = import({"--from", (dir / "other.db").string(), "--db", t.string(), "--signing-key",
                         (dir / "other.key").string()});
        CHECK(r.exit_code == 2);
        CHECK(r.err.find("another Keysat database") != std::string::npos);
        CHECK(digest(t) == before);
    }
    SECTION("a key file holding another key") {
        auto gen = test::run(
            {test::issue_bin(), "keygen", "-o", (dir / "signing").string(), "--unencrypted"});
        REQUIRE(gen.exit_code == 0);
        auto r = import({"--from", source, "--db", (dir / "t.db").string()});
        CHECK(r.exit_code == 2);
        CHECK(r.err.find("holds another signing key") != std::string::npos);
        CHECK_FALSE(std::filesystem::exists(dir / "t.db")); // made for the import, removed
    }
    SECTION("rows Keysat's schema allows and ours refuses are named, not fatal") {
        {
            auto k = db::Database::open(dir / "keysat.db", db::OpenMode::read_write);
            REQUIRE(k);
            REQUIRE(k->exec("PRAGMA foreign_keys = OFF"));
            REQUIRE(k->exec("INSERT INTO machines (id, license_id, fingerprint, fingerprint_hash, "
                            "activated_at) VALUES ('orphan', 'no-such-license', 'fp', '" +
                            std::string(64, 'a') + "', '2026-01-01T00:00:00Z')"));
            REQUIRE(k->exec("INSERT INTO discount_codes (id, code, kind, amount, created_at, "
                            "updated_at) VALUES ('lower', 'launch20', 'percent', 1, "
                            "'2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')"));
            REQUIRE(k->exec("UPDATE scoped_api_keys SET extra_scopes = '[\"root:write\"]' WHERE "
                            "role = 'read-only'"));
            REQUIRE(k->exec("UPDATE products SET active = 2 WHERE slug = 'usd-app'"));
        }
        auto t = dir / "t.db";
        auto r = import({"--from", source, "--db", t.string()});
        INFO(r.err);
        CHECK(r.exit_code == 1);
        CHECK(r.err.find("machines orphan: license_id no-such-license is not in licenses") !=
              std::string::npos);
        CHECK(r.err.find("discount_codes lower: code launch20 differs only in case") !=
              std::string::npos);
        CHECK(r.err.find("extra_scopes holds a scope we do not have") != std::string::npos);
        CHECK(r.err.find("products " + f.ids.at("usd_product") + ": active is not 0 or 1") !=
              std::string::npos);
        CHECK_FALSE(std::filesystem::exists(t));
        auto kept = import({"--from", source, "--db", t.string(), "--keep-going"});
        INFO(kept.err);
        CHECK(kept.exit_code == 1);
        CHECK(count(t, "SELECT count(*) FROM api_keys") == 5);
        CHECK(count(t, "SELECT count(*) FROM licenses WHERE product_id = '" +
                           f.ids.at("usd_product") + "'") == 0);
        CHECK(count(t, "SELECT count(*) FROM licenses") == 12);
        CHECK(test::run({test::migrate_bin(), "verify", "--db", t.string()}).exit_code == 0);
    }
    SECTION("a row it cannot map stops it, naming the table, the id and the reason") {
        {
            auto k = db::Database::open(dir / "keysat.db", db::OpenMode::read_write);
            REQUIRE(k);
            REQUIRE(k->exec("UPDATE policies SET duration_seconds = 3600 WHERE slug = 'annual'"));
        }
        auto t = dir / "t.db";
        REQUIRE(test::run({test::migrate_bin(), "up", "--db", t.string()}).exit_code == 0);
        auto before = digest(t);
        auto r = import({"--from", source, "--db", t.string()});
        INFO(r.err);
        CHECK(r.exit_code == 1);
        std::string annual = f.ids.at("policy:annual");
        CHECK(r.err.find("policies " + annual +
                         ": duration_seconds 3600 is not a whole number of days") !=
              std::string::npos);
        CHECK(r.err.find("licenses " + f.ids.at("license:annual") + ": its policies row " + annual +
                         " is not imported") != std::string::npos);
        CHECK(r.err.find("nothing was imported") != std::string::npos);
        CHECK(digest(t) == before);
        // A dry run says the same, and a target made for the import does not stay behind.
        auto dry = import({"--from", source, "--db", t.string(), "--dry-run"});
        CHECK(dry.exit_code == 1);
        CHECK(dry.err.find("it would stop") != std::string::npos);
        CHECK(digest(t) == before);
        auto fresh = import({"--from", source, "--db", (dir / "fresh" / "k.db").string()});
        CHECK(fresh.exit_code == 1);
        CHECK_FALSE(std::filesystem::exists(dir / "fresh" / "k.db"));
        CHECK_FALSE(std::filesystem::exists(dir / "fresh" / "signing.key"));

        // --keep-going leaves it and what hangs on it out, and imports the rest.
        auto kept = import({"--from", source, "--db", t.string(), "--keep-going"});
        INFO(kept.err);
        CHECK(kept.exit_code == 1);
        CHECK(count(t, "SELECT count(*) FROM policies WHERE slug = 'annual'") == 0);
        CHECK(count(t, "SELECT count(*) FROM licenses") == 13 - 3);
        // The annual tier's three invoices and the two uses of a code on them went with it.
        CHECK(count(t, "SELECT count(*) FROM invoices") == 10 - 3);
        CHECK(count(t, "SELECT count(*) FROM discount_redemptions") == 4 - 2);
        CHECK(count(t, "SELECT count(*) FROM licenses WHERE id = '" +
                           f.ids.at("license:perpetual") + "'") == 1);
        auto verify = test::run({test::migrate_bin(), "verify", "--db", t.string()});
        CHECK(verify.exit_code == 0);
    }
}

TEST_CASE("import-keysat: a kill -9 in the middle leaves the target as it was", "[import]") {
    test::TempDir dir;
    test::KeysatFixtureOptions o;
    o.now = SystemClock().now();
    o.extra_licenses = 40000;
    test::make_keysat_fixture(dir / "keysat.db", o);
    auto t = dir / "t.db";
    REQUIRE(test::run({test::migrate_bin(), "up", "--db", t.string()}).exit_code == 0);
    auto before = digest(t);

    // How long a whole import takes here, on a copy.
    auto started = std::chrono::steady_clock::now();
    REQUIRE(import({"--from", (dir / "keysat.db").string(), "--db", (dir / "copy.db").string(),
                    "--signing-key", (dir / "copy.key").string()})
                .exit_code == 0);
    auto whole = std::chrono::steady_clock::now() - started;

    test::Exec program({test::migrate_bin(), "import-keysat", "--from",
                        (dir / "keysat.db").string(), "--db", t.string()});
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        int null = ::open("/dev/null", O_WRONLY);
        dup2(null, 1);
        dup2(null, 2);
        program.replace_process();
    }
    std::this_thread::sleep_for(whole / 2);
    ::kill(pid, SIGKILL);
    int status = 0;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    REQUIRE(WIFSIGNALED(status)); // it was still importing when killed
    CHECK(digest(t) == before);
    auto verify = test::run({test::migrate_bin(), "verify", "--db", t.string()});
    CHECK(verify.exit_code == 0);
    // And the import can simply be run again.
    auto again = import({"--from", (dir / "keysat.db").string(), "--db", t.string()});
    INFO(again.err);
    CHECK(again.exit_code == 0);
    CHECK(count(t, "SELECT count(*) FROM licenses") == 13 + 40000);
}

TEST_CASE("import-keysat: --encrypt writes a key file keysat-serve opens with its passphrase",
          "[e2e][import]") {
    test::TempDir dir;
    test::KeysatFixtureOptions o;
    o.now = SystemClock().now();
    auto f = test::make_keysat_fixture(dir / "keysat.db", o);
    test::spit(dir / "pass", "correct horse\n");
    auto db = dir / "data" / "keysat.db";
    auto r = import({"--from", (dir / "keysat.db").string(), "--db", db.string(), "--encrypt",
                     "--passphrase-file", (dir / "pass").string(), "--kdf", "interactive"});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    auto text = test::slurp(dir / "data" / "signing.key");
    CHECK(text.find("Keysat's server key") != std::string::npos);
    // Wrong passphrase: the server does not start; the right one: it issues with Keysat's key.
    test::spit(dir / "wrong", "wrong\n");
    CHECK_THROWS(test::ServerProcess(dir / "data", {},
                                     {"KEYSAT_PASSPHRASE_FILE=" + (dir / "wrong").string()}));
    test::ServerProcess server(dir / "data", {},
                               {"KEYSAT_PASSPHRASE_FILE=" + (dir / "pass").string()});
    auto pub = server.get("/v1/issuer/public-key");
    INFO(pub.raw);
    CHECK(pub.body["public_key_pem"] == f.public_key_pem);
    std::string id = f.ids.at("license:perpetual");
    auto v = server.post("/v1/validate", json{{"key", f.licenses.at(id).key}}.dump());
    CHECK(v.body["ok"] == true);
    CHECK(v.body["license_id"] == id);
}
