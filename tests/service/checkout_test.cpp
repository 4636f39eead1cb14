// Buying, on a real SQLite file: prices, codes reserved with their invoice and released when it
// closes, free purchases issued at once, and exactly one license per settled invoice however
// many connections settle it at once.

#include <catch2/catch.hpp>

#include <mutex>
#include <set>
#include <thread>

#include "keysat/crypto/signing.hpp"
#include "keysat/service/checkout.hpp"
#include "keysat/store/webhook_store.hpp"
#include "support/db_support.hpp"
#include "support/support.hpp"

using namespace keysat;
using service::PurchaseInput;

namespace {

constexpr std::int64_t k_now = 1800000000;

struct Shop {
    test::TempDir dir;
    db::Database db = test::fresh_database(dir / "shop.db");
    crypto::SecretKey signer = crypto::SecretKey::generate();
    store::ProductRow product;
    store::PolicyRow pro;

    Shop() {
        product.id = "11111111-1111-4111-8111-111111111111";
        product.slug = "app";
        product.name = "App";
        product.price_amount = 50000;
        product.entitlements_json =
            R"([{"slug":"pro","name":"Pro"},{"slug":"team","name":"Team"}])";
        REQUIRE(store::CatalogStore(db).create_product(product));
        pro.id = "22222222-2222-4222-8222-222222222222";
        pro.product_id = product.id;
        pro.slug = "pro";
        pro.name = "Pro";
        pro.price_override = 80000;
        pro.max_machines = 3;
        pro.entitlements_json = R"(["pro"])";
        REQUIRE(store::CatalogStore(db).create_policy(pro));
        // An endpoint that takes every event, so each emitted event leaves a delivery row.
        store::WebhookEndpointRow e{"33333333-3333-4333-8333-333333333333",
                                    "http://10.0.0.1/",
                                    "00",
                                    "[]",
                                    true,
                                    k_now,
                                    k_now,
                                    ""};
        REQUIRE(store::WebhookStore(db).create_endpoint(e));
        // A store configured by hand (no profile): it takes paid purchases (service/providers).
        REQUIRE(db.exec("INSERT INTO payment_providers (id, kind, base_url, created_at, "
                        "updated_at) VALUES ('prov-1', 'btcpay', 'https://btcpay.example', 0, 0)"));
    }

    store::DiscountCodeRow add_code(const std::string& code, const std::string& kind,
                                    std::int64_t value, std::optional<std::int64_t> max_uses = {}) {
        store::DiscountCodeRow c;
        c.id = "code-" + code;
        c.code = code;
        c.kind = kind;
        c.value = value;
        c.max_uses = max_uses;
        c.created_at = c.updated_at = k_now;
        auto created = store::CommerceStore(db).create_code(c);
        INFO((created ? std::string() : created.error().message));
        REQUIRE(created);
        return c;
    }

    std::int64_t count(const std::string& sql) { return *db.query_int(sql); }
    std::int64_t uses(const std::string& code) {
        return count("SELECT uses FROM discount_codes WHERE code = '" + code + "'");
    }
    std::int64_t deliveries(const std::string& event) {
        return count("SELECT count(*) FROM webhook_deliveries WHERE event_type = '" + event + "'");
    }
};

PurchaseInput buy(std::optional<std::string> policy = "pro",
                  std::optional<std::string> code = std::nullopt) {
    PurchaseInput in;
    in.product_slug = "app";
    in.policy_slug = std::move(policy);
    in.code = std::move(code);
    in.buyer_email = "Buyer@Example.com";
    return in;
}

// The provider's side of a checkout, for the service's tests (the providers' own clients are
// tested against their stand-ins): records what it was asked and answers as told.
struct FakeCheckout {
    bool fail = false;
    int calls = 0;
    service::CreateCheckout fn() {
        return [this](const store::InvoiceRow& invoice, const service::Quote&,
                      const store::PaymentProviderRow&) -> service::Checked<service::Checkout> {
            ++calls;
            if (fail)
                return std::unexpected(service::Refused{
                    "upstream_error", "upstream error: the provider answered 500"});
            return service::Checkout{"prov-1", "btc-" + invoice.id,
                                     "https://pay.example/i/" + invoice.id};
        };
    }
};

// The refusal's message when a purchase failed, for the test's report.
template <typename T> std::string why(const service::Checked<T>& r) {
    return r ? std::string("ok") : r.error().message;
}

} // namespace

