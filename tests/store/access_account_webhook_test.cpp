#include <catch2/catch.hpp>

#include "keysat/store/access_store.hpp"
#include "keysat/store/account_store.hpp"
#include "keysat/store/catalog_store.hpp"
#include "keysat/store/commerce_store.hpp"
#include "keysat/store/license_store.hpp"
#include "keysat/store/subscription_store.hpp"
#include "keysat/store/webhook_store.hpp"
#include "support/db_support.hpp"
#include "support/support.hpp"

using namespace keysat;

TEST_CASE("webhook deliveries: due order, retries, dead letters, operator retry", "[store]") {
    test::TempDir dir;
    auto db = test::fresh_database(dir / "k.db");
    store::WebhookStore hooks(db);
    REQUIRE(
        hooks.create_endpoint({"e1", "https://a.test/hook", "s3cret", "[]", true, 1, 1, "CRM"}));
    REQUIRE(hooks.create_endpoint({"e2", "https://b.test/hook", "s3cret", "[]", false, 2, 2, ""}));
    CHECK((*hooks.list_endpoints(true)).size() == 1);
    CHECK((*hooks.find_endpoint("e1"))->description == "CRM");
    store::DeliveryRow d;
    d.endpoint_id = "e1";
    d.event_type = "license.issued";
    d.body = R"({"event_type":"license.issued"})";
    for (int i = 0; i < 3; ++i) {
        d.id = "d" + std::to_string(i);
        d.created_at = 100 + i;
        REQUIRE(hooks.enqueue(d));
    }
    auto due = *hooks.due(101, 10);
    REQUIRE(due.size() == 2);
    CHECK(due[0].id == "d0");
    CHECK(due[0].body == d.body);
    CHECK(*hooks.mark_delivered("d0", 200, 105));
    CHECK_FALSE(*hooks.mark_delivered("d0", 200, 106)); // never twice
    CHECK(*hooks.mark_failed("d1", 503, "Service Unavailable", 200));
    CHECK((*hooks.due(150, 10)).size() == 1); // d2 only; d1 waits until 200
    CHECK(*hooks.mark_failed("d2", std::nullopt, "timeout", std::nullopt)); // dead
    CHECK((*hooks.list_deliveries("failed", 10)).size() == 1);
    CHECK((*hooks.list_deliveries("pending", 10)).size() == 1);
    CHECK((*hooks.list_deliveries("delivered", 10)).size() == 1);
    CHECK((*hooks.list_deliveries("all", 10)).size() == 3);
    CHECK((*hooks.list_deliveries("all", 10, "e1")).size() == 3);
    CHECK((*hooks.list_deliveries("all", 10, "e2")).empty());
    CHECK((*hooks.list_deliveries("all", 2)).size() == 2);
    CHECK_FALSE(hooks.list_deliveries("bogus", 10));
    CHECK(*hooks.retry("d2", 300));
    auto now_due = *hooks.due(300, 10);
    REQUIRE(now_due.size() == 2);
    CHECK(now_due[0].attempts == 1);
    // An endpoint with history is deactivated rather than deleted.
    CHECK(*hooks.delete_endpoint("e1"));
    CHECK((*hooks.list_endpoints(false)).size() == 2);
    CHECK(*hooks.delete_endpoint("e2"));
    CHECK((*hooks.list_endpoints(false)).size() == 1);
}

