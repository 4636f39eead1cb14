#include <catch2/catch.hpp>

#include "keysat/store/account_store.hpp"
#include "keysat/store/catalog_store.hpp"
#include "keysat/store/commerce_store.hpp"
#include "support/db_support.hpp"
#include "support/support.hpp"

using namespace keysat;

namespace {

struct Fixture {
    test::TempDir dir;
    db::Database db = test::fresh_database(dir / "k.db");
    store::CommerceStore commerce{db};

    Fixture() {
        store::CatalogStore catalog(db);
        REQUIRE(catalog.create_product(
            {"p1", "app", "App", "", 1000, "SAT", "[]", true, 1, 1, std::nullopt}));
    }
    void invoice(const std::string& id, std::int64_t created) {
        store::InvoiceRow i;
        i.id = id;
        i.product_id = "p1";
        i.base_amount = i.amount = 1000;
        i.created_at = i.updated_at = created;
        REQUIRE(commerce.create_invoice(i));
    }
    void code(const std::string& id, const std::string& code, std::optional<std::int64_t> max) {
        store::DiscountCodeRow c;
        c.id = id;
        c.code = code;
        c.kind = "percent";
        c.value = 2000;
        c.max_uses = max;
        REQUIRE(commerce.create_code(c));
    }
};

} // namespace

TEST_CASE("invoices move forward only, a settled invoice stays settled", "[store]") {
    Fixture f;
    f.invoice("i1", 100);
    f.invoice("i2", 200);
    REQUIRE(store::AccountStore(f.db).save_provider(
        {"prov", "btcpay", std::nullopt, "https://btcpay.test", std::nullopt, std::nullopt,
         std::nullopt, std::nullopt, "connected", 1, 1, "BTCPay"}));
    CHECK_FALSE(f.commerce.attach_provider_invoice("i1", "unknown", "X", "https://pay/x", 101));
    REQUIRE(f.commerce.attach_provider_invoice("i1", "prov", "BTC-1", "https://pay/1", 101));
    auto by_provider = f.commerce.find_by_provider_invoice("prov", "BTC-1");
    REQUIRE(by_provider);
    REQUIRE(*by_provider);
    CHECK((*by_provider)->id == "i1");
    CHECK(*f.commerce.transition("i1", "processing", 102));
    CHECK(*f.commerce.transition("i1", "settled", 103));
    CHECK_FALSE(*f.commerce.transition("i1", "settled", 104)); // repeated notification
    CHECK_FALSE(*f.commerce.transition("i1", "expired", 105)); // late, out of order
    auto i1 = *f.commerce.find_invoice("i1");
    CHECK(i1->status == "settled");
    CHECK(i1->settled_at == 103);
    CHECK_FALSE(f.commerce.transition("i1", "new", 106)); // not a target at all
    auto pending = *f.commerce.pending_since(150);
    REQUIRE(pending.size() == 1);
    CHECK(pending[0].id == "i2");
    CHECK((*f.commerce.pending_since(0)).size() == 1);
}

TEST_CASE("discount uses are reserved atomically and given back on release", "[store]") {
    Fixture f;
    f.code("c1", "LAUNCH", 2);
    f.invoice("i1", 1);
    f.invoice("i2", 2);
    f.invoice("i3", 3);
    CHECK(*f.commerce.reserve_use("c1", "i1", "r1", 10));
    CHECK_FALSE(*f.commerce.reserve_use("c1", "i1", "r1b", 10)); // one redemption per invoice
    CHECK((*f.commerce.find_code("launch"))->uses == 1);         // codes match case-insensitively
    CHECK(*f.commerce.reserve_use("c1", "i2", "r2", 11));
    CHECK_FALSE(*f.commerce.reserve_use("c1", "i3", "r3", 12)); // used up
    CHECK(*f.commerce.finish_use("i2", false, 13));             // invoice expired: released
    CHECK_FALSE(*f.commerce.finish_use("i2", false, 14));       // only once
    CHECK((*f.commerce.find_code("LAUNCH"))->uses == 1);
    CHECK(*f.commerce.reserve_use("c1", "i3", "r3", 15));
    CHECK(*f.commerce.finish_use("i1", true, 16));
    CHECK((*f.commerce.find_code("LAUNCH"))->uses == 2);
    CHECK(*f.commerce.set_code_active("c1", false, 17));
    f.code("c2", "OTHER", std::nullopt);
    auto codes = *f.commerce.list_codes();
    REQUIRE(codes.size() == 2);
    CHECK(codes[0].code == "LAUNCH");
}

TEST_CASE("expired and inactive codes reserve nothing", "[store]") {
    Fixture f;
    store::DiscountCodeRow c;
    c.id = "c9";
    c.code = "OLD";
    c.kind = "fixed_sats";
    c.value = 100;
    c.expires_at = 50;
    REQUIRE(f.commerce.create_code(c));
    f.invoice("i1", 1);
    CHECK_FALSE(*f.commerce.reserve_use("c9", "i1", "r1", 60));
    CHECK(*f.commerce.reserve_use("c9", "i1", "r1", 40));
    CHECK((*f.commerce.find_code("OLD"))->uses == 1);
}