TEST_CASE("checkout: the tier's price, typed and featured codes, and refusals in Keysat's words",
          "[service][checkout]") {
    Shop s;
    // A product sold in tiers is bought in one (its bare price would skip the tier's terms),
    // except when a preview asks for the bare product.
    auto bare = buy(std::nullopt);
    auto q = service::quote(s.db, bare, k_now);
    REQUIRE_FALSE(q);
    CHECK_THAT(q.error().message, Catch::Contains("'policy_slug' is required"));
    bare.bare_product = true;
    q = service::quote(s.db, bare, k_now);
    REQUIRE(q);
    CHECK(q->base == 50000);
    q = service::quote(s.db, buy(), k_now);
    REQUIRE(q);
    CHECK(q->base == 80000); // the tier's override
    CHECK(q->price == 80000);
    s.add_code("TENOFF", "percent", 1000);
    q = service::quote(s.db, buy("pro", " tenoff "), k_now); // trimmed, any case
    REQUIRE(q);
    CHECK(q->discount == 8000);
    CHECK(q->price == 72000);
    auto featured = s.add_code("FEAT", "fixed_sats", 5000);
    featured.featured = true;
    REQUIRE(store::CommerceStore(s.db).update_code(featured));
    q = service::quote(s.db, buy(), k_now);
    REQUIRE(q);
    REQUIRE(q->code);
    CHECK(q->code->code == "FEAT"); // applies itself when none is typed
    CHECK(q->price == 75000);

    auto refused = [&](PurchaseInput in, const std::string& code, const std::string& message) {
        auto r = service::quote(s.db, in, k_now);
        REQUIRE_FALSE(r);
        CHECK(r.error().code == code);
        CHECK(r.error().message == message);
    };
    refused(buy("pro", "NOPE"), "bad_request", "bad request: unknown discount code");
    auto gone = buy();
    gone.product_slug = "gone";
    refused(gone, "not_found", "not found: product 'gone'");
    refused(buy("enterprise"), "not_found", "not found: policy 'enterprise' for product 'app'");
    auto expired = s.add_code("OLD", "percent", 500);
    expired.expires_at = k_now - 1;
    REQUIRE(store::CommerceStore(s.db).update_code(expired));
    refused(buy("pro", "OLD"), "bad_request", "bad request: discount code has expired");
    auto other = s.add_code("ELSEWHERE", "percent", 500);
    other.product_ids_json = R"(["99999999-9999-4999-8999-999999999999"])";
    REQUIRE(store::CommerceStore(s.db).update_code(other));
    refused(buy("pro", "ELSEWHERE"), "bad_request",
            "bad request: discount code does not apply to this product");
    s.add_code("EMPTY", "percent", 500, 1);
    REQUIRE(s.db.exec("UPDATE discount_codes SET uses = 1 WHERE code = 'EMPTY'"));
    refused(buy("pro", "EMPTY"), "bad_request",
            "bad request: discount code is invalid, expired, or has no remaining uses");
    auto hidden = s.pro;
    hidden.is_public = false;
    REQUIRE(store::CatalogStore(s.db).update_policy(hidden));
    refused(buy(), "bad_request",
            "bad request: policy 'pro' is not available on the public buy page");
}