TEST_CASE("API keys by hash, revocation, audit filters, settings, rate limits", "[store]") {
    test::TempDir dir;
    auto db = test::fresh_database(dir / "k.db");
    store::AccessStore access(db);
    REQUIRE(access.create_api_key({"k1", "support", "hash-1", R"(["licenses:read"])", 1, {}, {}}));
    CHECK_FALSE(access.create_api_key({"k2", "dup", "hash-1", "[]", 2, {}, {}}));
    CHECK((*access.find_active_api_key("hash-1"))->name == "support");
    CHECK(*access.touch_api_key("k1", 5));
    CHECK(*access.revoke_api_key("k1", 6));
    CHECK_FALSE(*access.find_active_api_key("hash-1"));
    CHECK((*access.list_api_keys()).front().last_used_at == 5);

    for (int i = 0; i < 5; ++i)
        REQUIRE(access.append_audit({0, 100 + i, "master", std::string("master"),
                                     std::string("hmac-" + std::to_string(i % 2)),
                                     i % 2 ? "license.revoke" : "product.create", std::nullopt,
                                     std::nullopt, "{}"}));
    store::AuditFilter f;
    f.action = "license.revoke";
    auto revokes = *access.list_audit(f);
    REQUIRE(revokes.size() == 2);
    CHECK(revokes[0].at == 103); // newest first
    store::AuditFilter window;
    window.since = 101;
    window.until = 102;
    CHECK((*access.list_audit(window)).size() == 2);
    store::AuditFilter by_credential;
    by_credential.actor_hmac = "hmac-1";
    CHECK((*access.list_audit(by_credential)).size() == 2);
    store::AuditFilter by_id;
    by_id.actor_id = "master";
    CHECK((*access.list_audit(by_id)).size() == 5);
    by_id.actor_id = "k1";
    CHECK((*access.list_audit(by_id)).empty());

    REQUIRE(access.append_validations(
        {{1, std::string("lic"), "ok", std::nullopt, std::nullopt},
         {2, std::nullopt, "bad_signature", std::nullopt, std::nullopt}}));
    CHECK(*db.query_int("SELECT count(*) FROM validation_log") == 2);

    CHECK_FALSE(*access.setting("operator_name"));
    REQUIRE(access.set_setting("operator_name", "Acme", 1));
    REQUIRE(access.set_setting("operator_name", "Acme Ltd", 2));
    CHECK(*access.setting("operator_name") == "Acme Ltd");

    // 2 tokens of burst, 1 per second.
    CHECK(*access.take_token("validate:1.2.3.4", 1.0, 2.0, 1000));
    CHECK(*access.take_token("validate:1.2.3.4", 1.0, 2.0, 1000));
    CHECK_FALSE(*access.take_token("validate:1.2.3.4", 1.0, 2.0, 1000));
    CHECK(*access.take_token("validate:5.6.7.8", 1.0, 2.0, 1000)); // another bucket
    CHECK(*access.take_token("validate:1.2.3.4", 1.0, 2.0, 1001)); // refilled one
    CHECK_FALSE(*access.take_token("validate:1.2.3.4", 1.0, 2.0, 1001));
}