TEST_CASE("checkout: a final price of 0 issues at once, with no provider invoice",
          "[service][checkout]") {
    Shop s;
    s.add_code("FREE", "free_license", 0);
    s.add_code("ALL", "percent", 10000);
    FakeCheckout provider;
    for (const char* code : {"FREE", "ALL"}) {
        INFO(code);
        auto p = service::start_purchase(s.db, &s.signer, buy("pro", code), provider.fn(), k_now);
        INFO(why(p));
        REQUIRE(p);
        REQUIRE(p->license);
        CHECK(p->invoice.amount == 0); // not Keysat's 1-sat invoice
        CHECK(p->invoice.status == "settled");
        CHECK(p->license->invoice_id == p->invoice.id);
        CHECK(p->license->max_machines == 3); // the tier's terms
        CHECK(p->license->entitlements_json == R"(["pro"])");
        CHECK(p->license->buyer_email == "Buyer@Example.com");
        CHECK(s.uses(code) == 1);
        CHECK(s.count("SELECT count(*) FROM discount_redemptions WHERE status = 'used' AND "
                      "invoice_id = '" +
                      p->invoice.id + "'") == 1);
    }
    CHECK(provider.calls == 0);
    CHECK(s.deliveries("license.issued") == 2);
    CHECK(s.deliveries("invoice.settled") == 2);
    CHECK(s.deliveries("code.redeemed") == 2);
    CHECK(s.count("SELECT count(*) FROM audit_log WHERE action = 'invoice.settle' AND actor_id = "
                  "'buyer'") == 2);
    // A free tier needs no code.
    auto free_tier = s.pro;
    free_tier.price_override = 0;
    REQUIRE(store::CatalogStore(s.db).update_policy(free_tier));
    auto p = service::start_purchase(s.db, &s.signer, buy(), {}, k_now);
    INFO(why(p));
    REQUIRE(p);
    CHECK(p->license);
    // A verify-only server sells nothing: it could take the money but never issue the key.
    FakeCheckout paid;
    auto none = service::start_purchase(s.db, nullptr, buy(), paid.fn(), k_now);
    REQUIRE_FALSE(none);
    CHECK(none.error().code == "service_unavailable");
    CHECK(paid.calls == 0);
}

TEST_CASE("checkout: a paid purchase records the provider's checkout, a failed one releases the "
          "code, and without a provider nothing is kept",
          "[service][checkout]") {
    Shop s;
    s.add_code("TENOFF", "percent", 1000, 5);
    auto none = service::start_purchase(s.db, &s.signer, buy("pro", "TENOFF"), {}, k_now);
    REQUIRE_FALSE(none);
    CHECK_THAT(none.error().message, Catch::Contains("no payment provider is connected"));
    CHECK(s.count("SELECT count(*) FROM invoices") == 0);
    CHECK(s.uses("TENOFF") == 0);

    FakeCheckout provider;
    auto p = service::start_purchase(s.db, &s.signer, buy("pro", "TENOFF"), provider.fn(), k_now);
    INFO(why(p));
    REQUIRE(p);
    CHECK_FALSE(p->license);
    CHECK(p->invoice.amount == 72000);
    CHECK(p->invoice.checkout_url == "https://pay.example/i/" + p->invoice.id);
    auto stored = *store::CommerceStore(s.db).find_invoice(p->invoice.id);
    REQUIRE(stored);
    CHECK(stored->status == "new");
    CHECK(stored->provider_invoice_id == "btc-" + p->invoice.id);
    CHECK(s.uses("TENOFF") == 1); // reserved with the invoice

    provider.fail = true;
    auto failed =
        service::start_purchase(s.db, &s.signer, buy("pro", "TENOFF"), provider.fn(), k_now);
    REQUIRE_FALSE(failed);
    CHECK(failed.error().code == "upstream_error");
    CHECK(s.count("SELECT count(*) FROM invoices WHERE status = 'invalid'") == 1);
    CHECK(s.uses("TENOFF") == 1); // the failed checkout's use went back
    CHECK(s.count("SELECT count(*) FROM discount_redemptions WHERE status = 'released'") == 1);
}