TEST_CASE("merchants, providers, subscriptions and tier changes", "[store]") {
    test::TempDir dir;
    auto db = test::fresh_database(dir / "k.db");
    store::AccountStore accounts(db);
    store::MerchantProfileRow acme;
    acme.id = "m1";
    acme.name = "Acme";
    acme.support_email = "sales@acme.test";
    acme.created_at = 1;
    REQUIRE(accounts.create_merchant(acme));
    REQUIRE(accounts.save_provider({"pv1", "btcpay", std::string("m1"), "https://btcpay.test",
                                    std::string("store"), std::string("apikey"), std::nullopt,
                                    std::string("whsecret"), "connected", 1, 1, "BTCPay"}));
    CHECK_FALSE(accounts.save_provider(
        {"pv2", "paypal", std::nullopt, "x", {}, {}, {}, {}, "connected", 1, 1, ""})); // unknown
                                                                                       // kind
    CHECK(*accounts.disconnect_provider("pv1", 5));
    auto pv = *accounts.find_provider("pv1");
    CHECK(pv->status == "disconnected");
    CHECK_FALSE(pv->api_key); // credentials are forgotten
    CHECK((*accounts.list_merchants()).size() == 1);
    // One default profile at most; a connect state is taken once, and not after 30 minutes.
    CHECK_FALSE(*accounts.default_merchant());
    REQUIRE(*accounts.set_default_merchant("m1"));
    CHECK((*accounts.default_merchant())->id == "m1");
    CHECK_FALSE(*accounts.set_default_merchant("nobody"));
    REQUIRE(accounts.save_connect_state(
        {"S1", "btcpay", std::string("m1"), "", "master", "master", std::nullopt, 1000}));
    REQUIRE(accounts.save_connect_state(
        {"S2", "btcpay", std::nullopt, "", "master", "master", std::nullopt, 1000}));
    CHECK((*accounts.take_connect_state("S1", 1000 + 1799))->merchant_profile_id == "m1");
    CHECK_FALSE(*accounts.take_connect_state("S1", 1000 + 1799)); // single use
    CHECK_FALSE(*accounts.take_connect_state("S2", 1000 + 1801)); // too old
    CHECK_FALSE(*accounts.take_connect_state("S2", 1000));        // and gone

    store::CatalogStore catalog(db);
    REQUIRE(
        catalog.create_product({"p1", "app", "App", "", 0, "SAT", "[]", true, 1, 1, std::nullopt}));
    store::PolicyRow monthly;
    monthly.id = "pol1";
    monthly.product_id = "p1";
    monthly.slug = monthly.name = "monthly";
    monthly.recurring_period = "month";
    REQUIRE(catalog.create_policy(monthly));
    REQUIRE(store::SigningKeyStore(db).ensure("0011223344556677", Bytes(32, 1), 1));
    store::LicenseRow lic;
    lic.id = "lic1";
    lic.product_id = "p1";
    lic.license_key = "LIC1-S";
    lic.signing_key_id = "0011223344556677";
    REQUIRE((*store::LicenseStore::open(db)).insert(lic, 1));
    store::SubscriptionStore subs(db);
    store::SubscriptionRow plan;
    plan.id = "s1";
    plan.license_id = "lic1";
    plan.policy_id = "pol1";
    plan.product_id = "p1";
    plan.status = "active";
    plan.grace_days = 7;
    plan.current_period_end = 1000000;
    REQUIRE(subs.create(plan));
    // Due for an invoice from `lead` before the end; ended at the end; out of grace 7 days later.
    CHECK((*subs.due_for_invoice(999999, 1, 10)).empty());
    CHECK((*subs.due_for_invoice(1000000, 1, 10)).size() == 1);
    CHECK((*subs.ended(999999, 10)).empty());
    CHECK((*subs.ended(1000000, 10)).size() == 1);
    CHECK((*subs.out_of_grace(2000000, 10)).empty()); // active, not past due
    // A save names the status it read: a second writer that read the same row loses.
    plan.status = "past_due";
    CHECK(*subs.save(plan, "active"));
    CHECK_FALSE(*subs.save(plan, "active"));
    CHECK((*subs.ended(2000000, 10)).empty());
    CHECK((*subs.out_of_grace(1000000 + 7 * 86400 - 1, 10)).empty());
    CHECK((*subs.out_of_grace(1000000 + 7 * 86400, 10)).size() == 1);
    // An open or settled renewal invoice of the period takes the plan off the due list, and a
    // second one for the same period is refused by the database.
    store::CommerceStore commerce(db);
    store::InvoiceRow renewal;
    renewal.id = "inv-r1";
    renewal.product_id = "p1";
    renewal.purpose = "renewal";
    renewal.license_id = "lic1";
    renewal.period_end = 1000000;
    REQUIRE(commerce.create_invoice(renewal));
    CHECK((*subs.due_for_invoice(2000000, 1, 10)).empty());
    renewal.id = "inv-r2";
    CHECK_FALSE(commerce.create_invoice(renewal));
    REQUIRE(*commerce.transition("inv-r1", "expired", 5));
    CHECK((*subs.due_for_invoice(2000000, 1, 10)).size() == 1); // expired: a new one may open
    REQUIRE(commerce.create_invoice(renewal));
    CHECK((*commerce.invoices_of_license("lic1")).size() == 2);
    // Failures back off: the fifth stops the worker asking.
    REQUIRE(*commerce.transition("inv-r2", "invalid", 6));
    plan.consecutive_failures = 1;
    plan.last_renewal_attempt_at = 100;
    REQUIRE(*subs.save(plan, "past_due"));
    CHECK((*subs.due_for_invoice(2000000, 399, 10)).empty());
    CHECK((*subs.due_for_invoice(2000000, 400, 10)).size() == 1);
    plan.consecutive_failures = store::k_max_renewal_failures;
    REQUIRE(*subs.save(plan, "past_due"));
    CHECK((*subs.due_for_invoice(2000000, 1000000, 10)).empty());
    CHECK((*subs.find_by_license("lic1"))->status == "past_due");
    CHECK((*subs.list(std::string("past_due"), std::nullopt, 10)).size() == 1);
    CHECK((*subs.list(std::string("active"), std::nullopt, 10)).empty());
    CHECK((*subs.list(std::nullopt, std::string("other"), 10)).empty());

    store::TierChangeRow change;
    change.id = "t1";
    change.license_id = "lic1";
    change.to_policy_id = "pol1";
    change.direction = "downgrade";
    change.status = "pending";
    change.created_at = 5;
    REQUIRE(subs.record_tier_change(change));
    CHECK((*subs.pending_downgrade("lic1"))->id == "t1");
    CHECK(*subs.finish_tier_change("t1", "applied", 9));
    CHECK_FALSE(*subs.finish_tier_change("t1", "cancelled", 9)); // only from pending
    CHECK_FALSE(*subs.pending_downgrade("lic1"));
    auto changes = *subs.tier_changes("lic1");
    REQUIRE(changes.size() == 1);
    CHECK(changes[0].status == "applied");
    CHECK(changes[0].effective_at == 9);
}