TEST_CASE("checkout: settling from many connections at once issues exactly one license",
          "[service][checkout]") {
    Shop s;
    s.add_code("TENOFF", "percent", 1000);
    FakeCheckout provider;
    auto p = service::start_purchase(s.db, &s.signer, buy("pro", "TENOFF"), provider.fn(), k_now);
    INFO(why(p));
    REQUIRE(p);
    std::mutex m;
    std::set<std::string> licenses;
    int issued_now = 0;
    std::vector<std::string> errors;
    {
        std::vector<std::jthread> settlers;
        for (int i = 0; i < 8; ++i)
            settlers.emplace_back([&] {
                auto db = db::Database::open(s.dir / "shop.db", db::OpenMode::read_write);
                REQUIRE(db);
                auto r = service::settle_invoice(*db, s.signer, p->invoice.id, "provider:prov-1",
                                                 k_now + 60);
                std::lock_guard lock(m);
                if (!r) {
                    errors.push_back(r.error().message);
                    return;
                }
                licenses.insert(r->license.id);
                issued_now += r->issued_now ? 1 : 0;
            });
    }
    CHECK(errors.empty());
    CHECK(licenses.size() == 1);
    CHECK(issued_now == 1);
    CHECK(s.count("SELECT count(*) FROM licenses WHERE invoice_id = '" + p->invoice.id + "'") == 1);
    CHECK(s.deliveries("license.issued") == 1);
    CHECK(s.deliveries("invoice.settled") == 1);
    CHECK(s.deliveries("code.redeemed") == 1);
    CHECK(s.uses("TENOFF") == 1);
    CHECK(s.count("SELECT count(*) FROM discount_redemptions WHERE status = 'used'") == 1);
    // A settled invoice does not close; closing or settling again changes nothing.
    auto closed = service::close_invoice(s.db, p->invoice.id, "expired", "reconciler", k_now);
    REQUIRE(closed);
    CHECK_FALSE(*closed);
    CHECK(s.uses("TENOFF") == 1);
}

TEST_CASE("checkout: an expired or invalid invoice gives its code back and is never settled",
          "[service][checkout]") {
    Shop s;
    s.add_code("ONCE", "percent", 1000, 1);
    FakeCheckout provider;
    auto p = service::start_purchase(s.db, &s.signer, buy("pro", "ONCE"), provider.fn(), k_now);
    INFO(why(p));
    REQUIRE(p);
    // The only use is taken: another buyer is refused.
    CHECK_FALSE(service::start_purchase(s.db, &s.signer, buy("pro", "ONCE"), provider.fn(), k_now));
    auto closed = service::close_invoice(s.db, p->invoice.id, "expired", "provider:prov-1", k_now);
    REQUIRE(closed);
    CHECK(*closed);
    CHECK(s.uses("ONCE") == 0);
    auto again = service::close_invoice(s.db, p->invoice.id, "invalid", "provider:prov-1", k_now);
    REQUIRE(again);
    CHECK_FALSE(*again); // closed once; the use is not given back twice
    CHECK(s.uses("ONCE") == 0);
    auto late = service::settle_invoice(s.db, s.signer, p->invoice.id, "provider:prov-1", k_now);
    REQUIRE_FALSE(late);
    CHECK(late.error().code == "conflict");
    CHECK(s.count("SELECT count(*) FROM licenses") == 0);
    // The use is free again for the next buyer.
    CHECK(service::start_purchase(s.db, &s.signer, buy("pro", "ONCE"), provider.fn(), k_now));
    CHECK_FALSE(service::close_invoice(s.db, p->invoice.id, "settled", "x", k_now));
    auto unknown = service::settle_invoice(s.db, s.signer, "nope", "x", k_now);
    REQUIRE_FALSE(unknown);
    CHECK(unknown.error().code == "not_found");
}
